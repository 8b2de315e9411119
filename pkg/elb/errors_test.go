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
		// Apply isolates bad targets into Result.Rejected; alone they say nothing about the rest.
		{name: "invalid target", err: fmt.Errorf("register: %w", &types.InvalidTargetException{}), want: false},
		{name: "too many targets is a quota, not terminal", err: &types.TooManyTargetsException{}, want: false},
		{name: "too many registrations is a quota, not terminal", err: &types.TooManyRegistrationsForTargetIdException{}, want: false},
		{name: "throttling is retried", err: &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}, want: false},
		{name: "wrapped throttling is retried", err: fmt.Errorf("register 3 targets: %w", &smithy.GenericAPIError{Code: "Throttling"}), want: false},
		{name: "internal failure is retried", err: &smithy.GenericAPIError{Code: "InternalFailure", Fault: smithy.FaultServer}, want: false},
		{name: "validation error", err: &smithy.GenericAPIError{Code: "ValidationError"}, want: true},
		{name: "validation error on ModifyTargetGroup", err: opErr("ModifyTargetGroup", &smithy.GenericAPIError{Code: "ValidationError"}), want: true},
		{name: "validation error on DescribeTargetGroups", err: opErr("DescribeTargetGroups", &smithy.GenericAPIError{Code: "ValidationError"}), want: true},
		{name: "validation error on RegisterTargets is about a target", err: opErr("RegisterTargets", &smithy.GenericAPIError{Code: "ValidationError"}), want: false},
		{name: "validation error on DeregisterTargets is about a target", err: opErr("DeregisterTargets", &smithy.GenericAPIError{Code: "ValidationError"}), want: false},
		{name: "target group not found by code", err: &smithy.GenericAPIError{Code: "TargetGroupNotFound"}, want: true},
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

func opErr(op string, err error) error {
	return &smithy.OperationError{ServiceID: "Elastic Load Balancing v2", OperationName: op, Err: fmt.Errorf("https response error: %w", err)}
}

func TestIsQuota(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "nil", err: nil, want: false},
		{name: "too many targets", err: opErr("RegisterTargets", &types.TooManyTargetsException{}), want: true},
		{name: "too many registrations for a target", err: opErr("RegisterTargets", &types.TooManyRegistrationsForTargetIdException{}), want: true},
		{name: "too many targets by code", err: &smithy.GenericAPIError{Code: "TooManyTargets"}, want: true},
		{name: "too many registrations by code", err: &smithy.GenericAPIError{Code: "TooManyRegistrationsForTargetId"}, want: true},
		{name: "throttling is not a quota", err: &smithy.GenericAPIError{Code: "Throttling"}, want: false},
		{name: "too many target groups is not a target quota", err: &types.TooManyTargetGroupsException{}, want: false},
		{name: "validation error", err: &smithy.GenericAPIError{Code: "ValidationError"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := elb.IsQuota(tt.err); got != tt.want {
				t.Errorf("IsQuota(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
