package elb

import (
	"net/netip"
	"testing"
)

// benchTargets are n targets on port at 10.0.x.y.
func benchTargets(n int, port int32) []Target {
	out := make([]Target, n)
	for i := range out {
		out[i] = Target{IP: netip.AddrFrom4([4]byte{10, 0, byte(i / 250), byte(i%250 + 1)}), Port: port}
	}
	return out
}

// BenchmarkComputePlan5000 plans a sync at 5,000 nodes where 200 joined and 200 left.
func BenchmarkComputePlan5000(b *testing.B) {
	all := benchTargets(5200, 30080)
	desired := Desired{Targets: all[200:], HealthCheckMode: HealthCheckKeep}
	current := TargetGroup{TargetType: TargetTypeIP, Port: 30080}
	for _, t := range all[:5000] {
		current.Targets = append(current.Targets, Observed{Target: t, State: StateHealthy})
	}
	b.ReportAllocs()
	for b.Loop() {
		p := ComputePlan(desired, current)
		if len(p.Register) != 200 || len(p.Deregister) != 200 {
			b.Fatalf("plan registers %d and deregisters %d, want 200 and 200", len(p.Register), len(p.Deregister))
		}
	}
}

// BenchmarkComputePlanInSync5000 is the plan of an idle resync at 5,000 nodes: nothing to do.
func BenchmarkComputePlanInSync5000(b *testing.B) {
	all := benchTargets(5000, 30080)
	current := TargetGroup{TargetType: TargetTypeIP, Port: 30080}
	for _, t := range all {
		current.Targets = append(current.Targets, Observed{Target: t, State: StateHealthy})
	}
	b.ReportAllocs()
	for b.Loop() {
		if p := ComputePlan(Desired{Targets: all, HealthCheckMode: HealthCheckKeep}, current); !p.Empty() {
			b.Fatal("plan not empty")
		}
	}
}
