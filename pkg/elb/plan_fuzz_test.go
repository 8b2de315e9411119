package elb_test

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"testing"

	"github.com/targetsync/targetsync/pkg/elb"
)

// FuzzComputePlan checks the properties a sync relies on: once a plan is applied, the group
// holds exactly the desired targets and the health check the mode asks for; planning again
// right after changes nothing; and the plan's parts agree with each other.
func FuzzComputePlan(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{2, 3, 4}, []byte{0, 4, 0}, uint16(30200), uint16(30201), byte(1), byte(2))
	f.Add([]byte{}, []byte{9, 9}, []byte{4, 0}, uint16(0), uint16(30200), byte(2), byte(2))
	f.Add([]byte{7, 7, 7}, []byte{}, []byte{}, uint16(30200), uint16(0), byte(0), byte(0))
	f.Add([]byte{0x81, 0x0c}, []byte{0x01, 0x8c}, []byte{}, uint16(30200), uint16(30200), byte(5), byte(1))
	f.Fuzz(func(t *testing.T, desiredRaw, currentRaw, states []byte, wantHCPort, haveHCPort uint16, mode, tagged byte) {
		// Each byte picks one of 16 addresses and one of two ports, so collisions are common.
		// Addresses 10.0.0.8 to 10.0.0.15 are outside the VPC when its CIDRs are known.
		toTarget := func(b byte) elb.Target {
			return elb.Target{
				IP:   netip.AddrFrom4([4]byte{10, 0, 0, b & 0x0f}),
				Port: 30080 + int32(b>>7),
			}
		}
		var desired []elb.Target
		for _, b := range desiredRaw {
			desired = append(desired, toTarget(b))
		}
		current := elb.TargetGroup{HealthCheck: elb.HealthCheck{Protocol: "HTTP", Port: int32(haveHCPort), Path: "/healthz"}}
		if mode&4 != 0 {
			current.VPCCIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/29")}
		}
		switch tagged % 4 {
		case 1:
			current.Tags = map[string]string{}
		case 2:
			current.Tags = map[string]string{elb.TagHealthCheckPort: current.HealthCheck.String()}
			if current.HealthCheck.Port != 0 {
				current.Tags[elb.TagHealthCheckPort] = strconv.Itoa(int(haveHCPort))
			}
		case 3:
			current.Tags = map[string]string{elb.TagHealthCheckPort: "traffic-port"}
		}
		seen := map[elb.Target]bool{}
		for i, b := range currentRaw {
			// AWS reports each registered target once.
			if seen[toTarget(b)] {
				continue
			}
			seen[toTarget(b)] = true
			state := elb.StateHealthy
			if i < len(states) {
				state = elb.States[int(states[i])%len(elb.States)]
			}
			zone := "eu-west-1a"
			if b&0x08 != 0 {
				zone = elb.ZoneAll
			}
			current.Targets = append(current.Targets, elb.Observed{Target: toTarget(b), State: state, AvailabilityZone: zone})
		}
		d := elb.Desired{
			Targets:         desired,
			HealthCheck:     elb.HealthCheck{Protocol: "HTTP", Port: int32(wantHCPort), Path: "/healthz"},
			HealthCheckMode: elb.HealthCheckMode(mode % 4),
		}

		p := elb.ComputePlan(d, current)

		wantSet := map[elb.Target]bool{}
		for _, t := range desired {
			wantSet[t] = true
		}
		got := p.Registered(current)
		if len(got) != len(wantSet) {
			t.Fatalf("Registered() has %d targets, want %d: %v", len(got), len(wantSet), got)
		}
		for _, g := range got {
			if !wantSet[g] {
				t.Fatalf("Registered() holds %s, which is not desired", g)
			}
		}
		if !slices.IsSortedFunc(p.Register, elb.Target.Compare) || !slices.IsSortedFunc(p.Deregister, elb.Target.Compare) {
			t.Fatalf("plan is not sorted: %+v", p)
		}
		planned := map[netip.Addr]bool{}
		for _, t := range slices.Concat(p.Register, p.Deregister) {
			planned[t.IP] = true
		}
		for ip := range p.AnyZone {
			if !planned[ip] {
				t.Fatalf("AnyZone holds %s, which the plan does not touch", ip)
			}
		}
		for ip := range p.Moves() {
			if !slices.ContainsFunc(p.Register, func(t elb.Target) bool { return t.IP == ip }) ||
				!slices.ContainsFunc(p.Deregister, func(t elb.Target) bool { return t.IP == ip }) {
				t.Fatalf("Moves() holds %s, which is not both registered and deregistered", ip)
			}
		}
		if hc := p.HealthCheck; hc != nil {
			switch d.HealthCheckMode {
			case elb.HealthCheckSet:
				if hc.To != d.HealthCheck {
					t.Fatalf("set planned %s, want %s", hc.To, d.HealthCheck)
				}
			case elb.HealthCheckRelease:
				if hc.To.Port != 0 {
					t.Fatalf("release planned port %d, want the traffic port", hc.To.Port)
				}
			default:
				t.Fatalf("mode %d planned a health-check change: %+v", d.HealthCheckMode, hc)
			}
			if hc.From != current.HealthCheck {
				t.Fatalf("health-check change from %s, want from %s", hc.From, current.HealthCheck)
			}
		}

		// Apply the plan the way Apply does, tag included, and plan again.
		applied := elb.TargetGroup{HealthCheck: current.HealthCheck, VPCCIDRs: current.VPCCIDRs, Tags: maps.Clone(current.Tags)}
		if p.HealthCheck != nil {
			applied.HealthCheck = p.HealthCheck.To
			if applied.Tags == nil {
				applied.Tags = map[string]string{}
			}
			applied.Tags[elb.TagHealthCheckPort] = p.HealthCheck.To.String()
			if p.HealthCheck.To.Port != 0 {
				applied.Tags[elb.TagHealthCheckPort] = strconv.Itoa(int(p.HealthCheck.To.Port))
			}
		}
		for _, g := range got {
			applied.Targets = append(applied.Targets, elb.Observed{Target: g, State: elb.StateInitial})
		}
		if again := elb.ComputePlan(d, applied); !again.Empty() {
			t.Fatalf("second plan is not empty: %+v", again)
		}
	})
}
