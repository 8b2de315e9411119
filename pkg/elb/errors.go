package elb

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
)

// ErrWrongTargetType is returned when the bound target group is not of target type ip.
var ErrWrongTargetType = errors.New("target group is not of target type ip")

// AWS error codes this package tells apart. Typed exceptions are matched first; the codes catch
// the same errors when they arrive as a plain smithy.APIError.
const (
	codeValidation          = "ValidationError"
	codeInvalidTarget       = "InvalidTarget"
	codeTooManyTargets      = "TooManyTargets"
	codeTooManyRegistration = "TooManyRegistrationsForTargetId"
	codeTargetGroupNotFound = "TargetGroupNotFound"
	codeAccessDenied        = "AccessDenied"
	codeAccessDeniedExc     = "AccessDeniedException"
	codeInvalidConfig       = "InvalidConfigurationRequest"
)

// Operation names, as the SDK and IAM spell them.
const (
	opDescribeTargetGroups = "DescribeTargetGroups"
	opDescribeTargetHealth = "DescribeTargetHealth"
	opDescribeTags         = "DescribeTags"
	opRegisterTargets      = "RegisterTargets"
	opDeregisterTargets    = "DeregisterTargets"
	opModifyTargetGroup    = "ModifyTargetGroup"
	opAddTags              = "AddTags"
)

// IsTerminal reports whether err is one that retrying cannot fix: the target group is gone or
// of the wrong type, targetsync may not do what it tried, or AWS refused the target group's
// settings. The controller reports such errors once and waits for the next change instead of
// retrying in a hot loop.
//
// Quota errors and errors about single targets are not terminal: Apply isolates those into
// Result.OverQuota and Result.Rejected, and a later sync may well succeed.
func IsTerminal(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrWrongTargetType) || isNotFound(err) {
		return true
	}
	switch errorCode(err) {
	case codeAccessDenied, codeAccessDeniedExc, codeInvalidConfig:
		return true
	case codeValidation:
		// On RegisterTargets and DeregisterTargets a ValidationError is about one target;
		// everywhere else (ModifyTargetGroup above all) it is about the request itself.
		op := operation(err)
		return op != opRegisterTargets && op != opDeregisterTargets
	}
	return false
}

// IsQuota reports whether err says a limit on targets was reached: the target group holds as
// many targets as it may, or a target is registered as often as it may be.
func IsQuota(err error) bool { return isGroupFull(err) || isTargetFull(err) }

// isGroupFull reports whether the target group can take no more targets: then no other
// registration can succeed either until some target goes.
func isGroupFull(err error) bool {
	var e *types.TooManyTargetsException
	return errors.As(err, &e) || errorCode(err) == codeTooManyTargets
}

// isTargetFull reports whether one target is registered as often as it may be; other targets
// are not affected.
func isTargetFull(err error) bool {
	var e *types.TooManyRegistrationsForTargetIdException
	return errors.As(err, &e) || errorCode(err) == codeTooManyRegistration
}

// isPerTarget reports whether a RegisterTargets or DeregisterTargets request failed because of
// some of its targets: the others would go through in a request of their own.
func isPerTarget(err error) bool {
	var e *types.InvalidTargetException
	if errors.As(err, &e) {
		return true
	}
	switch errorCode(err) {
	case codeValidation, codeInvalidTarget:
		return true
	}
	return false
}

// isOutsideVPC reports whether AWS refused a target because its address is outside the target
// group's VPC and no AvailabilityZone was given. AWS words it in more than one way:
//
//	The Availability Zone is required for IP address '172.25.18.11' because it is not in the VPC
//	You must specify a valid Availability Zone or select 'all' for all enabled Availability zones, since the IP address '10.130.6.97' is outside the VPC
func isOutsideVPC(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != codeValidation {
		return false
	}
	msg := strings.ToLower(apiErr.ErrorMessage())
	return strings.Contains(msg, "availability zone") &&
		(strings.Contains(msg, "not in the vpc") || strings.Contains(msg, "outside the vpc") || strings.Contains(msg, "is required"))
}

// isInsideVPC reports whether AWS refused a target sent with AvailabilityZone "all" because its
// address is inside the target group's VPC:
//
//	The IP address '10.0.0.1' is within the VPC, and cannot have its Availability Zone overridden to 'all' from 'eu-west-1a'
func isInsideVPC(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != codeValidation {
		return false
	}
	msg := strings.ToLower(apiErr.ErrorMessage())
	return strings.Contains(msg, "availability zone") && strings.Contains(msg, "within the vpc")
}

func isNotFound(err error) bool {
	var e *types.TargetGroupNotFoundException
	return errors.As(err, &e) || errorCode(err) == codeTargetGroupNotFound
}

// errorCode is the AWS error code in err's chain, or "".
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// errorMessage is the AWS message in err's chain; the error itself when AWS gave none.
func errorMessage(err error) string {
	var apiErr smithy.APIError
	switch {
	case !errors.As(err, &apiErr):
		return err.Error()
	case apiErr.ErrorMessage() != "":
		return apiErr.ErrorMessage()
	}
	return apiErr.Error()
}

// operation is the AWS operation err came from, or "" when unknown.
func operation(err error) string {
	var own *opError
	if errors.As(err, &own) {
		return own.op
	}
	var sdk *smithy.OperationError
	if errors.As(err, &sdk) {
		return sdk.OperationName
	}
	return ""
}

// opError wraps an error with the operation it came from, so IsTerminal can tell a bad target
// from a bad request whether or not the SDK's own wrapping is there.
type opError struct {
	op  string
	msg string
	err error
}

func (e *opError) Error() string { return e.msg + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

func wrapOp(op string, err error, format string, args ...any) error {
	return &opError{op: op, msg: fmt.Sprintf(format, args...), err: err}
}
