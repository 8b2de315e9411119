package elb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/targetsync/targetsync/pkg/elb"
)

func TestIsTerminal(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "nil", err: nil, want: false},
		{name: "plain error", err: errors.New("connection reset by peer"), want: false},
		{name: "context canceled", err: context.Canceled, want: false},
		{name: "deadline exceeded", err: fmt.Errorf("describe: %w", context.DeadlineExceeded), want: false},
		{name: "wrong target type", err: fmt.Errorf("target group x: %w", elb.ErrWrongTargetType), want: true},
		{
			name: "target group not found",
			err:  &types.TargetGroupNotFoundException{Message: aws.String("One or more target groups not found")},
			want: true,
		},
		{
			name: "target group not found, wrapped as the SDK does",
			err: &smithy.OperationError{
				ServiceID:     "Elastic Load Balancing v2",
				OperationName: "DescribeTargetGroups",
				Err:           fmt.Errorf("https response error: %w", &types.TargetGroupNotFoundException{}),
			},
			want: true,
		},
		{name: "invalid target", err: fmt.Errorf("register: %w", &types.InvalidTargetException{}), want: true},
		{name: "throttling is retried", err: &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}, want: false},
		{name: "wrapped throttling is retried", err: fmt.Errorf("register 3 targets: %w", &smithy.GenericAPIError{Code: "Throttling"}), want: false},
		{name: "internal failure is retried", err: &smithy.GenericAPIError{Code: "InternalFailure", Fault: smithy.FaultServer}, want: false},
		{name: "validation error", err: &smithy.GenericAPIError{Code: "ValidationError"}, want: true},
		{name: "access denied", err: &smithy.GenericAPIError{Code: "AccessDenied"}, want: true},
		{name: "access denied exception", err: &smithy.GenericAPIError{Code: "AccessDeniedException"}, want: true},
		{name: "invalid configuration request", err: &smithy.GenericAPIError{Code: "InvalidConfigurationRequest"}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := elb.IsTerminal(tt.err); got != tt.want {
				t.Errorf("IsTerminal(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
