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
	// ErrRuleLimit is wrapped by RuleLimitError.
	ErrRuleLimit = errors.New("rules-per-security-group limit reached")
)

// ErrNoSources means the sources resolved to no CIDR at all, for example because the load
// balancer has no network interfaces yet. It is worth retrying; planning with it would revoke
// every rule we own.
var ErrNoSources = errors.New("sources resolved to no CIDR")

// EC2 error codes this package acts on.
const (
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
// not ours, a full security group, or AWS rejecting the request as invalid or forbidden. The
// controller reports such errors once and waits for the next change or resync.
func IsTerminal(err error) bool {
	for _, target := range []error{
		ErrInvalidOwner, ErrInvalidPort, ErrNoPorts, ErrInvalidSource, ErrInvalidARN,
		ErrNoGroups, ErrInvalidGroupID, ErrNotOwned, ErrRuleLimit,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	switch apiCode(err) {
	case "InvalidGroup.NotFound", "InvalidGroupId.Malformed", "InvalidVpcID.NotFound",
		"InvalidParameterValue", "InvalidParameterCombination", "MissingParameter",
		"UnauthorizedOperation", codeRuleLimit:
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
