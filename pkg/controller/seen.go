package controller

import (
	"slices"
	"time"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
)

// A sync that answers a node joining or being deleted writes without reading first, when
// nothing it decides depends on what AWS holds now. It plans from the target group as the last
// read showed it, with the changes applied since:
//   - registering is idempotent and takes nothing out of service: at worst a target is sent
//     that is already there;
//   - the target of a node deleted from the API server goes whatever its health (the capacity
//     guard never holds it back: its machine is gone), so a fresh read could not change that
//     decision either. The never-empty rule still applies, checked against the same view.
//
// Everything else — taking out a node that still exists (the guard weighs it against the
// healthy targets now), a port move, a health-check change — is planned from a fresh read, as
// are the checks that guard it. The ownership check is the same either way (the tags). The sync
// after a change, which every change is followed by, reads.

// seenGroup is a binding's target group as last read, with the changes applied since.
type seenGroup struct {
	at    time.Time
	group elb.TargetGroup
}

// fromSeen returns the target group as last seen when that is younger than a resync period.
// The sync plans from it, and reads after all unless the plan is plannableFromSeen.
func (c *Controller) fromSeen(st *bindingState) (elb.TargetGroup, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.seen == nil || c.opts.Clock.Now().Sub(st.seen.at) >= c.opts.ResyncPeriod {
		return elb.TargetGroup{}, false
	}
	g := st.seen.group
	g.Targets = slices.Clone(st.seen.group.Targets)
	return g, true
}

// plannableFromSeen reports whether p changes something and does nothing but register targets
// and deregister the targets of nodes the API server no longer has.
func plannableFromSeen(p elb.Plan, snap informer.Snapshot) bool {
	if p.Empty() || p.HealthCheck != nil {
		return false
	}
	if len(p.Deregister) == 0 {
		return true
	}
	known := knownIPs(snap)
	return !slices.ContainsFunc(p.Deregister, func(t elb.Target) bool { return known[t.IP] })
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
