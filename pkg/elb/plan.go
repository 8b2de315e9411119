package elb

import (
	"net/netip"
	"slices"
)

// HealthCheckMode says what a sync may do with a target group's health check.
type HealthCheckMode int

const (
	// HealthCheckKeep leaves the health check exactly as it is: nothing is known about it, for
	// example because the Service that names the health-check port is missing.
	HealthCheckKeep HealthCheckMode = iota
	// HealthCheckSet keeps the health check at Desired.HealthCheck. A Desired.HealthCheck on the
	// traffic port (Port 0) names nothing to set and is treated as HealthCheckKeep.
	HealthCheckSet
	// HealthCheckRelease gives the health check back: it is no longer managed. If it is on the
	// port targetsync recorded in TagHealthCheckPort, it goes back to the traffic port, keeping
	// protocol and path, because nobody serves the port targetsync set. A port someone else set
	// is left alone.
	HealthCheckRelease
)

// Desired is what a target group should hold.
type Desired struct {
	Targets         []Target
	HealthCheck     HealthCheck
	HealthCheckMode HealthCheckMode
}

// Plan is the difference between what a target group should hold and what it holds.
// It is a pure value: computing it calls nothing, and printing it changes nothing.
type Plan struct {
	// Register holds targets to add, sorted.
	Register []Target
	// Deregister holds targets to remove, sorted. Apply removes a target whose address is also in
	// Register (a NodePort move) only once that address was registered on its new port.
	Deregister []Target
	// HealthCheck is set when the target group's health check must change.
	HealthCheck *HealthCheckChange
	// AnyZone holds the addresses that are sent with AvailabilityZone "all": registrations
	// outside the VPC's CIDRs, deregistrations of targets AWS reports in zone "all". nil when none.
	AnyZone map[netip.Addr]bool
}

// HealthCheckChange is a health-check modification, with the value it replaces for the record.
// To with Port 0 means the traffic port. From equal to To means the health check is already
// right and only TagHealthCheckPort must record that targetsync owns it.
type HealthCheckChange struct {
	From HealthCheck
	To   HealthCheck
}

// RecordOnly reports whether the change only records ownership in TagHealthCheckPort.
func (c HealthCheckChange) RecordOnly() bool { return c.From == c.To }

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool {
	return len(p.Register) == 0 && len(p.Deregister) == 0 && p.HealthCheck == nil
}

// ComputePlan returns the plan that turns current into d.
//
// Targets that are draining are on their way out and count as absent, so a desired target that
// is draining is registered again. The health check follows d.HealthCheckMode.
func ComputePlan(d Desired, current TargetGroup) Plan {
	want := make(map[Target]struct{}, len(d.Targets))
	for _, t := range d.Targets {
		want[t] = struct{}{}
	}
	have := make(map[Target]string, len(current.Targets))
	for _, o := range current.Targets {
		if o.State == StateDraining {
			continue
		}
		have[o.Target] = o.AvailabilityZone
	}

	var p Plan
	anyZone := func(ip netip.Addr) {
		if p.AnyZone == nil {
			p.AnyZone = map[netip.Addr]bool{}
		}
		p.AnyZone[ip] = true
	}
	for t := range want {
		if _, ok := have[t]; ok {
			continue
		}
		p.Register = append(p.Register, t)
		if len(current.VPCCIDRs) > 0 && !inAny(current.VPCCIDRs, t.IP) {
			anyZone(t.IP)
		}
	}
	for t, zone := range have {
		if _, ok := want[t]; ok {
			continue
		}
		p.Deregister = append(p.Deregister, t)
		if zone == ZoneAll {
			anyZone(t.IP)
		}
	}
	slices.SortFunc(p.Register, Target.Compare)
	slices.SortFunc(p.Deregister, Target.Compare)
	p.HealthCheck = planHealthCheck(d, current)
	return p
}

func planHealthCheck(d Desired, current TargetGroup) *HealthCheckChange {
	have := current.HealthCheck
	switch d.HealthCheckMode {
	case HealthCheckSet:
		if !d.HealthCheck.Managed() {
			return nil
		}
		// A health check that is right but not recorded as ours (set before the tag existed,
		// or the tag write failed) is recorded, so that releasing it later gives it back.
		recorded := current.Tags == nil || current.Tags[TagHealthCheckPort] == d.HealthCheck.portValue()
		if d.HealthCheck != have || !recorded {
			return &HealthCheckChange{From: have, To: d.HealthCheck}
		}
	case HealthCheckRelease:
		if have.Managed() && current.Tags != nil && current.Tags[TagHealthCheckPort] == have.portValue() {
			return &HealthCheckChange{From: have, To: HealthCheck{Protocol: have.Protocol, Path: have.Path}}
		}
	}
	return nil
}

func inAny(prefixes []netip.Prefix, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Moves returns the addresses that p deregisters on one port and registers on another: NodePort
// moves. Their old targets stay until the new ones are registered, so the controller's capacity
// checks need not count them as lost. nil when none.
func (p Plan) Moves() map[netip.Addr]bool {
	registering := make(map[netip.Addr]bool, len(p.Register))
	for _, t := range p.Register {
		registering[t.IP] = true
	}
	var out map[netip.Addr]bool
	for _, t := range p.Deregister {
		if registering[t.IP] {
			if out == nil {
				out = map[netip.Addr]bool{}
			}
			out[t.IP] = true
		}
	}
	return out
}

// Registered returns the targets that will be registered (and not draining) once p is applied
// to current. The controller's safety checks reason about this set.
func (p Plan) Registered(current TargetGroup) []Target {
	gone := make(map[Target]struct{}, len(p.Deregister))
	for _, t := range p.Deregister {
		gone[t] = struct{}{}
	}
	seen := make(map[Target]struct{})
	var out []Target
	add := func(t Target) {
		if _, dup := seen[t]; dup {
			return
		}
		seen[t] = struct{}{}
		out = append(out, t)
	}
	for _, o := range current.Targets {
		if _, g := gone[o.Target]; !g && o.State != StateDraining {
			add(o.Target)
		}
	}
	for _, t := range p.Register {
		add(t)
	}
	slices.SortFunc(out, Target.Compare)
	return out
}
