package controller

import (
	"fmt"
	"sort"
	"time"
)

type status struct {
	lastSuccess time.Time
	lastErr     error
	// running is when the sync in progress started; zero when none is.
	running time.Time
}

func (c *Controller) setRunning(name string, started time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.status[name]
	s.running = started
	c.status[name] = s
}

// Healthy returns an error when a sync has run for longer than SyncTimeout allows: the worker
// is wedged and only a restart helps. /healthz serves it.
func (c *Controller) Healthy() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Clock.Now()
	for name, s := range c.status {
		if !s.running.IsZero() && now.Sub(s.running) > SyncTimeout+time.Minute {
			return fmt.Errorf("binding %s has been syncing for %s", name, now.Sub(s.running).Round(time.Second))
		}
	}
	return nil
}

func (c *Controller) setStatus(name string, out Outcome, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.status[name]
	s.lastErr = out.Err
	if out.Err == nil {
		s.lastSuccess = now
	}
	c.status[name] = s
}

// Ready returns nil when every binding has synced successfully within maxAge, and says which
// binding has not otherwise. /readyz serves it.
func (c *Controller) Ready(maxAge time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Clock.Now()
	names := make([]string, 0, len(c.bindings))
	for name := range c.bindings {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := c.status[name]
		switch {
		case s.lastSuccess.IsZero() && s.lastErr != nil:
			return fmt.Errorf("binding %s has not synced yet: %v", name, s.lastErr)
		case s.lastSuccess.IsZero():
			return fmt.Errorf("binding %s has not synced yet", name)
		case now.Sub(s.lastSuccess) > maxAge:
			return fmt.Errorf("binding %s last synced %s ago: %v", name, now.Sub(s.lastSuccess).Round(time.Second), s.lastErr)
		}
	}
	return nil
}
