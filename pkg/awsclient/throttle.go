package awsclient

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// Throttle holds client-side rate limits per "Service/Operation" (the SDK's service ID and
// operation name); the entry "*" applies to operations without their own.
type Throttle map[string]*rate.Limiter

// DefaultThrottle keeps targetsync well inside the account's ELB and EC2 API quotas, which are
// shared with every other tool in the account: mutations are slower than reads.
func DefaultThrottle() Throttle {
	return Throttle{
		"Elastic Load Balancing v2/RegisterTargets":   rate.NewLimiter(4, 20),
		"Elastic Load Balancing v2/DeregisterTargets": rate.NewLimiter(4, 20),
		"Elastic Load Balancing v2/ModifyTargetGroup": rate.NewLimiter(2, 10),
		"Elastic Load Balancing v2/*":                 rate.NewLimiter(10, 40),
		"EC2/AuthorizeSecurityGroupIngress":           rate.NewLimiter(2, 10),
		"EC2/RevokeSecurityGroupIngress":              rate.NewLimiter(2, 10),
		"EC2/*":                                       rate.NewLimiter(10, 40),
		"*":                                           rate.NewLimiter(10, 40),
	}
}

func (t Throttle) limiter(service, op string) *rate.Limiter {
	for _, k := range []string{service + "/" + op, service + "/*", "*"} {
		if l, ok := t[k]; ok {
			return l
		}
	}
	return nil
}

// ThrottleRule limits the operations of one service whose names match a pattern: one rule of
// --aws-api-throttle, in aws-load-balancer-controller's format.
type ThrottleRule struct {
	// Service is the SDK's service ID, e.g. "Elastic Load Balancing v2" or "EC2".
	Service string
	// Operation matches whole operation names, e.g. RegisterTargets|DeregisterTargets.
	Operation *regexp.Regexp
	Limiter   *rate.Limiter
}

// ParseThrottleRule reads SERVICE:OPERATION_REGEX=QPS:BURST, for example
// "Elastic Load Balancing v2:RegisterTargets|DeregisterTargets=4:20".
func ParseThrottleRule(s string) (ThrottleRule, error) {
	const want = "want SERVICE:OPERATION_REGEX=QPS:BURST such as 'Elastic Load Balancing v2:RegisterTargets|DeregisterTargets=4:20'"
	match, limit, ok := strings.Cut(s, "=")
	if !ok {
		return ThrottleRule{}, errors.New(want)
	}
	service, op, ok := strings.Cut(match, ":")
	qps, burst, ok2 := strings.Cut(limit, ":")
	if !ok || !ok2 || service == "" || op == "" {
		return ThrottleRule{}, errors.New(want)
	}
	re, err := regexp.Compile("^(?:" + op + ")$")
	if err != nil {
		return ThrottleRule{}, fmt.Errorf("operation pattern %q is not a regular expression", op)
	}
	q, err := strconv.ParseFloat(qps, 64)
	if err != nil || q <= 0 || math.IsInf(q, 0) || math.IsNaN(q) {
		return ThrottleRule{}, fmt.Errorf("QPS %q: want a positive number; %s", qps, want)
	}
	b, err := strconv.Atoi(burst)
	if err != nil || b < 1 {
		return ThrottleRule{}, fmt.Errorf("burst %q: want a whole number of at least 1; %s", burst, want)
	}
	return ThrottleRule{Service: service, Operation: re, Limiter: rate.NewLimiter(rate.Limit(q), b)}, nil
}

// limits are the rules given, then the built-in throttle.
type limits struct {
	rules    []ThrottleRule
	throttle Throttle
}

func (l limits) limiter(service, op string) *rate.Limiter {
	for _, r := range l.rules {
		if r.Service == service && r.Operation.MatchString(op) {
			return r.Limiter
		}
	}
	return l.throttle.limiter(service, op)
}

func (l limits) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("targetsyncThrottle",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if l := l.limiter(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)); l != nil {
				if err := l.Wait(ctx); err != nil {
					return middleware.InitializeOutput{}, middleware.Metadata{}, fmt.Errorf("client-side throttle: %w", err)
				}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}
