package awsclient

import (
	"strings"
	"testing"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"golang.org/x/time/rate"
)

func TestParseThrottleRule(t *testing.T) {
	tests := []struct {
		in        string
		service   string
		matches   []string
		unmatched []string
		qps       rate.Limit
		burst     int
		err       string
	}{
		{in: "Elastic Load Balancing v2:RegisterTargets|DeregisterTargets=4:20", service: elbv2.ServiceID,
			matches: []string{"RegisterTargets", "DeregisterTargets"}, unmatched: []string{"RegisterTargetsX", "DescribeTargetHealth"}, qps: 4, burst: 20},
		{in: "EC2:Describe.*=0.5:1", service: "EC2", matches: []string{"DescribeSecurityGroups"}, unmatched: []string{"AuthorizeSecurityGroupIngress"}, qps: 0.5, burst: 1},
		{in: "EC2:.*", err: "want SERVICE:OPERATION_REGEX=QPS:BURST"},
		{in: "EC2=1:1", err: "want SERVICE:OPERATION_REGEX=QPS:BURST"},
		{in: "EC2:(=1:1", err: `operation pattern "(" is not a regular expression`},
		{in: "EC2:.*=0:1", err: `QPS "0": want a positive number`},
		{in: "EC2:.*=fast:1", err: `QPS "fast": want a positive number`},
		{in: "EC2:.*=1:0", err: `burst "0": want a whole number of at least 1`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseThrottleRule(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseThrottleRule(%q) error = %v, want one containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseThrottleRule(%q) error = %v", tt.in, err)
			}
			if r.Service != tt.service || r.Limiter.Limit() != tt.qps || r.Limiter.Burst() != tt.burst {
				t.Errorf("rule = %q %v:%d, want %q %v:%d", r.Service, r.Limiter.Limit(), r.Limiter.Burst(), tt.service, tt.qps, tt.burst)
			}
			for _, op := range tt.matches {
				if !r.Operation.MatchString(op) {
					t.Errorf("%s does not match %s", tt.in, op)
				}
			}
			for _, op := range tt.unmatched {
				if r.Operation.MatchString(op) {
					t.Errorf("%s matches %s", tt.in, op)
				}
			}
		})
	}
}

// TestRulesComeBeforeTheDefaults: a rule given on the command line limits the operations it
// names, and the others keep the built-in limits.
func TestRulesComeBeforeTheDefaults(t *testing.T) {
	rule, err := ParseThrottleRule("Elastic Load Balancing v2:RegisterTargets=1:1")
	if err != nil {
		t.Fatal(err)
	}
	l := limits{rules: []ThrottleRule{rule}, throttle: DefaultThrottle()}
	if got := l.limiter(elbv2.ServiceID, "RegisterTargets"); got != rule.Limiter {
		t.Errorf("RegisterTargets is not limited by the rule")
	}
	if got := l.limiter(elbv2.ServiceID, "DeregisterTargets"); got != l.throttle[elbv2.ServiceID+"/DeregisterTargets"] {
		t.Errorf("DeregisterTargets lost its built-in limit")
	}
	if got := l.limiter("EC2", "RegisterTargets"); got == rule.Limiter {
		t.Errorf("the rule for ELBv2 limits EC2 too")
	}
}
