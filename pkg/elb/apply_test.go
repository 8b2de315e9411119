package elb_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/targetsync/targetsync/pkg/elb"
)

func reg(ts ...string) call   { return call{Op: "RegisterTargets", ARN: testARN, Targets: ts} }
func dereg(ts ...string) call { return call{Op: "DeregisterTargets", ARN: testARN, Targets: ts} }
func modify(hc string) call   { return call{Op: "ModifyTargetGroup", ARN: testARN, HealthCheck: hc} }
func tagHC(v string) call {
	return call{Op: "AddTags", ARN: testARN, Tags: elb.TagHealthCheckPort + "=" + v}
}

func validationError(msg string) error {
	return &smithy.GenericAPIError{Code: "ValidationError", Message: msg, Fault: smithy.FaultClient}
}

var throttled = &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded", Fault: smithy.FaultClient}

func TestApplyChunks(t *testing.T) {
	tests := []struct {
		name       string
		register   int
		deregister int
		want       []int // targets per call, in call order
	}{
		{name: "nothing to do makes no call", want: []int{}},
		{name: "one target", register: 1, want: []int{1}},
		{name: "exactly one full chunk", register: elb.MaxTargetsPerCall, want: []int{200}},
		{name: "one more than a chunk", register: elb.MaxTargetsPerCall + 1, want: []int{200, 1}},
		{name: "two full chunks", register: 400, want: []int{200, 200}},
		{name: "450 targets take three calls", register: 450, want: []int{200, 200, 50}},
		{name: "deregistrations are chunked too", deregister: 450, want: []int{200, 200, 50}},
		{name: "both", register: 201, deregister: 201, want: []int{200, 1, 200, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(ipGroup(testARN))
			p := elb.Plan{Register: targets(tt.register, 30443), Deregister: targets(tt.deregister, 31443)}

			res, err := elb.NewClient(api).Apply(context.Background(), testARN, p)
			if err != nil {
				t.Fatalf("Apply() error = %v", err)
			}

			got := []int{}
			var registered, deregistered []string
			for _, c := range api.calls {
				got = append(got, len(c.Targets))
				if c.ARN != testARN {
					t.Errorf("%s went to target group %q, want %q", c.Op, c.ARN, testARN)
				}
				switch c.Op {
				case "RegisterTargets":
					registered = append(registered, c.Targets...)
				case "DeregisterTargets":
					deregistered = append(deregistered, c.Targets...)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("targets per call mismatch (-want +got):\n%s", diff)
			}
			// Every target is sent exactly once, in plan order.
			if diff := cmp.Diff(strs(p.Register), registered, cmpOpts); diff != "" {
				t.Errorf("registered targets mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(strs(p.Deregister), deregistered, cmpOpts); diff != "" {
				t.Errorf("deregistered targets mismatch (-want +got):\n%s", diff)
			}
			wantRes := elb.Result{Registered: p.Register, Deregistered: p.Deregister}
			if diff := cmp.Diff(wantRes, res, cmpOpts); diff != "" {
				t.Errorf("Result mismatch (-want +got):\n%s", diff)
			}
			if res.Empty() != (tt.register == 0 && tt.deregister == 0) {
				t.Errorf("Result.Empty() = %v for %+v", res.Empty(), res)
			}
		})
	}
}

func TestApplyOrder(t *testing.T) {
	api := newFakeAPI(ipGroup(testARN))
	p := elb.Plan{
		Register:   []elb.Target{tgt("10.0.0.2", 31443)},
		Deregister: []elb.Target{tgt("10.0.0.1", 30443)},
		HealthCheck: &elb.HealthCheckChange{
			From: elb.HealthCheck{Protocol: "TCP"},
			To:   elb.HealthCheck{Protocol: "HTTP", Port: 30200, Path: "/healthz"},
		},
	}

	res, err := elb.NewClient(api).Apply(context.Background(), testARN, p)
	if err != nil {
		t.Fatalf("Apply() error = %v", err)
	}

	// Make before break: the new target and its health check exist before the old one goes.
	want := []call{
		reg("10.0.0.2:31443"),
		modify("HTTP:30200/healthz"),
		tagHC("30200"),
		dereg("10.0.0.1:30443"),
	}
	if diff := cmp.Diff(want, api.calls); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
	wantRes := elb.Result{Registered: p.Register, Deregistered: p.Deregister, HealthCheck: true}
	if diff := cmp.Diff(wantRes, res, cmpOpts); diff != "" {
		t.Errorf("Result mismatch (-want +got):\n%s", diff)
	}
}

// TestApplyEachChangeOnItsOwn proves that one failing change never blocks an unrelated one.
// Before, Apply stopped at the first error, and every case here would have frozen the rest.
func TestApplyEachChangeOnItsOwn(t *testing.T) {
	many := targets(450, 30443)
	bad := many[300]
	badMsg := fmt.Sprintf("The IP address '%s' is reserved and cannot be registered", bad.IP)
	gone := []elb.Target{tgt("10.2.0.1", 30443), tgt("10.2.0.2", 30443)}
	goneStrs := strs(gone)
	hc := elb.HealthCheck{Protocol: "HTTP", Port: 30200, Path: "/healthz"}
	vpc := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}
	outside := netip.MustParseAddr("192.168.5.1")
	notRegistered := &types.InvalidTargetException{Message: aws.String("The following targets are not registered: '10.0.0.2'")}
	hcRefused := validationError("Health check port '70000' must be between 1 and 65535")
	tooOften := &types.TooManyRegistrationsForTargetIdException{Message: aws.String("You've reached the limit on the number of times a target can be registered")}
	notFound := &types.TargetGroupNotFoundException{Message: aws.String("One or more target groups not found")}
	moveRegister := []elb.Target{tgt("10.0.0.1", 31443), tgt("10.0.0.2", 31443)}
	moveDeregister := []elb.Target{tgt("10.0.0.1", 30443), tgt("10.0.0.2", 30443), tgt("10.0.0.3", 30443)}

	tests := []struct {
		name         string
		setup        func(f *fakeAPI)
		cancelled    bool
		plan         elb.Plan
		want         elb.Result
		wantErr      error // errors.Is; nil means no error at all
		wantTerminal bool
		wantCalls    []call         // exact, when set
		maxCalls     map[string]int // upper bounds per operation, when set
	}{
		{
			name: "one bad IP among 450: 449 registered, 1 rejected, gone targets deregistered",
			setup: func(f *fakeAPI) {
				f.reject[bad.IP.String()] = validationError(badMsg)
				f.seed(testARN, "eu-west-1a", gone...)
			},
			plan: elb.Plan{Register: many, Deregister: gone},
			want: elb.Result{
				Registered:   slices.DeleteFunc(slices.Clone(many), func(t elb.Target) bool { return t == bad }),
				Deregistered: gone,
				Rejected:     []elb.Rejection{{Target: bad, Code: "ValidationError", Message: badMsg}},
			},
			// Three chunks, then two requests for each of the 8 halvings from 200 down to 1:
			// O(log n), where trying targets one by one would take 450.
			maxCalls: map[string]int{"RegisterTargets": 3 + 2*8, "DeregisterTargets": 1},
		},
		{
			name:      "outside-VPC IP planned with AnyZone goes in with AZ all in one call",
			setup:     func(f *fakeAPI) { f.vpc = vpc },
			plan:      elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 30443), tgt("192.168.5.1", 30443)}, AnyZone: map[netip.Addr]bool{outside: true}},
			want:      elb.Result{Registered: []elb.Target{tgt("10.0.0.1", 30443), tgt("192.168.5.1", 30443)}},
			wantCalls: []call{reg("10.0.0.1:30443", "192.168.5.1:30443@all")},
		},
		{
			name:  "outside-VPC IP not planned as AnyZone (VPC CIDRs unknown) is retried with AZ all",
			setup: func(f *fakeAPI) { f.vpc = vpc },
			plan:  elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 30443), tgt("192.168.5.1", 30443)}},
			want:  elb.Result{Registered: []elb.Target{tgt("10.0.0.1", 30443), tgt("192.168.5.1", 30443)}},
			wantCalls: []call{
				reg("10.0.0.1:30443", "192.168.5.1:30443"),
				reg("10.0.0.1:30443"),
				reg("192.168.5.1:30443"),
				reg("192.168.5.1:30443@all"),
			},
		},
		{
			name:  "IP planned with AnyZone but inside the VPC is retried without a zone",
			setup: func(f *fakeAPI) { f.vpc = vpc },
			plan:  elb.Plan{Register: []elb.Target{tgt("10.0.0.5", 30443)}, AnyZone: map[netip.Addr]bool{netip.MustParseAddr("10.0.0.5"): true}},
			want:  elb.Result{Registered: []elb.Target{tgt("10.0.0.5", 30443)}},
			wantCalls: []call{
				reg("10.0.0.5:30443@all"),
				reg("10.0.0.5:30443"),
			},
		},
		{
			name: "quota: 5 targets of quota 3 with 2 gone: deregistrations make room, the rest fit on retry",
			setup: func(f *fakeAPI) {
				f.quota = 3
				f.seed(testARN, "eu-west-1a", gone...)
			},
			plan: elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 30443), tgt("10.0.0.2", 30443), tgt("10.0.0.3", 30443)}, Deregister: gone},
			want: elb.Result{
				Registered:   []elb.Target{tgt("10.0.0.1", 30443), tgt("10.0.0.2", 30443), tgt("10.0.0.3", 30443)},
				Deregistered: gone,
			},
			wantCalls: []call{
				reg("10.0.0.1:30443", "10.0.0.2:30443", "10.0.0.3:30443"),
				reg("10.0.0.1:30443"),
				reg("10.0.0.2:30443", "10.0.0.3:30443"),
				reg("10.0.0.2:30443"), // alone and over quota: 10.0.0.3 is not tried
				dereg(goneStrs...),
				reg("10.0.0.2:30443", "10.0.0.3:30443"),
			},
		},
		{
			name: "quota with nothing to free: the ones that fit go in, the rest are over quota, no error",
			setup: func(f *fakeAPI) {
				f.quota = 3
				f.seed(testARN, "eu-west-1a", tgt("10.0.0.9", 30443))
			},
			plan: elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 30443), tgt("10.0.0.2", 30443), tgt("10.0.0.3", 30443), tgt("10.0.0.4", 30443)}},
			want: elb.Result{
				Registered: []elb.Target{tgt("10.0.0.1", 30443), tgt("10.0.0.2", 30443)},
				OverQuota:  []elb.Target{tgt("10.0.0.3", 30443), tgt("10.0.0.4", 30443)},
			},
			wantCalls: []call{
				reg("10.0.0.1:30443", "10.0.0.2:30443", "10.0.0.3:30443", "10.0.0.4:30443"),
				reg("10.0.0.1:30443", "10.0.0.2:30443"),
				reg("10.0.0.3:30443", "10.0.0.4:30443"),
				reg("10.0.0.3:30443"),
			},
		},
		{
			name: "full group, a move and a gone node: the move goes in on the retry, then its old port goes",
			setup: func(f *fakeAPI) {
				f.quota = 3
				f.seed(testARN, "eu-west-1a", tgt("10.0.0.1", 30443), tgt("10.0.0.2", 30443), tgt("10.0.0.3", 30443))
			},
			plan: elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 31443)}, Deregister: []elb.Target{tgt("10.0.0.1", 30443), tgt("10.0.0.2", 30443)}},
			want: elb.Result{
				Registered:   []elb.Target{tgt("10.0.0.1", 31443)},
				Deregistered: []elb.Target{tgt("10.0.0.2", 30443), tgt("10.0.0.1", 30443)},
			},
			wantCalls: []call{
				reg("10.0.0.1:31443"), // over quota; 10.0.0.1:30443 is held
				dereg("10.0.0.2:30443"),
				reg("10.0.0.1:31443"),
				dereg("10.0.0.1:30443"),
			},
		},
		{
			name: "full group and a move with nothing to free: the new port is over quota, the old one held",
			setup: func(f *fakeAPI) {
				f.quota = 2
				f.seed(testARN, "eu-west-1a", tgt("10.0.0.1", 30443), tgt("10.0.0.2", 30443))
			},
			plan: elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 31443)}, Deregister: []elb.Target{tgt("10.0.0.1", 30443)}},
			want: elb.Result{
				OverQuota: []elb.Target{tgt("10.0.0.1", 31443)},
				Held:      []elb.Target{tgt("10.0.0.1", 30443)},
			},
			wantCalls: []call{reg("10.0.0.1:31443")},
		},
		{
			name:  "a target registered as often as it may be is over quota alone; the others go in",
			setup: func(f *fakeAPI) { f.reject["10.0.0.2"] = tooOften },
			plan:  elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 30443), tgt("10.0.0.2", 30443), tgt("10.0.0.3", 30443)}},
			want: elb.Result{
				Registered: []elb.Target{tgt("10.0.0.1", 30443), tgt("10.0.0.3", 30443)},
				OverQuota:  []elb.Target{tgt("10.0.0.2", 30443)},
			},
			wantCalls: []call{
				reg("10.0.0.1:30443", "10.0.0.2:30443", "10.0.0.3:30443"),
				reg("10.0.0.1:30443"),
				reg("10.0.0.2:30443", "10.0.0.3:30443"),
				reg("10.0.0.2:30443"),
				reg("10.0.0.3:30443"),
			},
		},
		{
			name: "throttled registration: gone targets are still deregistered, the error is returned",
			setup: func(f *fakeAPI) {
				f.errs["RegisterTargets"] = throttled
				f.seed(testARN, "eu-west-1a", gone...)
			},
			plan:      elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 30443), tgt("10.0.0.2", 30443)}, Deregister: gone},
			want:      elb.Result{Deregistered: gone},
			wantErr:   throttled,
			wantCalls: []call{reg("10.0.0.1:30443", "10.0.0.2:30443"), dereg(goneStrs...)},
		},
		{
			name: "port move whose new port is refused: the old port is held, the rest moves",
			setup: func(f *fakeAPI) {
				f.reject["10.0.0.2"] = validationError("The IP address '10.0.0.2' is reserved")
				f.seed(testARN, "eu-west-1a", moveDeregister...)
			},
			plan: elb.Plan{Register: moveRegister, Deregister: moveDeregister},
			want: elb.Result{
				Registered:   []elb.Target{tgt("10.0.0.1", 31443)},
				Rejected:     []elb.Rejection{{Target: tgt("10.0.0.2", 31443), Code: "ValidationError", Message: "The IP address '10.0.0.2' is reserved"}},
				Deregistered: []elb.Target{tgt("10.0.0.1", 30443), tgt("10.0.0.3", 30443)},
				Held:         []elb.Target{tgt("10.0.0.2", 30443)},
			},
		},
		{
			name: "port move while registering is throttled: every old port is held, the gone node goes",
			setup: func(f *fakeAPI) {
				f.errs["RegisterTargets"] = throttled
				f.seed(testARN, "eu-west-1a", moveDeregister...)
			},
			plan: elb.Plan{Register: moveRegister, Deregister: moveDeregister},
			want: elb.Result{
				Deregistered: []elb.Target{tgt("10.0.0.3", 30443)},
				Held:         []elb.Target{tgt("10.0.0.1", 30443), tgt("10.0.0.2", 30443)},
			},
			wantErr:   throttled,
			wantCalls: []call{reg("10.0.0.1:31443", "10.0.0.2:31443"), dereg("10.0.0.3:30443")},
		},
		{
			name:      "health check set, then its port recorded in a tag",
			plan:      elb.Plan{HealthCheck: &elb.HealthCheckChange{From: elb.HealthCheck{Protocol: "TCP"}, To: hc}},
			want:      elb.Result{HealthCheck: true},
			wantCalls: []call{modify("HTTP:30200/healthz"), tagHC("30200")},
		},
		{
			name:      "health check released to the traffic port, keeping protocol and path",
			plan:      elb.Plan{HealthCheck: &elb.HealthCheckChange{From: hc, To: elb.HealthCheck{Protocol: "HTTP", Path: "/healthz"}}},
			want:      elb.Result{HealthCheck: true},
			wantCalls: []call{modify("HTTP:traffic-port/healthz"), tagHC("traffic-port")},
		},
		{
			name: "health check refused: terminal, deregistrations still done",
			setup: func(f *fakeAPI) {
				f.errs["ModifyTargetGroup"] = hcRefused
				f.seed(testARN, "eu-west-1a", gone...)
			},
			plan:         elb.Plan{Deregister: gone, HealthCheck: &elb.HealthCheckChange{To: hc}},
			want:         elb.Result{Deregistered: gone},
			wantErr:      hcRefused,
			wantTerminal: true,
			wantCalls:    []call{modify("HTTP:30200/healthz"), dereg(goneStrs...)},
		},
		{
			name:      "tag write throttled: the health check counts, the error is returned",
			setup:     func(f *fakeAPI) { f.errs["AddTags"] = throttled },
			plan:      elb.Plan{HealthCheck: &elb.HealthCheckChange{To: hc}},
			want:      elb.Result{HealthCheck: true},
			wantErr:   throttled,
			wantCalls: []call{modify("HTTP:30200/healthz"), tagHC("30200")},
		},
		{
			name:  "a deregistration AWS refuses is rejected alone; the others go",
			setup: func(f *fakeAPI) { f.rejectDeregister["10.0.0.2"] = notRegistered },
			plan:  elb.Plan{Deregister: []elb.Target{tgt("10.0.0.1", 30443), tgt("10.0.0.2", 30443), tgt("10.0.0.3", 30443)}},
			want: elb.Result{
				Deregistered: []elb.Target{tgt("10.0.0.1", 30443), tgt("10.0.0.3", 30443)},
				Rejected:     []elb.Rejection{{Target: tgt("10.0.0.2", 30443), Code: "InvalidTarget", Message: "The following targets are not registered: '10.0.0.2'"}},
			},
		},
		{
			name: "a target AWS reports in zone all is deregistered with AZ all",
			setup: func(f *fakeAPI) {
				f.vpc = vpc
				f.seed(testARN, elb.ZoneAll, tgt("192.168.5.1", 30443))
			},
			plan:      elb.Plan{Deregister: []elb.Target{tgt("192.168.5.1", 30443)}, AnyZone: map[netip.Addr]bool{outside: true}},
			want:      elb.Result{Deregistered: []elb.Target{tgt("192.168.5.1", 30443)}},
			wantCalls: []call{dereg("192.168.5.1:30443@all")},
		},
		{
			name: "second deregister chunk throttled: the first chunk is done, the rest stays",
			setup: func(f *fakeAPI) {
				f.failOn["DeregisterTargets"], f.failErr = 2, throttled
			},
			plan:     elb.Plan{Register: targets(3, 30443), Deregister: targets(250, 31443)},
			want:     elb.Result{Registered: targets(3, 30443), Deregistered: targets(250, 31443)[:200]},
			wantErr:  throttled,
			maxCalls: map[string]int{"RegisterTargets": 1, "DeregisterTargets": 2},
		},
		{
			name: "target group gone: both steps fail, terminal",
			setup: func(f *fakeAPI) {
				f.errs["RegisterTargets"] = notFound
				f.errs["DeregisterTargets"] = notFound
			},
			plan:         elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 30443)}, Deregister: []elb.Target{tgt("10.0.0.2", 30443)}},
			want:         elb.Result{},
			wantErr:      notFound,
			wantTerminal: true,
			wantCalls:    []call{reg("10.0.0.1:30443"), dereg("10.0.0.2:30443")},
		},
		{
			name:      "cancelled context: no target call",
			cancelled: true,
			plan:      elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 30443)}, Deregister: []elb.Target{tgt("10.0.0.2", 30443)}},
			want:      elb.Result{},
			wantErr:   context.Canceled,
			wantCalls: []call{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(ipGroup(testARN))
			if tt.setup != nil {
				tt.setup(api)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelled {
				cancel()
			}

			res, err := elb.NewClient(api).Apply(ctx, testARN, tt.plan)

			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("Apply() error = %v, want none", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("Apply() error = %v, want it to wrap %v", err, tt.wantErr)
			}
			if got := elb.IsTerminal(err); got != tt.wantTerminal {
				t.Errorf("IsTerminal(%v) = %v, want %v", err, got, tt.wantTerminal)
			}
			if diff := cmp.Diff(tt.want, res, cmpOpts); diff != "" {
				t.Errorf("Result mismatch (-want +got):\n%s", diff)
			}
			if tt.wantCalls != nil {
				if diff := cmp.Diff(tt.wantCalls, api.calls, cmpOpts); diff != "" {
					t.Errorf("calls mismatch (-want +got):\n%s", diff)
				}
			}
			for op, most := range tt.maxCalls {
				if n := api.counts[op]; n > most {
					t.Errorf("%d %s calls, want at most %d", n, op, most)
				}
			}
			for _, c := range api.calls {
				if len(c.Targets) > elb.MaxTargetsPerCall {
					t.Errorf("%s carried %d targets, more than %d", c.Op, len(c.Targets), elb.MaxTargetsPerCall)
				}
			}
		})
	}
}
