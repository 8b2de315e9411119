package controller

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/sg"
)

// bindingState is what the controller remembers of one binding between syncs.
type bindingState struct {
	mu sync.Mutex
	// running is when the sync in progress started; zero when none is.
	running     time.Time
	lastSuccess time.Time

	healthy highWater
	// scope is the target group's VPC and load balancer, once a Describe has told them.
	scope      sg.Scope
	scopeKnown bool
	// rejected are targets AWS refused, tried again after rejectedRetryAfter.
	rejected map[elb.Target]rejection
	// quotaHit is when a registration last failed on the target quota, with the number of
	// targets registered then.
	quotaHit     time.Time
	quotaTargets int
	// lastDeferred and lastOverQuota are what the previous sync reported, so Events are
	// recorded when the number changes, not on every poll.
	lastDeferred, lastOverQuota int
	// seen is the target group as last read, with our changes since; nil when unknown.
	seen *seenGroup
}

type rejection struct {
	elb.Rejection
	at time.Time
}

func (c *Controller) state(name string) *bindingState {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.status[name]
	if !ok {
		st = &bindingState{}
		c.status[name] = st
	}
	return st
}

func (s *bindingState) observeHealthy(now time.Time, n int, window time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.healthy.observe(now, n, window)
	return s.healthy.high(now, window)
}

// rejectedRecently reports whether AWS rejected t within rejectedRetryAfter.
func (s *bindingState) rejectedRecently(t elb.Target, now time.Time) (elb.Rejection, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rejected[t]
	if !ok || now.Sub(r.at) > rejectedRetryAfter {
		return elb.Rejection{}, false
	}
	return r.Rejection, true
}

// quotaFull reports whether registrations should not be tried: the quota was hit a short while
// ago and no target has left since.
func (s *bindingState) quotaFull(now time.Time, current elb.TargetGroup) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quotaHit.IsZero() || now.Sub(s.quotaHit) > quotaRetryAfter {
		return false
	}
	return registeredTargets(current) >= s.quotaTargets
}

// remember keeps what an apply learned about rejected targets and the quota.
func (s *bindingState) remember(now time.Time, r elb.Result, current elb.TargetGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range r.Registered {
		delete(s.rejected, t)
	}
	for _, rj := range r.Rejected {
		if s.rejected == nil {
			s.rejected = map[elb.Target]rejection{}
		}
		s.rejected[rj.Target] = rejection{Rejection: rj, at: now}
	}
	switch {
	case len(r.OverQuota) > 0:
		s.quotaHit = now
		s.quotaTargets = registeredTargets(current) + len(r.Registered) - len(r.Deregistered)
	case len(r.Registered) > 0:
		s.quotaHit = time.Time{}
	}
}

// registeredTargets counts the targets that take up quota: all but those draining away.
func registeredTargets(tg elb.TargetGroup) int {
	n := 0
	for _, o := range tg.Targets {
		if o.State != elb.StateDraining {
			n++
		}
	}
	return n
}

func (c *Controller) setRunning(name string, started time.Time) {
	st := c.state(name)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.running = started
}

// Healthy returns an error when a sync has run for longer than SyncTimeout allows: the worker
// is wedged and only a restart helps. /healthz serves it.
func (c *Controller) Healthy() error {
	c.mu.Lock()
	names := make([]string, 0, len(c.status))
	for name := range c.status {
		names = append(names, name)
	}
	c.mu.Unlock()
	sort.Strings(names)
	now := c.opts.Clock.Now()
	for _, name := range names {
		st := c.state(name)
		st.mu.Lock()
		running := st.running
		st.mu.Unlock()
		if !running.IsZero() && now.Sub(running) > SyncTimeout+time.Minute {
			return fmt.Errorf("%s has been syncing for %s", name, now.Sub(running).Round(time.Second))
		}
	}
	return nil
}
