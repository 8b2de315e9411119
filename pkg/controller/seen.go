package controller

import (
	"slices"
	"time"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
)

// A sync that answers a node's change may write without reading first. It plans from the
// target group as the last read showed it, with the changes applied since, when that read is as
// good as a fresh one for what it decides:
//   - registering is idempotent and takes nothing out of service: at worst a target is sent
//     that is already there;
//   - the target of a node deleted from the API server goes whatever its health (the capacity
//     guard never holds it back: its machine is gone), so a fresh read could not change that
//     decision either. The never-empty rule still applies, checked against the same view;
//   - the healthy target of a node that still exists but is no longer eligible (cordoned,
//     tainted, excluded, NotReady in remove mode) goes when the last read is younger than one
//     health-check interval of the group and the capacity guard lets it go on that view. AWS
//     changes a target's health only when a health check completes, after several in a row
//     agree; a view younger than one interval is at most one check behind a fresh read, which
//     is itself one check away from changing. The deregistrations this binding made since the
//     read are in the view, so steps taken one after another are counted against the floor.
//
// Everything else is planned from a fresh read: the target of a node that still exists when
// the view is older than one interval or shows it unhealthy, initial or draining (its health
// may have changed since), a deregistration the guard would hold back on the view (the targets
// healthy now may allow it), a port move, a health-check change, and anything once the view is
// a resync period old. The ownership check is the same either way (the tags). The sync after a
// change, which every change is followed by, reads.

// seenGroup is a binding's target group as last read, with the changes applied since.
type seenGroup struct {
	at    time.Time
	group elb.TargetGroup
}

// fromSeen returns the target group as last seen, and how long ago it was read, when that is
// younger than a resync period. The sync plans from it, and reads after all unless the plan is
// plannableFromSeen.
func (c *Controller) fromSeen(st *bindingState) (elb.TargetGroup, time.Duration, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.seen == nil {
		return elb.TargetGroup{}, 0, false
	}
	age := c.opts.Clock.Now().Sub(st.seen.at)
	if age >= c.opts.ResyncPeriod {
		return elb.TargetGroup{}, 0, false
	}
	g := st.seen.group
	g.Targets = slices.Clone(st.seen.group.Targets)
	return g, age, true
}

// plannableFromSeen reports whether p, planned from seen, a view of the target group read age
// ago, changes something and may be written without reading first: it leaves the health check
// alone, and every target it takes out belongs to a node the API server no longer has or,
// while the view is younger than one health-check interval, is the healthy target of a node
// that is no longer eligible, on the port it still serves. Whether the capacity guard lets
// those go on this view is checked once the guard has run.
func plannableFromSeen(p elb.Plan, snap informer.Snapshot, seen elb.TargetGroup, age time.Duration) bool {
	if p.Empty() || p.HealthCheck != nil {
		return false
	}
	if len(p.Deregister) == 0 {
		return true
	}
	known, wanted := knownIPs(snap), targetIPs(snap)
	healthy := make(map[elb.Target]bool, len(seen.Targets))
	for _, o := range seen.Targets {
		healthy[o.Target] = o.State == elb.StateHealthy
	}
	fresh := age < seen.HealthCheckInterval
	for _, t := range p.Deregister {
		switch {
		case !known[t.IP]:
			// a deleted node's: it goes whatever the view says
		case fresh && !wanted[t.IP] && healthy[t]:
			// an ineligible node's, counted against the guard's floor on a recent view
		default:
			return false
		}
	}
	return true
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
