package controller

import "runtime"

// After a sync that read the whole target group, the controller asks Go for a collection.
//
// Go sizes its heap at twice what its last collection found live. When nothing changes, a read
// of the group (the response and its decoding: about 6 MB while it lasts at 5,000 targets) is
// most of what targetsync allocates, so collections land during reads, count the read as live,
// and the heap stayed sized for the node cache plus a read in flight until the next one. One
// collection after the read sizes it by what stays. It runs in the background, one at a time,
// so the next sync does not wait for it. BENCHMARKS.md has what it saves and costs.

// collectAfterRead starts a collection unless one is already under way.
func (c *Controller) collectAfterRead() {
	if !c.collecting.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer c.collecting.Store(false)
		runtime.GC()
	}()
}
