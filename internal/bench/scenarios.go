package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/targetsync/targetsync/internal/fakenode"
	"github.com/targetsync/targetsync/internal/testenv"
)

func target(i int) string { return fmt.Sprintf("%s:%d", fakenode.IP(i), trafficPort) }

// waitChange waits until the journal from index from on shows target registered (or
// deregistered) and returns when moto accepted it.
func (b *bench) waitChange(ctx context.Context, p *process, from int, target string, registered bool) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		for _, c := range b.proxy.ChangesSince(from) {
			if c.Target == target && c.Registered == registered {
				return c.At, nil
			}
		}
		if err := p.exited(); err != nil {
			return time.Time{}, err
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s not in the journal within %s: %w", target, timeout, errTimeout)
		}
		if err := pause(ctx, time.Millisecond); err != nil {
			return time.Time{}, err
		}
	}
}

// waitRegistered waits until n registrations are in the journal and returns the times of the
// first and the n-th.
func (b *bench) waitRegistered(ctx context.Context, p *process, n int) (first, last time.Time, err error) {
	deadline := time.Now().Add(timeout)
	seen := 0
	for {
		for _, c := range b.proxy.ChangesSince(seen) {
			seen++
			if !c.Registered {
				continue
			}
			if first.IsZero() {
				first = c.At
			}
			if n--; n == 0 {
				return first, c.At, nil
			}
		}
		if err := p.exited(); err != nil {
			return first, last, err
		}
		if time.Now().After(deadline) {
			return first, last, fmt.Errorf("%d registrations missing after %s: %w", n, timeout, errTimeout)
		}
		if err := pause(ctx, 5*time.Millisecond); err != nil {
			return first, last, err
		}
	}
}

// coldStarts starts the binary o.ColdStarts times against an empty target group, each time
// from nothing, and times its first sync. The last process is left running for the other
// scenarios.
func (b *bench) coldStarts(ctx context.Context) (*process, error) {
	var done, first, synced, peak, cpu []float64
	var p *process
	var calls map[string]int
	for k := range b.o.ColdStarts {
		arn := b.nlb.TargetGroupARN
		if k < b.o.ColdStarts-1 {
			var err error
			if arn, err = b.aws.CreateTargetGroup(ctx, fmt.Sprintf("bench-cold-%d", k), b.nlb.VpcID, trafficPort); err != nil {
				return nil, err
			}
		}
		b.proxy.ResetCounts()
		var err error
		if p, err = b.start(arn, fmt.Sprintf("cold-start-%d", k)); err != nil {
			return nil, err
		}
		f, last, err := b.waitRegistered(ctx, p, b.o.Nodes)
		if err != nil {
			p.stop()
			return nil, err
		}
		u, err := p.usage()
		if err != nil {
			p.stop()
			return nil, err
		}
		s := p.cachesSynced()
		if s.IsZero() {
			p.stop()
			return nil, fmt.Errorf("no \"caches synced\" line in %s", p.logFile.Name())
		}
		calls = b.proxy.Counts()
		done = append(done, ms(last.Sub(s)))
		first = append(first, ms(f.Sub(p.started)))
		synced = append(synced, ms(s.Sub(p.started)))
		peak = append(peak, mib(u.PeakRSS))
		cpu = append(cpu, u.CPU)
		fmt.Fprintf(b.o.Log, "cold start %d: caches synced %.0f ms after exec, first sync done %.0f ms later, peak RSS %.1f MiB, %v\n",
			k+1, synced[k], done[k], peak[k], calls)
		if k < b.o.ColdStarts-1 {
			p.stop()
		}
	}
	b.res.Rows = append(b.res.Rows, Row{
		Scenario: "cold start", Samples: len(done),
		P50ms: percentile(done, 50), P99ms: percentile(done, 99),
		Calls: perEvent(calls, 1), CallsPer: "start",
		PeakRSSMiB: percentile(peak, 50), CPUSeconds: percentile(cpu, 50),
		Note: fmt.Sprintf("caches synced → all %d registered; exec → caches synced %.0f ms, exec → first target %.0f ms (medians); peak RSS %.1f–%.1f MiB",
			b.o.Nodes, percentile(synced, 50), percentile(first, 50), slices.Min(peak), slices.Max(peak)),
	})
	return p, p.waitQuiet(ctx, 0, timeout)
}

