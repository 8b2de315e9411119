package integration

import (
	"fmt"
	"testing"
	"time"

	"github.com/targetsync/targetsync/internal/testenv"
)

// The idle cost of a binding: with nothing changing, each resync reads the target group once
// (DescribeTargetGroups) and its targets once (DescribeTargetHealth), re-reads the tags only
// every ten minutes and writes nothing. Counted between two scrapes that each follow a finished
// sync; one sync may be in flight when the count ends.
func TestIdleResyncCostsOneReadOfEach(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.221")
	f.node("w2", "10.0.1.222")
	_, addr := f.startMetered("--resync-period", "1s", "--min-sync-interval", "100ms")
	f.waitTargets(testenv.Expect(30080, "10.0.1.221", "10.0.1.222"))
	f.waitSettled(addr)
	syncs0 := syncs(scrape(t, addr), "web-http")
	proxy.ResetCounts()
	eventually(t, 30*time.Second, "four resyncs", func() (bool, string) {
		s := syncs(scrape(t, addr), "web-http")
		return s >= syncs0+4, fmt.Sprintf("%v resyncs", s-syncs0)
	})
	c := proxy.Counts()
	resyncs := int(syncs(scrape(t, addr), "web-http") - syncs0)
	t.Logf("%d resyncs made %v", resyncs, c)
	for action, most := range map[string]int{
		"DescribeTargetGroups": resyncs + 1,
		"DescribeTargetHealth": resyncs + 1,
		"DescribeTags":         0,
	} {
		if c[action] > most {
			t.Errorf("%s called %d times in %d resyncs, want at most %d", action, c[action], resyncs, most)
		}
	}
	if c["DescribeTargetHealth"] < resyncs-1 {
		t.Errorf("DescribeTargetHealth called %d times in %d resyncs: the targets are not being read", c["DescribeTargetHealth"], resyncs)
	}
	for action, n := range c {
		switch action {
		case "DescribeTargetGroups", "DescribeTargetHealth":
		default:
			t.Errorf("idle resyncs called %s %d times", action, n)
		}
	}
	if n := writes(); n != 0 {
		t.Errorf("idle resyncs made %d writes: %v", n, c)
	}
}
