package controller

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
)

// Which changes are written from the target group as last read, and which read it first
// (seen.go). Every case starts from three targets, healthy unless said, read just before
// the change, in a group whose health check runs every 30 s.
func TestWhatIsPlannedWithoutAReadFirst(t *testing.T) {
	cordoned := func(s informer.Snapshot, ip string) informer.Snapshot {
		a := netip.MustParseAddr(ip)
		s.Targets = slices.DeleteFunc(s.Targets, func(n informer.Node) bool { return n.IP == a })
		s.Skipped = append(s.Skipped, informer.Node{Name: "node-" + ip, IP: a, Reason: "cordoned", Ready: true})
		return s
	}
	withHealthCheck := func(s informer.Snapshot, port int32) informer.Snapshot {
		s.HealthCheckPort = port
		return s
	}
	cases := []struct {
		name string
		snap informer.Snapshot
		// age is how long after the last read the change comes.
		age time.Duration
		// unhealthyAtRead are the targets the last read found unhealthy; unhealthySince those
		// AWS has found unhealthy since.
		unhealthyAtRead, unhealthySince []string
		// intervalUnknown leaves the group's health-check interval out, as zero.
		intervalUnknown  bool
		wantReads        int
		wantRegistered   []string
		wantDeregistered []string
		wantErr          error
	}{
		{name: "a node joins", snap: snapshot(30080, "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"),
			wantRegistered: []string{"10.0.0.4:30080"}},
		{name: "a node is deleted", snap: snapshot(30080, "10.0.0.2", "10.0.0.3"),
			wantDeregistered: []string{"10.0.0.1:30080"}},
		{name: "a node joins and another is deleted", snap: snapshot(30080, "10.0.0.2", "10.0.0.3", "10.0.0.4"),
			wantRegistered: []string{"10.0.0.4:30080"}, wantDeregistered: []string{"10.0.0.1:30080"}},
		// The never-empty rule holds on the view as on a read: nothing is written.
		{name: "every node is deleted", snap: snapshot(30080), wantErr: ErrWouldEmpty},

		// A node that still exists leaves when the capacity guard lets it go on a view younger
		// than one health-check interval.
		{name: "a node is cordoned", snap: cordoned(snapshot(30080, "10.0.0.1", "10.0.0.2", "10.0.0.3"), "10.0.0.1"),
			wantDeregistered: []string{"10.0.0.1:30080"}},
		{name: "a node is deleted and another cordoned", snap: cordoned(snapshot(30080, "10.0.0.2", "10.0.0.3"), "10.0.0.2"),
			wantDeregistered: []string{"10.0.0.1:30080", "10.0.0.2:30080"}},

		// Otherwise the guard weighs it against the healthy targets as AWS reports them now.
		{name: "a node is cordoned a health-check interval after the last read", snap: cordoned(snapshot(30080, "10.0.0.1", "10.0.0.2", "10.0.0.3"), "10.0.0.1"),
			age: 30 * time.Second, wantReads: 1, wantDeregistered: []string{"10.0.0.1:30080"}},
		{name: "a node is cordoned after two targets turned unhealthy unseen", snap: cordoned(snapshot(30080, "10.0.0.1", "10.0.0.2", "10.0.0.3"), "10.0.0.1"),
			age: 30 * time.Second, unhealthySince: []string{"10.0.0.2", "10.0.0.3"}, wantReads: 1},
		{name: "a node is cordoned in a group whose health-check interval is not known", snap: cordoned(snapshot(30080, "10.0.0.1", "10.0.0.2", "10.0.0.3"), "10.0.0.1"),
			intervalUnknown: true, wantReads: 1, wantDeregistered: []string{"10.0.0.1:30080"}},
		{name: "a node is cordoned whose target was last read unhealthy", snap: cordoned(snapshot(30080, "10.0.0.1", "10.0.0.2", "10.0.0.3"), "10.0.0.1"),
			unhealthyAtRead: []string{"10.0.0.1"}, wantReads: 1, wantDeregistered: []string{"10.0.0.1:30080"}},
		{name: "two nodes are cordoned and the guard holds one back", snap: cordoned(cordoned(snapshot(30080, "10.0.0.1", "10.0.0.2", "10.0.0.3"), "10.0.0.1"), "10.0.0.2"),
			wantReads: 1, wantDeregistered: []string{"10.0.0.1:30080"}},
		{name: "the traffic NodePort moves", snap: snapshot(30081, "10.0.0.1", "10.0.0.2", "10.0.0.3"),
			wantReads: 1, wantRegistered: []string{"10.0.0.1:30081", "10.0.0.2:30081", "10.0.0.3:30081"},
			wantDeregistered: []string{"10.0.0.1:30080", "10.0.0.2:30080", "10.0.0.3:30080"}},
		{name: "a node is deleted and the health check moves", snap: withHealthCheck(snapshot(30080, "10.0.0.2", "10.0.0.3"), 30201),
			wantReads: 1, wantDeregistered: []string{"10.0.0.1:30080"}},
		{name: "a node is deleted a resync period after the last read", snap: snapshot(30080, "10.0.0.2", "10.0.0.3"),
			age: time.Minute, wantReads: 1, wantDeregistered: []string{"10.0.0.1:30080"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{ResyncPeriod: time.Minute, Capacity: Capacity{MaxFraction: 0.34, Window: time.Minute}})
			b := h.ctrl.Bindings()[0]
			sync := func() Outcome { return h.ctrl.Sync(context.Background(), b, true) }
			if !tc.intervalUnknown {
				h.groups.group.HealthCheckInterval = 30 * time.Second
			}
			h.snaps.set(snapshot(30080, "10.0.0.1", "10.0.0.2", "10.0.0.3"), nil)
			sync()
			h.groups.turnHealthy()
			h.groups.setState(elb.StateUnhealthy, tc.unhealthyAtRead...)
			h.clock.Step(time.Second)
			if out := sync(); out.Err != nil || !out.InSync() {
				t.Fatalf("setup: %v, in sync %v", out.Err, out.InSync())
			}
			before, applies := h.groups.counts()
			h.groups.setState(elb.StateUnhealthy, tc.unhealthySince...)

			h.snaps.set(tc.snap, nil)
			h.clock.Step(tc.age)
			out := sync()
			if !errors.Is(out.Err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", out.Err, tc.wantErr)
			}
			reads, nowApplies := h.groups.counts()
			if got := reads - before; got != tc.wantReads {
				t.Errorf("%d reads of the targets before the write, want %d", got, tc.wantReads)
			}
			if got := targetStrings(out.Applied.Registered); !slices.Equal(got, tc.wantRegistered) {
				t.Errorf("registered %v, want %v", got, tc.wantRegistered)
			}
			if got := targetStrings(out.Applied.Deregistered); !slices.Equal(got, tc.wantDeregistered) {
				t.Errorf("deregistered %v, want %v", got, tc.wantDeregistered)
			}
			if tc.wantErr != nil {
				if nowApplies != applies {
					t.Errorf("%d writes after a refused plan", nowApplies-applies)
				}
				return
			}

			// The sync after a change reads, and finds the target group as the change left it.
			before = reads
			if out := sync(); out.Err != nil || !out.Plan.Empty() {
				t.Errorf("sync after the change: %v, plan %+v; want nothing to do", out.Err, out.Plan)
			}
			if reads, _ := h.groups.counts(); reads != before+1 {
				t.Errorf("the sync after the change made %d reads of the targets, want 1", reads-before)
			}
		})
	}
}

func targetStrings(ts []elb.Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, netip.AddrPortFrom(t.IP, uint16(t.Port)).String())
	}
	slices.Sort(out)
	return out
}