// idle counts what o.IdleResyncs resyncs with nothing changing cost. The window starts and
// ends while no sync is talking to AWS, so it holds every call of the syncs it counts and no
// call of a sync it does not.
func (b *bench) idle(ctx context.Context, p *process) error {
	if err := b.awsQuiet(ctx); err != nil {
		return err
	}
	b.proxy.ResetCounts()
	u0, err := p.usage()
	if err != nil {
		return err
	}
	m, err := p.scrape(ctx, metricSyncs)
	if err != nil {
		return err
	}
	// Not a word to the binary meanwhile: scraping its metrics costs it CPU too.
	t0 := time.Now()
	if err := pause(ctx, time.Duration(b.o.IdleResyncs)*b.o.Resync+b.o.Resync/2); err != nil {
		return err
	}
	if err := b.awsQuiet(ctx); err != nil {
		return err
	}
	u1, err := p.usage()
	if err != nil {
		return err
	}
	elapsed := time.Since(t0)
	cpu := u1.CPU - u0.CPU
	m1, err := p.scrape(ctx, metricSyncs)
	if err != nil {
		return err
	}
	resyncs := int(m1[metricSyncs] - m[metricSyncs])
	if resyncs < 1 {
		return fmt.Errorf("no resync in %s of idling", elapsed)
	}
	fmt.Fprintf(b.o.Log, "idle: %d resyncs in %s\n", resyncs, elapsed.Round(time.Millisecond))
	b.res.Rows = append(b.res.Rows, Row{
		Scenario: "idle", Samples: resyncs,
		Calls: perEvent(b.proxy.Counts(), resyncs), CallsPer: "resync",
		PeakRSSMiB: mib(u1.PeakRSS), RSSMiB: mib(u1.RSS), AnonMiB: mib(u1.Anon), CPUSeconds: cpu,
		Note: fmt.Sprintf("%d resyncs of %s, nothing changing, metrics not scraped: %.1f millicores", resyncs, b.o.Resync, cpu/elapsed.Seconds()*1000),
	})
	return nil
}

