package elb

import (
	"slices"
)

// Plan is the difference between what a target group should hold and what it holds.
// It is a pure value: computing it calls nothing, and printing it changes nothing.
type Plan struct {
	// Register holds targets to add, sorted.
	Register []Target
	// Deregister holds targets to remove, sorted. They are removed only after Register succeeded.
	Deregister []Target
	// HealthCheck is set when the target group's health check must change.
	HealthCheck *HealthCheckChange
}

// HealthCheckChange is a health-check modification, with the value it replaces for the record.
type HealthCheckChange struct {
	From HealthCheck
	To   HealthCheck
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool {
	return len(p.Register) == 0 && len(p.Deregister) == 0 && p.HealthCheck == nil
}

// ComputePlan returns the plan that turns current into desired.
//
// Targets that are draining are on their way out and count as absent, so a desired target that
// is draining is registered again. A zero desired health check leaves the health check alone.
func ComputePlan(desired []Target, desiredHC HealthCheck, current TargetGroup) Plan {
	want := make(map[Target]struct{}, len(desired))
	for _, t := range desired {
		want[t] = struct{}{}
	}
	have := make(map[Target]struct{}, len(current.Targets))
	for _, o := range current.Targets {
		if o.State == StateDraining {
			continue
		}
		have[o.Target] = struct{}{}
	}

	var p Plan
	for t := range want {
		if _, ok := have[t]; !ok {
			p.Register = append(p.Register, t)
		}
	}
	for t := range have {
		if _, ok := want[t]; !ok {
			p.Deregister = append(p.Deregister, t)
		}
	}
	slices.SortFunc(p.Register, Target.Compare)
	slices.SortFunc(p.Deregister, Target.Compare)

	if desiredHC.Managed() && desiredHC != current.HealthCheck {
		p.HealthCheck = &HealthCheckChange{From: current.HealthCheck, To: desiredHC}
	}
	return p
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
