package testenv

import "sync"

// gate holds one call of an action until released.
type gate struct {
	held     chan struct{} // closed when a call has arrived and is being held
	released chan struct{} // closed by release
	once     sync.Once
	taken    bool // a call has arrived; later calls of the action pass
}

// Hold makes the next call of action block after it has been counted and before it is
// forwarded, until release is called or the proxy closes. It is the window a crash test needs:
// the code under test has sent the request and waits for the answer, and the test kills it
// there. On release the call goes on as usual (faults first, then moto), even if its caller is
// gone by then, because AWS carries out a request it has received in full; to make it look as
// if the request never arrived, FailNext(action, ConnectionReset(), 1) before releasing.
// Calls of action after the held one pass. A new Hold for the same action replaces a pending
// one. release may be called more than once; called before any call arrives it cancels the hold.
func (p *Proxy) Hold(action string) (release func()) {
	g := &gate{held: make(chan struct{}), released: make(chan struct{})}
	p.mu.Lock()
	p.holds[action] = g
	p.mu.Unlock()
	return func() {
		g.once.Do(func() { close(g.released) })
		p.mu.Lock()
		if p.holds[action] == g {
			delete(p.holds, action)
		}
		p.mu.Unlock()
	}
}

// Holding reports whether a call of action is being held right now.
func (p *Proxy) Holding(action string) bool {
	p.mu.Lock()
	g := p.holds[action]
	p.mu.Unlock()
	if g == nil || !g.isHeld() {
		return false
	}
	select {
	case <-g.released:
		return false
	default:
		return true
	}
}

// Held returns a channel that is closed once a call of action is held by the pending Hold, for
// a select with a deadline. It is nil, which blocks for ever, if no Hold for action is pending.
func (p *Proxy) Held(action string) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if g := p.holds[action]; g != nil {
		return g.held
	}
	return nil
}

func (g *gate) isHeld() bool {
	select {
	case <-g.held:
		return true
	default:
		return false
	}
}

// wait holds the call if a Hold for its action is pending. It returns false if the proxy closed
// while holding it.
func (p *Proxy) wait(action string) bool {
	p.mu.Lock()
	g := p.holds[action]
	if g == nil || g.taken || action == "" {
		p.mu.Unlock()
		return true
	}
	g.taken = true
	close(g.held)
	p.mu.Unlock()
	select {
	case <-g.released:
		return true
	case <-p.closed:
		return false
	}
}
