package elb_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/targetsync/targetsync/pkg/elb"
)

// FuzzApply runs read → plan → apply against a fake that refuses targets, enforces a quota,
// places targets outside the VPC and throttles one call, and checks what the controller relies
// on: Apply never panics, every request is bounded, every planned target ends up in exactly one
// of the Result's lists (or, after an error, in none), what the Result says matches the target
// group, and a target is held only for a move whose new port did not go in.
func FuzzApply(f *testing.F) {
	f.Add([]byte{1, 2, 3, 9}, []byte{3, 4, 0x8c}, []byte{2}, byte(0), byte(0), byte(0))
	f.Add([]byte{0x81, 0x82, 0x83}, []byte{1, 2, 3}, []byte{0x82}, byte(2), byte(0), byte(1))
	f.Add([]byte{1, 2, 3, 4, 5, 6}, []byte{7, 8}, []byte{}, byte(3), byte(9), byte(0))
	f.Add([]byte{9, 10, 11}, []byte{12}, []byte{10}, byte(0), byte(0x12), byte(3))
	f.Fuzz(func(t *testing.T, desiredRaw, currentRaw, rejectRaw []byte, quota, fail, flags byte) {
		// 16 addresses on two ports; 10.0.0.8 to 10.0.0.15 are outside the VPC.
		toTarget := func(b byte) elb.Target {
			return elb.Target{IP: netip.AddrFrom4([4]byte{10, 0, 0, b & 0x0f}), Port: 30080 + int32(b>>7)}
		}
		vpc := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/29")}
		api := newFakeAPI(ipGroup(testARN))
		api.vpc = vpc
		api.quota = int(quota % 24)
		seen := map[elb.Target]bool{}
		for _, b := range currentRaw {
			if t := toTarget(b); !seen[t] {
				seen[t] = true
				zone := "eu-west-1a"
				if !vpc[0].Contains(t.IP) {
					zone = elb.ZoneAll
				}
				api.seed(testARN, zone, t)
			}
		}
		for i, b := range rejectRaw {
			ip := toTarget(b).IP.String()
			refuse := validationError("The IP address '" + ip + "' is reserved")
			switch i % 3 {
			case 0:
				api.reject[ip] = refuse
			case 1:
				api.rejectDeregister[ip] = &types.InvalidTargetException{Message: aws.String("The following targets are not registered")}
			case 2:
				api.reject[ip] = &types.TooManyRegistrationsForTargetIdException{}
			}
		}
		if op := []string{"", "RegisterTargets", "DeregisterTargets", "ModifyTargetGroup", "AddTags"}[int(fail%5)]; op != "" {
			api.failOn[op], api.failErr = int(fail/5%4)+1, throttled
		}
		var desired []elb.Target
		for _, b := range desiredRaw {
			desired = append(desired, toTarget(b))
		}
		c := elb.NewClient(api)
		current := read(t, c, nil)
		if flags&1 != 0 {
			current.VPCCIDRs = vpc
		}
		d := elb.Desired{Targets: desired, HealthCheck: hcLocal, HealthCheckMode: elb.HealthCheckMode(flags >> 1 % 3)}
		p := elb.ComputePlan(d, current)
		api.calls, api.counts = nil, map[string]int{}

		res, err := c.Apply(context.Background(), testARN, p)

		n := len(p.Register) + len(p.Deregister)
		if len(api.calls) > 4*n+2 {
			t.Errorf("%d calls for %d targets", len(api.calls), n)
		}
		for _, call := range api.calls {
			if len(call.Targets) > elb.MaxTargetsPerCall {
				t.Errorf("%s carried %d targets", call.Op, len(call.Targets))
			}
		}

		outcome := map[elb.Target]string{}
		file := func(list string, ts ...elb.Target) {
			for _, t1 := range ts {
				if prev, dup := outcome[t1]; dup {
					t.Errorf("%s is both %s and %s", t1, prev, list)
				}
				outcome[t1] = list
			}
		}
		file("registered", res.Registered...)
		file("deregistered", res.Deregistered...)
		file("over quota", res.OverQuota...)
		file("held", res.Held...)
		for _, r := range res.Rejected {
			file("rejected", r.Target)
			if r.Code == "" || r.Message == "" {
				t.Errorf("rejection of %s without code or message: %+v", r.Target, r)
			}
		}
		for _, t1 := range p.Register {
			switch o, ok := outcome[t1]; {
			case ok && o != "registered" && o != "rejected" && o != "over quota":
				t.Errorf("registration %s came out %s", t1, o)
			case !ok && err == nil:
				t.Errorf("registration %s is in no list and Apply returned no error", t1)
			}
		}
		for _, t1 := range p.Deregister {
			switch o, ok := outcome[t1]; {
			case ok && o != "deregistered" && o != "rejected" && o != "held":
				t.Errorf("deregistration %s came out %s", t1, o)
			case !ok && err == nil:
				t.Errorf("deregistration %s is in no list and Apply returned no error", t1)
			}
		}
		if len(outcome) > n {
			t.Errorf("Result names %d targets, the plan only %d", len(outcome), n)
		}
		for _, h := range res.Held {
			if !p.Moves()[h.IP] || slices.ContainsFunc(res.Registered, func(r elb.Target) bool { return r.IP == h.IP }) {
				t.Errorf("%s held, but it is not a move whose new port failed", h)
			}
		}

		// The Result says what the target group now holds.
		state := map[string]types.TargetHealthStateEnum{}
		for _, h := range api.targets[testARN] {
			state[key(*h.Target)] = h.TargetHealth.State
		}
		for _, r := range res.Registered {
			if s := state[r.String()]; s != types.TargetHealthStateEnumInitial {
				t.Errorf("%s reported registered, but the group has it %q", r, s)
			}
		}
		for _, r := range res.Deregistered {
			if s := state[r.String()]; s != types.TargetHealthStateEnumDraining {
				t.Errorf("%s reported deregistered, but the group has it %q", r, s)
			}
		}
		for _, r := range slices.Concat(res.OverQuota, res.Held) {
			if s := state[r.String()]; s == types.TargetHealthStateEnumInitial || s == types.TargetHealthStateEnumDraining {
				t.Errorf("%s reported untouched, but the group has it %q", r, s)
			}
		}
		if res.HealthCheck != (p.HealthCheck != nil && api.counts["ModifyTargetGroup"] == 1 && (api.failOn["ModifyTargetGroup"] != 1)) {
			t.Errorf("Result.HealthCheck = %v after %d ModifyTargetGroup calls", res.HealthCheck, api.counts["ModifyTargetGroup"])
		}
		if err != nil && elb.IsTerminal(err) {
			t.Errorf("only throttling was injected, yet IsTerminal(%v)", err)
		}
	})
}
