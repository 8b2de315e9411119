package elb_test

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/targetsync/targetsync/pkg/elb"
)

// cmpOpts compares netip.Addr by value (it has unexported fields and no Equal method) and
// treats nil and empty slices alike: a plan that changes nothing is empty either way.
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmpopts.EquateEmpty(),
}

func tgt(ip string, port int32) elb.Target {
	return elb.Target{IP: netip.MustParseAddr(ip), Port: port}
}

func obs(ip string, port int32, state string) elb.Observed {
	return elb.Observed{Target: tgt(ip, port), State: state}
}

var hcLocal = elb.HealthCheck{Protocol: "HTTP", Port: 30200, Path: "/healthz"}

func TestComputePlan(t *testing.T) {
	tests := []struct {
		name      string
		desired   []elb.Target
		desiredHC elb.HealthCheck
		mode      elb.HealthCheckMode
		current   elb.TargetGroup
		want      elb.Plan
	}{
		{
			name: "empty desired and empty current",
			want: elb.Plan{},
		},
		{
			name:    "register a new node",
			desired: []elb.Target{tgt("10.0.0.1", 30080), tgt("10.0.0.2", 30080)},
			current: elb.TargetGroup{Targets: []elb.Observed{obs("10.0.0.1", 30080, elb.StateHealthy)}},
			want:    elb.Plan{Register: []elb.Target{tgt("10.0.0.2", 30080)}},
		},
		{
			name:    "register everything into an empty group",
			desired: []elb.Target{tgt("10.0.0.2", 30080), tgt("10.0.0.1", 30080)},
			want:    elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 30080), tgt("10.0.0.2", 30080)}},
		},
		{
			name:    "deregister a node that is gone",
			desired: []elb.Target{tgt("10.0.0.1", 30080)},
			current: elb.TargetGroup{Targets: []elb.Observed{
				obs("10.0.0.1", 30080, elb.StateHealthy),
				obs("10.0.0.2", 30080, elb.StateUnhealthy),
			}},
			want: elb.Plan{Deregister: []elb.Target{tgt("10.0.0.2", 30080)}},
		},
		{
			name: "deregister everything when nothing is desired",
			current: elb.TargetGroup{Targets: []elb.Observed{
				obs("10.0.0.1", 30080, elb.StateHealthy),
				obs("10.0.0.2", 30080, elb.StateInitial),
			}},
			want: elb.Plan{Deregister: []elb.Target{tgt("10.0.0.1", 30080), tgt("10.0.0.2", 30080)}},
		},
		{
			name:    "a draining target that is desired is registered again",
			desired: []elb.Target{tgt("10.0.0.1", 30080)},
			current: elb.TargetGroup{Targets: []elb.Observed{obs("10.0.0.1", 30080, elb.StateDraining)}},
			want:    elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 30080)}},
		},
		{
			name:    "a draining target that is not desired is left to drain",
			desired: []elb.Target{tgt("10.0.0.1", 30080)},
			current: elb.TargetGroup{Targets: []elb.Observed{
				obs("10.0.0.1", 30080, elb.StateHealthy),
				obs("10.0.0.9", 30080, elb.StateDraining),
			}},
			want: elb.Plan{},
		},
		{
			name:    "targets in every other state count as registered",
			desired: []elb.Target{tgt("10.0.0.1", 30080), tgt("10.0.0.2", 30080), tgt("10.0.0.3", 30080), tgt("10.0.0.4", 30080), tgt("10.0.0.5", 30080)},
			current: elb.TargetGroup{Targets: []elb.Observed{
				obs("10.0.0.1", 30080, elb.StateInitial),
				obs("10.0.0.2", 30080, elb.StateHealthy),
				obs("10.0.0.3", 30080, elb.StateUnhealthy),
				obs("10.0.0.4", 30080, elb.StateUnused),
				obs("10.0.0.5", 30080, elb.StateUnavailable),
			}},
			want: elb.Plan{},
		},
		{
			name:    "a NodePort move registers the new port and deregisters the old one",
			desired: []elb.Target{tgt("10.0.0.1", 31080), tgt("10.0.0.2", 31080)},
			current: elb.TargetGroup{Targets: []elb.Observed{
				obs("10.0.0.1", 30080, elb.StateHealthy),
				obs("10.0.0.2", 30080, elb.StateHealthy),
			}},
			want: elb.Plan{
				Register:   []elb.Target{tgt("10.0.0.1", 31080), tgt("10.0.0.2", 31080)},
				Deregister: []elb.Target{tgt("10.0.0.1", 30080), tgt("10.0.0.2", 30080)},
			},
		},
		{
			name:    "duplicate desired targets are registered once",
			desired: []elb.Target{tgt("10.0.0.1", 30080), tgt("10.0.0.1", 30080)},
			want:    elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 30080)}},
		},
		{
			name:      "a managed health check that differs is modified",
			desired:   []elb.Target{tgt("10.0.0.1", 30080)},
			desiredHC: hcLocal,
			mode:      elb.HealthCheckSet,
			current: elb.TargetGroup{
				HealthCheck: elb.HealthCheck{Protocol: "TCP"},
				Targets:     []elb.Observed{obs("10.0.0.1", 30080, elb.StateHealthy)},
			},
			want: elb.Plan{HealthCheck: &elb.HealthCheckChange{From: elb.HealthCheck{Protocol: "TCP"}, To: hcLocal}},
		},
		{
			name:      "a managed health check on another port is modified",
			desiredHC: hcLocal,
			mode:      elb.HealthCheckSet,
			current:   elb.TargetGroup{HealthCheck: elb.HealthCheck{Protocol: "HTTP", Port: 30201, Path: "/healthz"}},
			want: elb.Plan{HealthCheck: &elb.HealthCheckChange{
				From: elb.HealthCheck{Protocol: "HTTP", Port: 30201, Path: "/healthz"},
				To:   hcLocal,
			}},
		},
		{
			name:      "a managed health check with another path is modified",
			desiredHC: hcLocal,
			mode:      elb.HealthCheckSet,
			current:   elb.TargetGroup{HealthCheck: elb.HealthCheck{Protocol: "HTTP", Port: 30200, Path: "/"}},
			want: elb.Plan{HealthCheck: &elb.HealthCheckChange{
				From: elb.HealthCheck{Protocol: "HTTP", Port: 30200, Path: "/"},
				To:   hcLocal,
			}},
		},
		{
			name:      "an unmanaged health check is left alone whatever it is",
			desiredHC: elb.HealthCheck{},
			mode:      elb.HealthCheckSet,
			current:   elb.TargetGroup{HealthCheck: elb.HealthCheck{Protocol: "HTTPS", Port: 8443, Path: "/ready"}},
			want:      elb.Plan{},
		},
		{
			name:      "a health check without a port is not managed even with a path",
			desiredHC: elb.HealthCheck{Protocol: "HTTP", Path: "/healthz"},
			mode:      elb.HealthCheckSet,
			current:   elb.TargetGroup{HealthCheck: elb.HealthCheck{Protocol: "TCP"}},
			want:      elb.Plan{},
		},
		{
			name:      "a managed health check in sync is left alone",
			desired:   []elb.Target{tgt("10.0.0.1", 30080)},
			desiredHC: hcLocal,
			mode:      elb.HealthCheckSet,
			current: elb.TargetGroup{
				HealthCheck: hcLocal,
				Targets:     []elb.Observed{obs("10.0.0.1", 30080, elb.StateHealthy)},
			},
			want: elb.Plan{},
		},
		{
			name: "output is sorted by address as a number, then port",
			desired: []elb.Target{
				tgt("10.0.0.10", 30080), tgt("10.0.0.9", 30443), tgt("10.0.0.9", 30080),
				tgt("192.168.0.1", 30080), tgt("10.0.1.0", 30080),
			},
			current: elb.TargetGroup{Targets: []elb.Observed{
				obs("172.16.0.2", 30080, elb.StateHealthy),
				obs("172.16.0.10", 30080, elb.StateHealthy),
				obs("172.16.0.1", 30080, elb.StateHealthy),
			}},
			want: elb.Plan{
				Register: []elb.Target{
					tgt("10.0.0.9", 30080), tgt("10.0.0.9", 30443), tgt("10.0.0.10", 30080),
					tgt("10.0.1.0", 30080), tgt("192.168.0.1", 30080),
				},
				Deregister: []elb.Target{tgt("172.16.0.1", 30080), tgt("172.16.0.2", 30080), tgt("172.16.0.10", 30080)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := elb.ComputePlan(elb.Desired{Targets: tt.desired, HealthCheck: tt.desiredHC, HealthCheckMode: tt.mode}, tt.current)
			if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
				t.Errorf("ComputePlan() mismatch (-want +got):\n%s", diff)
			}
			if got.Empty() != tt.want.Empty() {
				t.Errorf("Empty() = %v, want %v", got.Empty(), tt.want.Empty())
			}
		})
	}
}

