package controller

import "runtime/debug"

// After a sync that read the whole target group, the controller collects garbage and returns
// the freed memory to the OS.
//
// Go sizes its heap at twice what its last collection found live. When nothing changes, a read
// of the group (the response and its decoding: about 6 MB while it lasts at 5,000 targets) is
// most of what targetsync allocates, so collections land during reads, count the read as live,
// and the heap stayed sized for the node cache plus a read in flight until the next one. A
// collection after the read sizes it by what stays, and returning the freed pages at once,
// rather than leaving them to the runtime's background scavenger, keeps the resident memory
// there between reads instead of seconds later. It runs in the background, one at a time, so
// the next sync does not wait for it. BENCHMARKS.md has what it saves and costs.

// collectAfterRead starts a collection unless one is already under way.
func (c *Controller) collectAfterRead() {
	if !c.collecting.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer c.collecting.Store(false)
		debug.FreeOSMemory()
	}()
}
