package controller

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
)

func TestCapacityFloor(t *testing.T) {
	tests := []struct {
		fraction float64
		high     int
		want     int
	}{
		{fraction: 0.34, high: 11, want: 8}, // ⌈7.26⌉
		{fraction: 0.34, high: 3, want: 2},  // ⌈1.98⌉
		{fraction: 0.34, high: 50, want: 33},
		{fraction: 0.5, high: 4, want: 2},
		{fraction: 0.34, high: 1, want: 1},
		{fraction: 0.34, high: 0, want: 0},
		{fraction: 1, high: 11, want: 0}, // off
	}
	for _, tt := range tests {
		if got := (Capacity{MaxFraction: tt.fraction}).Floor(tt.high); got != tt.want {
			t.Errorf("Floor(%v, %d) = %d, want %d", tt.fraction, tt.high, got, tt.want)
		}
	}
}

// node is a snapshot node; reason empty means eligible.
type node struct{ ip, reason string }

func snapOf(port int32, nodes ...node) informer.Snapshot {
	s := informer.Snapshot{TrafficPort: port}
	for _, n := range nodes {
		in := informer.Node{Name: "node-" + n.ip, IP: netip.MustParseAddr(n.ip), Reason: n.reason}
		if n.reason == "" {
			s.Targets = append(s.Targets, in)
		} else {
			s.Skipped = append(s.Skipped, in)
		}
	}
	return s
}

func targets(port int32, ips ...string) []elb.Target {
	var out []elb.Target
	for _, ip := range ips {
		out = append(out, elb.Target{IP: netip.MustParseAddr(ip), Port: port})
	}
	return out
}

// strs renders targets as ip:port, so cmp can compare them.
func strs(ts []elb.Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.String())
	}
	return out
}

