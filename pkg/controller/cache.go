package controller

import (
	"sync"
	"time"
)

// SlowReadTTL is how long reads of things that rarely change are reused: a target group's
// tags, the worker security groups a selector names, the VPC's CIDR blocks and the load
// balancer's private IPs. A write that fails drops them, so a change is seen at once.
const SlowReadTTL = 10 * time.Minute

// ttlCache keeps values read from AWS for a while, keyed by what they were read for.
type ttlCache[V any] struct {
	mu      sync.Mutex
	entries map[string]cached[V]
}

type cached[V any] struct {
	at  time.Time
	val V
}

// get returns the value for key, reading it with read when it is missing or older than ttl.
// When read fails the error is returned along with the stale value, if there is one, so the
// caller decides whether stale is good enough.
func (c *ttlCache[V]) get(key string, now time.Time, ttl time.Duration, read func() (V, error)) (V, bool, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < ttl {
		return e.val, true, nil
	}
	v, err := read()
	if err != nil {
		return e.val, ok, err
	}
	c.put(key, now, v)
	return v, true, nil
}

func (c *ttlCache[V]) put(key string, now time.Time, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cached[V]{}
	}
	c.entries[key] = cached[V]{at: now, val: v}
}

// peek returns the value for key as last read, however old, without reading.
func (c *ttlCache[V]) peek(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e.val, ok
}

// forget makes every entry stale, so the next get reads again; until a read succeeds, get and
// peek still answer with the old value.
func (c *ttlCache[V]) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		e.at = time.Time{}
		c.entries[k] = e
	}
}
