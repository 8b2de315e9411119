package testenv

import "time"

// Call is one call through the proxy with its wall-clock times, for benchmarks: End-Start is
// the test AWS's own time for it (proxy and moto), without the caller's side.
type Call struct {
	Action     string
	Start, End time.Time
}

// Change is one target entering or leaving a target group, at the moment moto accepted it:
// from then on a DescribeTargetHealth shows it.
type Change struct {
	At         time.Time
	Target     string // ip:port
	Registered bool   // false: deregistered
}

func (p *Proxy) timeCall(action string, start time.Time) {
	end := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timed = append(p.timed, Call{Action: action, Start: start, End: end})
}

// Timed returns every call since the last ResetCounts, in the order they ended.
func (p *Proxy) Timed() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Call(nil), p.timed...)
}

// Changes returns the journal of Registered and Deregistered with the time of each entry.
func (p *Proxy) Changes() []Change {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Change(nil), p.changes...)
}

// ChangesSince returns the journal entries after the first n, so a poller reads only what is new.
func (p *Proxy) ChangesSince(n int) []Change {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n >= len(p.changes) {
		return nil
	}
	return append([]Change(nil), p.changes[n:]...)
}
