package elb

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
)

func TestTargetErrors(t *testing.T) {
	validation := func(msg string) error {
		return &smithy.OperationError{OperationName: "RegisterTargets", Err: fmt.Errorf("https response error: %w",
			&smithy.GenericAPIError{Code: "ValidationError", Message: msg})}
	}
	tests := []struct {
		name                              string
		err                               error
		perTarget, outside, inside, quota bool
	}{
		{name: "nil"},
		{name: "plain error", err: errors.New("connection reset")},
		{name: "throttling", err: &smithy.GenericAPIError{Code: "Throttling"}},
		{
			name:      "outside the VPC, as AWS says it today",
			err:       validation("The Availability Zone is required for IP address '172.25.18.11' because it is not in the VPC"),
			perTarget: true, outside: true,
		},
		{
			name:      "outside the VPC, as AWS said it before",
			err:       validation("You must specify a valid Availability Zone or select 'all' for all enabled Availability zones, since the IP address '10.130.6.97' is outside the VPC"),
			perTarget: true, outside: true,
		},
		{
			name:      "inside the VPC but sent with all",
			err:       validation("The IP address '10.0.0.1' is within the VPC, and cannot have its Availability Zone overridden to 'all' from 'us-east-1b'"),
			perTarget: true, inside: true,
		},
		{name: "another validation error", err: validation("The IP address '10.0.0.1' is reserved"), perTarget: true},
		{name: "invalid target", err: &types.InvalidTargetException{Message: aws.String("The following targets are not registered")}, perTarget: true},
		{name: "invalid target by code", err: &smithy.GenericAPIError{Code: "InvalidTarget"}, perTarget: true},
		{name: "an outside-VPC message with another code", err: &smithy.GenericAPIError{Code: "InvalidTarget", Message: "The Availability Zone is required because it is not in the VPC"}, perTarget: true},
		{name: "too many targets", err: &types.TooManyTargetsException{}, quota: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isPerTarget(tt.err); got != tt.perTarget {
				t.Errorf("isPerTarget() = %v, want %v", got, tt.perTarget)
			}
			if got := isOutsideVPC(tt.err); got != tt.outside {
				t.Errorf("isOutsideVPC() = %v, want %v", got, tt.outside)
			}
			if got := isInsideVPC(tt.err); got != tt.inside {
				t.Errorf("isInsideVPC() = %v, want %v", got, tt.inside)
			}
			if got := IsQuota(tt.err); got != tt.quota {
				t.Errorf("IsQuota() = %v, want %v", got, tt.quota)
			}
		})
	}
}

// TestBisect drives the split-and-retry helper directly: items 3 and 6 are refused alone by a
// fake whose every request fails while it holds one of them.
func TestBisect(t *testing.T) {
	items := []int{0, 1, 2, 3, 4, 5, 6, 7}
	bad := map[int]bool{3: true, 6: true}
	var sent [][]int
	var accepted, refused []int
	errBad := errors.New("bad item")
	send := func(_ context.Context, batch []int) error {
		sent = append(sent, batch)
		for _, i := range batch {
			if bad[i] {
				return errBad
			}
		}
		accepted = append(accepted, batch...)
		return nil
	}
	split := func(err error) bool { return errors.Is(err, errBad) }
	alone := func(_ context.Context, i int, _ error) error {
		refused = append(refused, i)
		return nil
	}
	untried, err := bisect(t.Context(), items, send, split, alone)
	if err != nil || untried != nil {
		t.Fatalf("bisect() = %v, %v; want nil, nil", untried, err)
	}
	if fmt.Sprint(accepted) != "[0 1 2 4 5 7]" || fmt.Sprint(refused) != "[3 6]" {
		t.Errorf("accepted %v, refused %v", accepted, refused)
	}
	want := "[[0 1 2 3 4 5 6 7] [0 1 2 3] [0 1] [2 3] [2] [3] [4 5 6 7] [4 5] [6 7] [6] [7]]"
	if fmt.Sprint(sent) != want {
		t.Errorf("requests %v, want %v", sent, want)
	}

	// An error alone returns stops it; the items not yet tried come back in order.
	sent, accepted, refused = nil, nil, nil
	stop := errors.New("stop")
	untried, err = bisect(t.Context(), items, send, split, func(context.Context, int, error) error { return stop })
	if !errors.Is(err, stop) || fmt.Sprint(untried) != "[4 5 6 7]" || fmt.Sprint(accepted) != "[0 1 2]" {
		t.Errorf("bisect() = %v, %v with %v accepted; want [4 5 6 7], stop, [0 1 2]", untried, err, accepted)
	}

	// An error split does not accept stops it at once, the failed request included.
	other := errors.New("throttled")
	untried, err = bisect(t.Context(), items, func(context.Context, []int) error { return other }, split, alone)
	if !errors.Is(err, other) || fmt.Sprint(untried) != "[0 1 2 3 4 5 6 7]" {
		t.Errorf("bisect() = %v, %v; want every item back and the error", untried, err)
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "AWS message", err: &smithy.GenericAPIError{Code: "ValidationError", Message: "bad IP"}, want: "bad IP"},
		{name: "no message: the code still shows", err: &types.InvalidTargetException{}, want: "InvalidTarget: "},
		{name: "not from AWS: the whole error", err: errors.New("connection reset"), want: "register 1 targets: connection reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorMessage(fmt.Errorf("register 1 targets: %w", tt.err)); got != tt.want {
				t.Errorf("errorMessage() = %q, want %q", got, tt.want)
			}
		})
	}
}