func TestCapacityGuard(t *testing.T) {
	healthy := func(ips ...string) []elb.Observed { return observed(30080, elb.StateHealthy, ips...) }
	tests := []struct {
		name         string
		fraction     float64
		current      []elb.Observed
		snap         informer.Snapshot
		deregister   []elb.Target
		high         int
		wantKept     []elb.Target
		wantDeferred []elb.Target
	}{
		{
			name:    "cordoning 8 of 11 takes out 3 and defers 5",
			current: healthy("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8", "10.0.0.9", "10.0.0.10", "10.0.0.11"),
			snap: snapOf(30080, node{"10.0.0.1", "cordoned"}, node{"10.0.0.2", "cordoned"}, node{"10.0.0.3", "cordoned"}, node{"10.0.0.4", "cordoned"},
				node{"10.0.0.5", "cordoned"}, node{"10.0.0.6", "cordoned"}, node{"10.0.0.7", "cordoned"}, node{"10.0.0.8", "cordoned"},
				node{"10.0.0.9", ""}, node{"10.0.0.10", ""}, node{"10.0.0.11", ""}),
			deregister:   targets(30080, "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"),
			wantKept:     targets(30080, "10.0.0.1", "10.0.0.2", "10.0.0.3"),
			wantDeferred: targets(30080, "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"),
		},
		{
			name:    "the high-water mark, not the count now, sets the floor",
			current: healthy("10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8", "10.0.0.9", "10.0.0.10", "10.0.0.11"),
			snap: snapOf(30080, node{"10.0.0.4", "cordoned"}, node{"10.0.0.5", "cordoned"},
				node{"10.0.0.6", ""}, node{"10.0.0.7", ""}, node{"10.0.0.8", ""}, node{"10.0.0.9", ""}, node{"10.0.0.10", ""}, node{"10.0.0.11", ""}),
			deregister:   targets(30080, "10.0.0.4", "10.0.0.5"),
			high:         11, // floor 8: nothing more may go
			wantDeferred: targets(30080, "10.0.0.4", "10.0.0.5"),
		},
		{
			name:       "targets of deleted nodes are exempt",
			current:    healthy("10.0.0.1", "10.0.0.2", "10.0.0.3"),
			snap:       snapOf(30080, node{"10.0.0.3", ""}),
			deregister: targets(30080, "10.0.0.1", "10.0.0.2"),
			wantKept:   targets(30080, "10.0.0.1", "10.0.0.2"),
		},
		{
			name:       "unhealthy targets are never held",
			current:    append(observed(30080, elb.StateUnhealthy, "10.0.0.1", "10.0.0.2"), healthy("10.0.0.3")...),
			snap:       snapOf(30080, node{"10.0.0.1", "cordoned"}, node{"10.0.0.2", "cordoned"}, node{"10.0.0.3", ""}),
			deregister: targets(30080, "10.0.0.1", "10.0.0.2"),
			high:       3,
			wantKept:   targets(30080, "10.0.0.1", "10.0.0.2"),
		},
		{
			name:       "a NodePort move is not held: nothing serves the old port",
			current:    healthy("10.0.0.1", "10.0.0.2"),
			snap:       snapOf(30081, node{"10.0.0.1", ""}, node{"10.0.0.2", ""}),
			deregister: targets(30080, "10.0.0.1", "10.0.0.2"),
			wantKept:   targets(30080, "10.0.0.1", "10.0.0.2"),
		},
		{
			name:       "a fraction of 1 turns the guard off",
			fraction:   1,
			current:    healthy("10.0.0.1", "10.0.0.2", "10.0.0.3"),
			snap:       snapOf(30080, node{"10.0.0.1", "cordoned"}, node{"10.0.0.2", "cordoned"}, node{"10.0.0.3", ""}),
			deregister: targets(30080, "10.0.0.1", "10.0.0.2"),
			wantKept:   targets(30080, "10.0.0.1", "10.0.0.2"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Capacity{MaxFraction: tt.fraction, Window: time.Minute}
			if c.MaxFraction == 0 {
				c.MaxFraction = DefaultMaxDeregisterFraction
			}
			g := c.guard(elb.Plan{Deregister: tt.deregister}, elb.TargetGroup{Targets: tt.current}, tt.snap, tt.high)
			if diff := cmp.Diff(strs(tt.wantKept), strs(g.Plan.Deregister)); diff != "" {
				t.Errorf("deregistered (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(strs(tt.wantDeferred), strs(g.Deferred)); diff != "" {
				t.Errorf("deferred (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHighWaterForgetsAfterTheWindow(t *testing.T) {
	var h highWater
	t0 := time.Unix(1_700_000_000, 0)
	h.observe(t0, 11, time.Minute)
	h.observe(t0.Add(time.Second), 8, time.Minute)
	if got := h.high(t0.Add(30*time.Second), time.Minute); got != 11 {
		t.Errorf("high within the window = %d, want 11", got)
	}
	h.observe(t0.Add(2*time.Minute), 8, time.Minute)
	if got := h.high(t0.Add(2*time.Minute), time.Minute); got != 8 {
		t.Errorf("high after the window = %d, want 8", got)
	}
	if len(h.seen) != 1 {
		t.Errorf("samples kept = %d, want 1: old samples must be forgotten", len(h.seen))
	}
}

// TestMassCordonKeepsTheFloorAtEveryStepAndConverges plays a node-group upgrade: 8 of 11
// nodes are cordoned at once, and a replacement joins every 15 s and turns healthy by the next
// sync. After every sync the healthy registered targets must be at least ⌈0.66 × H⌉, H being
// the most healthy targets seen in the last minute (computed here, independently of the
// controller), and every cordoned node must be gone within a few windows.
func TestMassCordonKeepsTheFloorAtEveryStepAndConverges(t *testing.T) {
	const window = time.Minute
	h := newHarness(t, Options{Capacity: Capacity{MaxFraction: 0.34, Window: window}})
	b := h.ctrl.bindings["http"]
	var nodes []node
	var ips []string
	for i := 1; i <= 11; i++ {
		ip := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}).String()
		ips = append(ips, ip)
		nodes = append(nodes, node{ip, ""})
	}
	h.groups.group.Targets = observed(30080, elb.StateHealthy, ips...)
	h.snaps.set(snapOf(30080, nodes...), nil)
	h.ctrl.Sync(context.Background(), b, true)

	type seen struct {
		at      time.Time
		healthy int
	}
	history := []seen{{h.clock.Now(), 11}}
	for i := range 8 {
		nodes[i].reason = "cordoned"
	}
	lowest := 11
	for step := 1; step <= 40; step++ {
		if len(nodes) < 19 {
			nodes = append(nodes, node{netip.AddrFrom4([4]byte{10, 0, 1, byte(len(nodes))}).String(), ""})
		}
		h.snaps.set(snapOf(30080, nodes...), nil)
		before := healthyTargets(h.groups.group)
		history = append(history, seen{h.clock.Now(), before})
		if out := h.ctrl.Sync(context.Background(), b, true); out.Err != nil {
			t.Fatalf("step %d: %v", step, out.Err)
		}
		high := 0
		for _, s := range history {
			if h.clock.Now().Sub(s.at) <= window {
				high = max(high, s.healthy)
			}
		}
		after := healthyTargets(h.groups.group)
		lowest = min(lowest, after)
		if floor := (Capacity{MaxFraction: 0.34}).Floor(high); after < floor {
			t.Fatalf("step %d: %d healthy targets left, below ⌈0.66 × %d⌉ = %d", step, after, high, floor)
		}
		cordonedLeft := slices.ContainsFunc(h.groups.group.Targets, func(o elb.Observed) bool {
			return slices.ContainsFunc(nodes[:8], func(n node) bool { return o.IP.String() == n.ip })
		})
		if !cordonedLeft {
			took := time.Duration(step) * 15 * time.Second
			t.Logf("converged after %s; lowest healthy count %d of 11", took, lowest)
			if took > 4*window {
				t.Errorf("took %s to converge, want within a few windows", took)
			}
			return
		}
		h.groups.turnHealthy()
		h.clock.Step(15 * time.Second)
	}
	t.Fatalf("cordoned nodes still registered after 10 minutes: %v", h.groups.group.Targets)
}
