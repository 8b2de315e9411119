package integration

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/targetsync/targetsync/internal/testenv"
)

// BenchmarkNodeJoinToRegistered measures, with default settings, the time from a node's
// creation in the API server to its target being present in the target group: informer
// event, leading-edge sync, RegisterTargets against moto through the proxy.
func BenchmarkNodeJoinToRegistered(b *testing.B) {
	f := newFixture(b)
	f.ingress(30080)
	f.start()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		// A quiet period longer than --min-sync-interval, so the join is a lone change.
		time.Sleep(1100 * time.Millisecond)
		ip := fmt.Sprintf("10.1.%d.%d", i/250, 1+i%250)
		want := fmt.Sprintf("%s:30080", ip)
		b.StartTimer()
		if err := testenv.CreateNode(f.ctx, kube.Client, fmt.Sprintf("join-%d", i), ip); err != nil {
			b.Fatal(err)
		}
		for {
			got, err := f.aws.Targets(f.ctx, f.nlb.TargetGroupARN)
			if err != nil {
				b.Fatal(err)
			}
			if slices.Contains(got, want) {
				break
			}
		}
	}
}
