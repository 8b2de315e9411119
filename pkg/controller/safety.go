package controller

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
)

// The safety rules sit between plan and apply, so run, plan and every later path share them.

// checkNotEmpty refuses a plan that deregisters the last targets. An empty target group drops
// every connection, and the snapshot behind such a plan (no eligible node at all) is far more
// often a cluster-wide blip than an intent; the stale targets cost nothing while they stay.
func checkNotEmpty(p elb.Plan, current elb.TargetGroup) error {
	if len(p.Deregister) > 0 && len(p.Registered(current)) == 0 {
		return fmt.Errorf("%w: refusing to deregister all %d targets while no node is eligible", ErrWouldEmpty, len(p.Deregister))
	}
	return nil
}

// Capacity is the healthy-capacity guard, a PodDisruptionBudget for the target group: taking
// out targets of nodes that still exist never brings the healthy registered targets below
// ⌈(1 − MaxFraction) × H⌉, H being the highest healthy count seen within Window.
//
// Comparing with the recent high-water mark rather than with the count before each step is the
// point: steps a second apart would otherwise cascade to the same outage.
type Capacity struct {
	// MaxFraction is the share of the high-water mark that may be taken out; 1 turns the guard off.
	MaxFraction float64
	// Window is how long a healthy count is remembered.
	Window time.Duration
}

// Defaults of the guard.
const (
	DefaultMaxDeregisterFraction = 0.34
	DefaultCapacityWindow        = time.Minute
)

// Off reports whether the guard is turned off.
func (c Capacity) Off() bool { return c.MaxFraction >= 1 }

// Floor is the least number of healthy targets the guard keeps when the high-water mark is high.
func (c Capacity) Floor(high int) int {
	if c.Off() || high <= 0 {
		return 0
	}
	// Round away float noise first: (1-0.34)*50 is 33.000000000000004, and its ceiling must be 33.
	f := math.Round((1-c.MaxFraction)*float64(high)*1e6) / 1e6
	return int(math.Ceil(f))
}

// Guarded is what the capacity guard decided about a plan's deregistrations.
type Guarded struct {
	// Plan is the plan to apply: the input plan less the deferred deregistrations.
	Plan elb.Plan
	// Deferred are the deregistrations that wait until healthy capacity allows them.
	Deferred []elb.Target
	// Healthy is the number of healthy registered targets now, High the high-water mark and
	// Floor the least the guard keeps.
	Healthy, High, Floor int
}

// guard applies the capacity guard to p. Deregistrations that never wait:
//   - targets of nodes deleted from the API server (no node has the IP): their machines are gone;
//   - targets that are not healthy: they carry no traffic to protect;
//   - the old port of a node whose NodePort moved: nothing serves the old port any more.
//
// The others — cordoned, excluded, tainted, deselected, NotReady in remove mode — take the
// healthy count down to the floor at most, in address order; the rest wait. Registrations are
// never held back, so replacements turning healthy make room at once.
func (c Capacity) guard(p elb.Plan, current elb.TargetGroup, snap informer.Snapshot, high int) Guarded {
	healthy := healthyTargets(current)
	g := Guarded{Plan: p, Healthy: healthy, High: max(high, healthy)}
	if c.Off() || len(p.Deregister) == 0 {
		return g
	}
	g.Floor = c.Floor(g.High)

	state := make(map[elb.Target]string, len(current.Targets))
	for _, o := range current.Targets {
		state[o.Target] = o.State
	}
	known, wanted := knownIPs(snap), targetIPs(snap)

	allowed := healthy - g.Floor
	var keep []elb.Target
	for _, t := range p.Deregister { // sorted by address: the order is stable from sync to sync
		exempt := !known[t.IP] || state[t] != elb.StateHealthy || wanted[t.IP]
		switch {
		case exempt:
			keep = append(keep, t)
		case allowed > 0:
			allowed--
			keep = append(keep, t)
		default:
			g.Deferred = append(g.Deferred, t)
		}
	}
	g.Plan.Deregister = keep
	return g
}

// knownIPs are the addresses of the nodes the API server has, targets or not.
func knownIPs(snap informer.Snapshot) map[netip.Addr]bool {
	known := make(map[netip.Addr]bool, len(snap.Targets)+len(snap.Skipped))
	for _, n := range slices.Concat(snap.Targets, snap.Skipped) {
		if n.IP.IsValid() {
			known[n.IP] = true
		}
	}
	return known
}

// targetIPs are the addresses of the nodes that are targets.
func targetIPs(snap informer.Snapshot) map[netip.Addr]bool {
	ips := make(map[netip.Addr]bool, len(snap.Targets))
	for _, n := range snap.Targets {
		ips[n.IP] = true
	}
	return ips
}

// healthyTargets counts the registered targets AWS reports healthy.
func healthyTargets(tg elb.TargetGroup) int {
	n := 0
	for _, o := range tg.Targets {
		if o.State == elb.StateHealthy {
			n++
		}
	}
	return n
}

// highWater remembers healthy counts for one window and answers with the highest.
type highWater struct {
	seen []sample
}

type sample struct {
	at    time.Time
	count int
}

// observe records count at now and forgets samples older than window.
func (h *highWater) observe(now time.Time, count int, window time.Duration) {
	cut := 0
	for cut < len(h.seen) && now.Sub(h.seen[cut].at) > window {
		cut++
	}
	h.seen = append(h.seen[cut:], sample{at: now, count: count})
}

// high is the highest count observed within window of now.
func (h *highWater) high(now time.Time, window time.Duration) int {
	m := 0
	for _, s := range h.seen {
		if now.Sub(s.at) <= window {
			m = max(m, s.count)
		}
	}
	return m
}
