package elb

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
)

// ErrWrongTargetType is returned when the bound target group is not of target type ip.
var ErrWrongTargetType = errors.New("target group is not of target type ip")

// IsTerminal reports whether err is one that retrying cannot fix: the target group is gone,
// is of the wrong type, or AWS rejected the request as invalid. The controller reports such
// errors once and waits for the next change instead of retrying in a hot loop.
func IsTerminal(err error) bool {
	if errors.Is(err, ErrWrongTargetType) {
		return true
	}
	var notFound *types.TargetGroupNotFoundException
	var invalid *types.InvalidTargetException
	if errors.As(err, &notFound) || errors.As(err, &invalid) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ValidationError", "AccessDenied", "AccessDeniedException", "InvalidConfigurationRequest":
			return true
		}
	}
	return false
}