// awsQuiet waits until no call is in flight at the test AWS and the last one ended quietGap
// ago or more: a sync that called AWS has then been counted in the binary's metrics. Without it
// a window that ends while a resync reads the group counts the resync's calls but not the
// resync. It asks the proxy, never the binary.
func (b *bench) awsQuiet(ctx context.Context) error {
	deadline := time.Now().Add(timeout)
	for {
		started := 0
		for _, n := range b.proxy.Counts() {
			started += n
		}
		ended := b.proxy.Timed()
		if started == len(ended) && (len(ended) == 0 || time.Since(ended[len(ended)-1].End) >= quietGap) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the test AWS was never quiet for %s within %s", quietGap, timeout)
		}
		if err := pause(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

// quietGap is how long after its last AWS call a sync has surely ended and been counted: what
// is left of it then is a plan and a metric update.
const quietGap = 200 * time.Millisecond

// heartbeat has o.Heartbeat nodes re-post their status every o.HeartbeatEvery, as kubelets do.
func (b *bench) heartbeat(ctx context.Context, p *process) error {
	list, err := b.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	nodes := list.Items[:b.o.Heartbeat]
	ptrs := make([]*corev1.Node, 0, len(nodes))
	for i := range nodes {
		ptrs = append(ptrs, &nodes[i])
	}
	b.proxy.ResetCounts()
	u0, err := p.usage()
	if err != nil {
		return err
	}
	t0 := time.Now()
	for r := range b.o.HeartbeatRounds {
		if err := heartbeat(ctx, b.client, ptrs, b.o.Workers); err != nil {
			return err
		}
		if err := pause(ctx, time.Until(t0.Add(time.Duration(r+1)*b.o.HeartbeatEvery))); err != nil {
			return err
		}
	}
	u1, err := p.usage()
	if err != nil {
		return err
	}
	elapsed := time.Since(t0)
	cpu := u1.CPU - u0.CPU
	calls := b.proxy.Counts()
	b.res.Rows = append(b.res.Rows, Row{
		Scenario: fmt.Sprintf("heartbeats (%d nodes / %s)", b.o.Heartbeat, b.o.HeartbeatEvery), Samples: b.o.HeartbeatRounds,
		Calls: perEvent(calls, 1), CallsPer: elapsed.Round(time.Second).String(),
		PeakRSSMiB: mib(u1.PeakRSS), RSSMiB: mib(u1.RSS), AnonMiB: mib(u1.Anon), CPUSeconds: cpu,
		Note: fmt.Sprintf("%.1f millicores over %s, resyncs included; %d writes", cpu/elapsed.Seconds()*1000, elapsed.Round(time.Second), writes(calls)),
	})
	return nil
}

// A lone change the lone scenario times: what it does to the i-th node and what the target
// group must show after it.
type loneChange struct {
	name, verb string
	registered bool
	// timed is false for a change made only to get the node back for the next one.
	timed bool
	do    func(ctx context.Context, c kubernetes.Interface, i int) (time.Time, error)
}

var loneChanges = []loneChange{
	{name: "lone join", verb: "eligible → registered", registered: true, timed: true, do: createNode},
	{name: "lone cordon", verb: "cordoned → deregistered", registered: false, timed: true, do: cordonNode(true)},
	{name: "lone uncordon", registered: true, do: cordonNode(false)},
	{name: "lone leave", verb: "deleted → deregistered", registered: false, timed: true, do: deleteNode},
}

// lone times o.Lone nodes joining one at a time, each after a quiet period, then the same nodes
// cordoned one at a time, and, once uncordoned again, deleted one at a time.
func (b *bench) lone(ctx context.Context, p *process) error {
	for _, change := range loneChanges {
		b.proxy.ResetCounts()
		u0, err := p.usage()
		if err != nil {
			return err
		}
		var lat, trips []float64
		for j := range b.o.Lone {
			i := loneBase + j
			before, err := p.changes(ctx)
			if err != nil {
				return err
			}
			from := len(b.proxy.Changes())
			t0, err := change.do(ctx, b.client, i)
			if err != nil {
				return err
			}
			at, err := b.waitChange(ctx, p, from, target(i), change.registered)
			if err != nil {
				return err
			}
			lat = append(lat, ms(at.Sub(t0)))
			trips = append(trips, float64(roundTrips(b.proxy.Timed(), t0, at)))
			if err := p.waitQuiet(ctx, before, timeout); err != nil {
				return err
			}
		}
		if !change.timed {
			continue
		}
		u1, err := p.usage()
		if err != nil {
			return err
		}
		timed := b.proxy.Timed()
		fmt.Fprintf(b.o.Log, "%s: %d events, p50 %.1f ms\n", change.name, len(lat), percentile(lat, 50))
		b.res.Rows = append(b.res.Rows, Row{
			Scenario: change.name, Samples: len(lat), P50ms: percentile(lat, 50), P99ms: percentile(lat, 99),
			Calls: perEvent(b.proxy.Counts(), len(lat)), CallsPer: "event", RoundTrips: percentile(trips, 50),
			PeakRSSMiB: mib(u1.PeakRSS), RSSMiB: mib(u1.RSS), AnonMiB: mib(u1.Anon), CPUSeconds: u1.CPU - u0.CPU,
			Note: fmt.Sprintf("%s; min %.1f ms, max %.1f ms; AWS calls before the write: median %.0f, max %.0f; test AWS per call: %s",
				change.verb, slices.Min(lat), slices.Max(lat), percentile(trips, 50), slices.Max(trips), callTimes(timed)),
		})
		for action, v := range callMillis(timed) {
			b.res.AWSCallMillis[action] = v
		}
	}
	return nil
}

// burst times o.Burst nodes joining at once.
func (b *bench) burst(ctx context.Context, p *process) error {
	before, err := p.changes(ctx)
	if err != nil {
		return err
	}
	b.proxy.ResetCounts()
	u0, err := p.usage()
	if err != nil {
		return err
	}
	eligible, err := createNodes(ctx, b.client, burstBase, burstBase+b.o.Burst, b.o.Workers)
	if err != nil {
		return err
	}
	if _, _, err := b.waitRegistered(ctx, p, b.o.Burst); err != nil {
		return err
	}
	at := map[string]time.Time{}
	for _, c := range b.proxy.Changes() {
		if c.Registered {
			at[c.Target] = c.At
		}
	}
	var lat []float64
	for k, t0 := range eligible {
		lat = append(lat, ms(at[target(burstBase+k)].Sub(t0)))
	}
	if err := p.waitQuiet(ctx, before, timeout); err != nil {
		return err
	}
	u1, err := p.usage()
	if err != nil {
		return err
	}
	calls := b.proxy.Counts()
	b.res.Rows = append(b.res.Rows, Row{
		Scenario: fmt.Sprintf("burst of %d", b.o.Burst), Samples: len(lat), P50ms: percentile(lat, 50), P99ms: percentile(lat, 99),
		Calls: perEvent(calls, 1), CallsPer: "burst",
		PeakRSSMiB: mib(u1.PeakRSS), RSSMiB: mib(u1.RSS), AnonMiB: mib(u1.Anon), CPUSeconds: u1.CPU - u0.CPU,
		Note: fmt.Sprintf("each node: eligible → registered; %d nodes created %d at a time", b.o.Burst, b.o.Workers),
	})
	return nil
}

// roundTrips counts the AWS calls that started after the event at t0 and ended before the
// write that carried the change (the call in flight at `at`) started.
func roundTrips(calls []testenv.Call, t0, at time.Time) int {
	var write time.Time
	for _, c := range calls {
		if !c.Start.After(at) && !c.End.Before(at) {
			write = c.Start
		}
	}
	n := 0
	for _, c := range calls {
		if !c.Start.Before(t0) && !c.End.After(write) {
			n++
		}
	}
	return n
}

func writes(calls map[string]int) int {
	n := 0
	for a, c := range calls {
		switch a {
		case "RegisterTargets", "DeregisterTargets", "ModifyTargetGroup", "AddTags", "RemoveTags",
			"AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress", "CreateTags", "DeleteTags":
			n += c
		}
	}
	return n
}
