package sg

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
)

// Errors that retrying cannot fix without a change of input or of the account.
var (
	ErrInvalidOwner   = errors.New("invalid owner")
	ErrInvalidPort    = errors.New("invalid port")
	ErrNoPorts        = errors.New("no ports to open")
	ErrInvalidSource  = errors.New("invalid source")
	ErrInvalidARN     = errors.New("not a network load balancer ARN")
	ErrNoGroups       = errors.New("no security groups selected")
	ErrInvalidGroupID = errors.New("not a security group ID")
	// ErrNotOwned guards the one thing this package must never do. A plan built by ComputePlan
	// cannot trigger it; a plan built by hand can.
	ErrNotOwned = errors.New("refusing to revoke a rule without the targetsync ownership marker")
	// ErrUnsafePlan guards against closing ports still in use: Check refuses a plan that
	// revokes while the desired set is incomplete or empty, or revokes a rule that is desired.
	// A plan built by ComputePlan cannot trigger it; a plan built by hand can.
	ErrUnsafePlan = errors.New("refusing a plan that would revoke rules still wanted")
	// ErrForeignGroup means a selected security group is tagged GroupTagCluster for another
	// cluster. That cluster's targetsync owns the group; writing to it would fight over it.
	ErrForeignGroup = errors.New("security group belongs to another cluster")
	// ErrRuleLimit is wrapped by RuleLimitError.
	ErrRuleLimit = errors.New("rules-per-security-group limit reached")
)

// ErrNoSources means the sources resolved to no CIDR at all, for example because the load
// balancer's network interfaces are still being created. It is retryable, never terminal
// (IsTerminal says false): the next attempt may well find them. Planning with no CIDR would
// leave nothing desired, so DesiredRules refuses it too.
var ErrNoSources = errors.New("sources resolved to no CIDR")

// EC2 error codes this package acts on.
const (
	codeGroupNotFound      = "InvalidGroup.NotFound"
	codeDuplicate          = "InvalidPermission.Duplicate"
	codePermissionNotFound = "InvalidPermission.NotFound"
	codeRuleIDNotFound     = "InvalidSecurityGroupRuleId.NotFound"
	codeRuleLimit          = "RulesPerSecurityGroupLimitExceeded"
)

// RuleLimitError says which security group ran out of room and how many rules did not fit.
type RuleLimitError struct {
	SecurityGroupID string
	// Pending is how many rules could not be authorized.
	Pending int
	// RevokedFirst is set when stale owned rules were revoked to make room and it was not enough.
	RevokedFirst bool
	Err          error
}

// Error names the group, the quota to raise, and how many rules did not fit.
func (e *RuleLimitError) Error() string {
	how := "no stale targetsync rules to revoke"
	if e.RevokedFirst {
		how = "still full after revoking stale targetsync rules"
	}
	return fmt.Sprintf("security group %s is at its limit of inbound rules per security group "+
		"(VPC quota \"Inbound or outbound rules per security group\", 60 by default): "+
		"%d rules not authorized, %s: %v", e.SecurityGroupID, e.Pending, how, e.Err)
}

// Unwrap lets errors.Is find ErrRuleLimit and the AWS error underneath.
func (e *RuleLimitError) Unwrap() []error { return []error{ErrRuleLimit, e.Err} }

// IsTerminal reports whether err is one that retrying cannot fix: bad input, a rule that is
// not ours, an unsafe plan, a group of another cluster or one that does not exist, a full
// security group, or AWS rejecting the request as invalid or forbidden. The controller reports
// such errors once and waits for the next change or resync.
//
// Some errors are retryable whatever else they wrap: ErrNoSources (the load balancer's
// network interfaces are still being created) and EC2 throttling. Every error not named here
// is retryable too: the network, AWS having a bad moment, a context deadline.
func IsTerminal(err error) bool {
	if err == nil || errors.Is(err, ErrNoSources) || isThrottled(err) {
		return false
	}
	for _, target := range []error{
		ErrInvalidOwner, ErrInvalidPort, ErrNoPorts, ErrInvalidSource, ErrInvalidARN,
		ErrNoGroups, ErrInvalidGroupID, ErrNotOwned, ErrUnsafePlan, ErrForeignGroup, ErrRuleLimit,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	switch apiCode(err) {
	case codeGroupNotFound, "InvalidGroupId.Malformed", "InvalidVpcID.NotFound",
		"InvalidParameterValue", "InvalidParameterCombination", "MissingParameter",
		"UnauthorizedOperation", codeRuleLimit:
		return true
	}
	return false
}

// isThrottled: EC2 refused the request for its rate, not its content. The SDK's retryer has
// already backed off; the controller retries later.
func isThrottled(err error) bool {
	switch apiCode(err) {
	case "RequestLimitExceeded", "Throttling", "ThrottlingException":
		return true
	}
	return false
}

// apiCode returns the AWS error code inside err, or "" when there is none.
func apiCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// groupNotFound is the error for a security group ID that a listing by ID left out, in AWS's
// own code, so that it is classified like AWS's answer for the same mistake.
func groupNotFound(id string) error {
	return &smithy.GenericAPIError{
		Code:    codeGroupNotFound,
		Message: fmt.Sprintf("The security group '%s' does not exist", id),
		Fault:   smithy.FaultClient,
	}
}

// isDuplicate: the rule we tried to add exists already, so the authorization is done.
func isDuplicate(err error) bool { return apiCode(err) == codeDuplicate }

// isGone: the rule we tried to revoke no longer exists, so the revocation is done. AWS answers
// with the first code when rules are named by content and the second when named by ID.
func isGone(err error) bool {
	c := apiCode(err)
	return c == codePermissionNotFound || c == codeRuleIDNotFound
}

// isRuleLimit: the security group has no room for the rules we tried to add.
func isRuleLimit(err error) bool { return apiCode(err) == codeRuleLimit }
