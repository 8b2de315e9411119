package controller

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/targetsync/targetsync/pkg/elb"
)

// A sync that answers a change reads only the targets before it writes; the settings are read
// at most once a resync period, and again at once after a failed read or write or a
// health-check change of our own.
func TestSettingsReadOncePerResyncPeriod(t *testing.T) {
	h := newHarness(t, Options{ResyncPeriod: time.Minute})
	b := h.ctrl.Bindings()[0]
	sync := func() Outcome {
		t.Helper()
		return h.ctrl.Sync(context.Background(), b, true)
	}
	reads := func() (int, int) {
		h.groups.mu.Lock()
		defer h.groups.mu.Unlock()
		return h.groups.settingsReads, h.groups.describes
	}
	check := func(when string, wantSettings, wantTargets int) {
		t.Helper()
		if s, d := reads(); s != wantSettings || d != wantTargets {
			t.Errorf("%s: %d settings reads and %d target reads, want %d and %d", when, s, d, wantSettings, wantTargets)
		}
	}

	h.snaps.set(snapshot(30080, "10.0.0.1"), nil)
	if out := sync(); out.Err != nil || len(out.Applied.Registered) != 1 {
		t.Fatalf("first sync: %v, registered %v", out.Err, out.Applied.Registered)
	}
	check("first sync", 1, 1)

	h.snaps.set(snapshot(30080, "10.0.0.1", "10.0.0.2"), nil)
	h.clock.Step(30 * time.Second)
	if out := sync(); out.Err != nil || len(out.Applied.Registered) != 1 {
		t.Fatalf("sync after a join: %v, registered %v", out.Err, out.Applied.Registered)
	}
	// Registrations alone are written without reading the targets (seen.go).
	check("a join within the resync period", 1, 1)

	h.snaps.set(snapshot(30080, "10.0.0.2"), nil)
	if out := sync(); out.Err != nil || len(out.Applied.Deregistered) != 1 {
		t.Fatalf("sync after a node was deleted: %v, deregistered %v", out.Err, out.Applied.Deregistered)
	}
	// So is a deleted node's deregistration.
	check("a node deleted within the resync period", 1, 1)

	h.clock.Step(31 * time.Second)
	sync()
	check("a resync period after the first read", 2, 2)

	h.groups.mu.Lock()
	h.groups.describeErr = errors.New("connection reset")
	h.groups.mu.Unlock()
	if out := sync(); out.Err == nil {
		t.Fatal("sync with a failing read succeeded")
	}
	h.groups.mu.Lock()
	h.groups.describeErr = nil
	h.groups.mu.Unlock()
	sync()
	check("the sync after a failed read", 3, 4)

	h.groups.mu.Lock()
	h.groups.applyErr = errors.New("throttled")
	h.groups.mu.Unlock()
	h.snaps.set(snapshot(30080, "10.0.0.1", "10.0.0.2", "10.0.0.3"), nil)
	if out := sync(); out.Err == nil {
		t.Fatal("sync with a failing write succeeded")
	}
	h.groups.mu.Lock()
	h.groups.applyErr = nil
	h.groups.mu.Unlock()
	sync()
	// The failed write was a registration, sent without a read; the failure drops both.
	check("the sync after a failed write", 4, 5)
}

// Neither the settings a sync reuses nor the targets a registration is planned from decide
// ownership: a target group tagged as another cluster's is refused on the tags, read as before,
// also when the change is a registration written without reading the targets.
func TestSettingsCacheKeepsTheOwnershipCheck(t *testing.T) {
	h := newHarness(t, Options{ResyncPeriod: time.Minute})
	b := h.ctrl.Bindings()[0]
	h.snaps.set(snapshot(30080, "10.0.0.1"), nil)
	h.ctrl.Sync(context.Background(), b, true)
	h.groups.mu.Lock()
	h.groups.tags = map[string]string{elb.TagCluster: "other"}
	h.groups.mu.Unlock()
	h.ctrl.tags.forget()
	h.snaps.set(snapshot(30080, "10.0.0.1", "10.0.0.2"), nil)
	out := h.ctrl.Sync(context.Background(), b, true)
	if !errors.Is(out.Err, ErrForeignOwner) {
		t.Fatalf("sync of a foreign target group: %v, want ErrForeignOwner", out.Err)
	}
	if n := len(h.groups.applies); n != 1 {
		t.Errorf("%d applies, want only the first sync's", n)
	}
}

// A sync that read the targets is followed by one collection (collect.go); a sync planned from
// the group as last seen, which allocates little, is not.
func TestACollectionFollowsAReadOfTheTargets(t *testing.T) {
	collections := 0
	h := newHarness(t, Options{ResyncPeriod: time.Minute, collect: func() { collections++ }})
	b := h.ctrl.Bindings()[0]
	step := func(when string, ips []string, want int) {
		t.Helper()
		h.snaps.set(snapshot(30080, ips...), nil)
		h.ctrl.queue.Add(b.Name)
		h.process(t)
		if collections != want {
			t.Errorf("%s: %d collections, want %d", when, collections, want)
		}
	}
	step("first sync, which reads", []string{"10.0.0.1"}, 1)
	step("the sync after it, which reads to verify", []string{"10.0.0.1"}, 2)
	step("a join, planned from the group as last seen", []string{"10.0.0.1", "10.0.0.2"}, 2)
}