func TestPlanRegistered(t *testing.T) {
	tests := []struct {
		name    string
		plan    elb.Plan
		current elb.TargetGroup
		want    []elb.Target
	}{
		{
			name: "nothing registered and nothing planned",
			want: nil,
		},
		{
			name:    "current targets stay when the plan is empty",
			current: elb.TargetGroup{Targets: []elb.Observed{obs("10.0.0.2", 30080, elb.StateHealthy), obs("10.0.0.1", 30080, elb.StateUnhealthy)}},
			want:    []elb.Target{tgt("10.0.0.1", 30080), tgt("10.0.0.2", 30080)},
		},
		{
			name:    "draining targets are not counted",
			current: elb.TargetGroup{Targets: []elb.Observed{obs("10.0.0.1", 30080, elb.StateHealthy), obs("10.0.0.2", 30080, elb.StateDraining)}},
			want:    []elb.Target{tgt("10.0.0.1", 30080)},
		},
		{
			name: "registered targets are added and deregistered ones removed",
			plan: elb.Plan{
				Register:   []elb.Target{tgt("10.0.0.3", 30080)},
				Deregister: []elb.Target{tgt("10.0.0.1", 30080)},
			},
			current: elb.TargetGroup{Targets: []elb.Observed{obs("10.0.0.1", 30080, elb.StateHealthy), obs("10.0.0.2", 30080, elb.StateHealthy)}},
			want:    []elb.Target{tgt("10.0.0.2", 30080), tgt("10.0.0.3", 30080)},
		},
		{
			name:    "a draining target registered again counts once",
			plan:    elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 30080)}},
			current: elb.TargetGroup{Targets: []elb.Observed{obs("10.0.0.1", 30080, elb.StateDraining)}},
			want:    []elb.Target{tgt("10.0.0.1", 30080)},
		},
		{
			name:    "a target both current and in Register counts once",
			plan:    elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 30080)}},
			current: elb.TargetGroup{Targets: []elb.Observed{obs("10.0.0.1", 30080, elb.StateHealthy)}},
			want:    []elb.Target{tgt("10.0.0.1", 30080)},
		},
		{
			name: "deregistering everything leaves nothing",
			plan: elb.Plan{Deregister: []elb.Target{tgt("10.0.0.1", 30080), tgt("10.0.0.2", 30080)}},
			current: elb.TargetGroup{Targets: []elb.Observed{
				obs("10.0.0.1", 30080, elb.StateHealthy), obs("10.0.0.2", 30080, elb.StateHealthy),
			}},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.plan.Registered(tt.current)
			if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
				t.Errorf("Registered() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHealthCheckString(t *testing.T) {
	tests := []struct {
		name string
		hc   elb.HealthCheck
		want string
	}{
		{name: "unmanaged", hc: elb.HealthCheck{Protocol: "TCP"}, want: "traffic-port"},
		{name: "managed", hc: hcLocal, want: "HTTP:30200/healthz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.hc.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// targets returns n distinct targets on one port, in sorted order.
func targets(n int, port int32) []elb.Target {
	out := make([]elb.Target, n)
	for i := range out {
		out[i] = tgt("10.1."+strconv.Itoa(i/256)+"."+strconv.Itoa(i%256), port)
	}
	return out
}
