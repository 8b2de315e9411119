package controller

import (
	"slices"
	"time"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
)

// A sync that answers a node joining writes without reading first. Registering is idempotent
// and takes nothing out of service, so it may be planned from the target group as the last
// read showed it, with the changes applied since: at worst a target is sent that is already
// there. Everything else — a deregistration, a port move, a health-check change — is planned
// from a fresh read, as are the checks that guard it. The ownership check is the same either
// way (the tags). The sync after a registration, which every change is followed by, reads.

// seenGroup is a binding's target group as last read, with the changes applied since.
type seenGroup struct {
	at    time.Time
	group elb.TargetGroup
}

// seenForRegistration returns the target group as last seen when that is younger than a
// resync period and the cluster asks only for targets to be added to it.
func (c *Controller) seenForRegistration(b Binding, st *bindingState, snap informer.Snapshot, desired []elb.Target) (elb.TargetGroup, bool) {
	now := c.opts.Clock.Now()
	st.mu.Lock()
	s := st.seen
	st.mu.Unlock()
	if s == nil || now.Sub(s.at) >= c.opts.ResyncPeriod {
		return elb.TargetGroup{}, false
	}
	g := s.group
	g.Targets = slices.Clone(s.group.Targets)
	p := elb.ComputePlan(elb.Desired{Targets: desired, HealthCheck: desiredHealthCheck(b, snap), HealthCheckMode: healthCheckMode(snap)}, g)
	if len(p.Register) == 0 || !registrationsOnly(p) {
		return elb.TargetGroup{}, false
	}
	return g, true
}

// registrationsOnly reports whether p does nothing but register targets.
func registrationsOnly(p elb.Plan) bool {
	return len(p.Deregister) == 0 && p.HealthCheck == nil
}

// setSeen keeps g, just read, as what the target group holds.
func (s *bindingState) setSeen(now time.Time, g elb.TargetGroup) {
	g.Targets = slices.Clone(g.Targets)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = &seenGroup{at: now, group: g}
}

// seeApplied adds what a write changed to what the target group is known to hold.
func (s *bindingState) seeApplied(r elb.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil || (len(r.Registered) == 0 && len(r.Deregistered) == 0) {
		return
	}
	gone := make(map[elb.Target]bool, len(r.Deregistered))
	for _, t := range r.Deregistered {
		gone[t] = true
	}
	targets := slices.DeleteFunc(s.seen.group.Targets, func(o elb.Observed) bool { return gone[o.Target] })
	for _, t := range r.Registered {
		targets = append(targets, elb.Observed{Target: t, State: elb.StateInitial})
	}
	s.seen.group.Targets = targets
}

// forgetSeen makes the next sync read the targets.
func (s *bindingState) forgetSeen() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = nil
}
