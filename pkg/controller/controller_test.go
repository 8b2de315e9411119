package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
	"github.com/targetsync/targetsync/pkg/metrics"
)

const arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-http/0123456789abcdef"

type harness struct {
	ctrl    *Controller
	snaps   *fakeSnapshots
	groups  *fakeGroups
	clock   *clocktesting.FakeClock
	metrics *metrics.Metrics
	events  *record.FakeRecorder
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	h := &harness{
		snaps:   &fakeSnapshots{},
		groups:  &fakeGroups{group: elb.TargetGroup{ARN: arn, Name: "web-http", TargetType: "ip", Port: 30080}},
		clock:   clocktesting.NewFakeClock(time.Unix(1_700_000_000, 0)),
		metrics: metrics.New(prometheus.NewRegistry()),
		events:  record.NewFakeRecorder(100),
	}
	if opts.ResyncPeriod == 0 {
		opts.ResyncPeriod = time.Minute
	}
	opts.Clock, opts.Metrics, opts.Recorder = h.clock, h.metrics, h.events
	opts.ClusterName = "test"
	b := Binding{Name: "http", TargetGroupARN: arn, HealthCheckPath: "/healthz"}
	h.ctrl = New([]Binding{b}, h.snaps, func(Binding) TargetGroups { return h.groups }, opts)
	t.Cleanup(h.ctrl.queue.ShutDown)
	return h
}

// process runs one processNext and fails the test if it does not return by the deadline.
func (h *harness) process(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		h.ctrl.processNext(context.Background())
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("processNext did not return: the worker is held")
	}
}

// release steps the fake clock until the worker that closes done returns from its hold. It
// steps repeatedly because the worker may not have set its timer yet.
func (h *harness) release(t *testing.T, done <-chan struct{}) {
	t.Helper()
	waitFor(t, "the hold to end", func() bool {
		select {
		case <-done:
			return true
		default:
			h.clock.Step(100 * time.Millisecond)
			return false
		}
	})
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling interval
	}
}

func TestChangesDuringTheHoldAreMergedAndALoneChangeSyncsAtOnce(t *testing.T) {
	h := newHarness(t, Options{MinSyncInterval: time.Second})
	h.snaps.set(snapshot(30080, "10.0.0.1"), nil)

	// Leading edge: the first change syncs at once and registers the node.
	h.ctrl.Trigger()
	done := make(chan struct{})
	go func() { h.ctrl.processNext(context.Background()); close(done) }()
	waitFor(t, "the first sync", func() bool { _, a := h.groups.counts(); return a == 1 })
	if d, _ := h.groups.counts(); d != 1 {
		t.Fatalf("after the first change: %d describes, want 1", d)
	}

	// A burst arrives while the binding is held: nothing syncs until the interval passes...
	h.snaps.set(snapshot(30080, "10.0.0.1", "10.0.0.2", "10.0.0.3"), nil)
	for range 5 {
		h.ctrl.Trigger()
	}
	select {
	case <-done:
		t.Fatal("the worker returned before the hold passed")
	default:
	}
	if d, _ := h.groups.counts(); d != 1 {
		t.Fatalf("synced %d times during the hold, want 1", d)
	}
	h.release(t, done)
	// ...and then the five triggers and the verification are one queued sync.
	if n := h.ctrl.queue.Len(); n != 1 {
		t.Fatalf("queued after the hold = %d, want the merged 1", n)
	}
	done = make(chan struct{})
	go func() { h.ctrl.processNext(context.Background()); close(done) }()
	h.release(t, done)
	// It only registers, so it writes without reading the targets first.
	if d, a := h.groups.counts(); d != 1 || a != 2 {
		t.Fatalf("after the merged sync: %d describes, %d applies; want 1, 2", d, a)
	}
	if got := len(h.groups.applies[1].Register); got != 2 {
		t.Errorf("merged sync registered %d targets, want 2", got)
	}

	// The verification sync finds nothing to do and does not hold.
	h.process(t)
	if d, a := h.groups.counts(); d != 2 || a != 2 {
		t.Fatalf("verification: %d describes, %d applies; want 2, 2", d, a)
	}
	if n := h.ctrl.queue.Len(); n != 0 {
		t.Fatalf("queue after an empty sync = %d, want 0", n)
	}
	// A lone change after the quiet period is synced at once: process returns without the clock.
	h.ctrl.Trigger()
	h.process(t)
	if d, _ := h.groups.counts(); d != 3 {
		t.Fatalf("lone change: %d describes, want 3", d)
	}
}

func TestSync(t *testing.T) {
	notFound := &types.TargetGroupNotFoundException{Message: new("gone")}
	tests := []struct {
		name        string
		snap        informer.Snapshot
		snapErr     error
		current     []elb.Observed
		describeErr error
		dryRun      bool
		tags        map[string]string
		tagsErr     error
		wantResult  Result
		wantErr     string
		wantApplies int
	}{
		{name: "registers eligible nodes", snap: snapshot(30080, "10.0.0.1", "10.0.0.2"), wantResult: Success, wantApplies: 1},
		{name: "in sync applies nothing", snap: snapshot(30080, "10.0.0.1"), current: observed(30080, "healthy", "10.0.0.1"), wantResult: Success},
		{name: "missing service leaves targets alone",
			snapErr: &informer.ServiceError{Problem: "service not found"}, current: observed(30080, "healthy", "10.0.0.1"),
			wantResult: Refused, wantErr: "service not found"},
		{name: "no eligible node never empties the group", snap: snapshot(30080), current: observed(30080, "healthy", "10.0.0.1", "10.0.0.2"),
			wantResult: Refused, wantErr: "no target"},
		{name: "dry run plans but applies nothing", snap: snapshot(30080, "10.0.0.1"), dryRun: true, wantResult: Success},
		{name: "target group gone is not retried", snap: snapshot(30080, "10.0.0.1"), describeErr: notFound, wantResult: NoRetry, wantErr: "gone"},
		{name: "AWS error is retried", snap: snapshot(30080, "10.0.0.1"), describeErr: errors.New("connection reset"), wantResult: Retry, wantErr: "reset"},
		{name: "informer error is retried, not refused", snap: snapshot(30080), snapErr: errors.New("list nodes: boom"), wantResult: Retry, wantErr: "boom"},
		{name: "another cluster's target group is never written", snap: snapshot(30080, "10.0.0.1"), tags: map[string]string{elb.TagCluster: "other"},
			wantResult: Refused, wantErr: "tagged targetsync.io/cluster=other"},
		{name: "own target group is written", snap: snapshot(30080, "10.0.0.1"), tags: map[string]string{elb.TagCluster: "test"},
			wantResult: Success, wantApplies: 1},
		{name: "tags unreadable: no write", snap: snapshot(30080, "10.0.0.1"), tagsErr: errors.New("throttled"), wantResult: Retry, wantErr: "throttled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.snaps.set(tt.snap, tt.snapErr)
			h.groups.group.Targets = tt.current
			h.groups.describeErr = tt.describeErr
			h.groups.tags, h.groups.tagsErr = tt.tags, tt.tagsErr
			out := h.ctrl.Sync(context.Background(), h.ctrl.bindings["http"], !tt.dryRun)
			if out.Result != tt.wantResult {
				t.Errorf("result = %q, want %q (err %v)", out.Result.Label(), tt.wantResult.Label(), out.Err)
			}
			if (tt.wantErr == "") != (out.Err == nil) || (out.Err != nil && !strings.Contains(out.Err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want one containing %q", out.Err, tt.wantErr)
			}
			if _, a := h.groups.counts(); a != tt.wantApplies {
				t.Errorf("applies = %d, want %d", a, tt.wantApplies)
			}
			if got := testutil.ToFloat64(h.metrics.Syncs.WithLabelValues("web-http", tt.wantResult.Label())); got != 1 {
				t.Errorf("syncs_total{result=%q} = %v, want 1", tt.wantResult.Label(), got)
			}
		})
	}
}

func TestSecondSyncAfterApplyMakesNoChange(t *testing.T) {
	h := newHarness(t, Options{})
	h.snaps.set(snapshot(30081, "10.0.0.1", "10.0.0.2"), nil)
	h.snaps.snap.HealthCheckPort = 30200
	h.groups.group.Targets = observed(30080, "healthy", "10.0.0.1", "10.0.0.3")
	b := h.ctrl.bindings["http"]

	first := h.ctrl.Sync(context.Background(), b, true)
	if first.Err != nil || first.Applied.Empty() {
		t.Fatalf("first sync: %+v", first)
	}
	second := h.ctrl.Sync(context.Background(), b, true)
	if !second.Plan.Empty() {
		t.Errorf("second sync planned %+v, want nothing", second.Plan)
	}
	if _, a := h.groups.counts(); a != 1 {
		t.Errorf("applies = %d, want 1", a)
	}
	if got := testutil.ToFloat64(h.metrics.TargetChanges.WithLabelValues("web-http", metrics.OpRegister)); got != 2 {
		t.Errorf("target_changes_total{op=register} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(h.metrics.TargetChanges.WithLabelValues("web-http", metrics.OpHealthCheck)); got != 1 {
		t.Errorf("target_changes_total{op=modify_health_check} = %v, want 1", got)
	}
}

func TestTerminalErrorsAreNotRetriedInAHotLoop(t *testing.T) {
	h := newHarness(t, Options{})
	h.snaps.set(snapshot(30080, "10.0.0.1"), nil)
	h.groups.describeErr = &types.TargetGroupNotFoundException{Message: new("gone")}
	h.ctrl.Trigger()
	h.process(t)
	if n := h.ctrl.queue.NumRequeues("http"); n != 0 {
		t.Errorf("requeues after a terminal error = %d, want 0", n)
	}

	h.groups.describeErr = errors.New("connection reset")
	h.ctrl.Trigger()
	h.process(t)
	if n := h.ctrl.queue.NumRequeues("http"); n != 1 {
		t.Errorf("requeues after a transient error = %d, want 1 (backoff)", n)
	}
}

func TestZeroResyncPeriodGetsTheDefault(t *testing.T) {
	c := New(nil, &fakeSnapshots{}, nil, Options{})
	if c.opts.ResyncPeriod != DefaultResyncPeriod {
		t.Errorf("ResyncPeriod = %s, want %s: zero would requeue every binding the moment it finished", c.opts.ResyncPeriod, DefaultResyncPeriod)
	}
}

// blockingGroups never answers a read until its context ends.
type blockingGroups struct{ fakeGroups }

func (b *blockingGroups) DescribeSettings(ctx context.Context, _ string) (elb.TargetGroup, error) {
	<-ctx.Done()
	return elb.TargetGroup{}, ctx.Err()
}

func (b *blockingGroups) DescribeTargets(ctx context.Context, _ elb.TargetGroup) (elb.TargetGroup, error) {
	<-ctx.Done()
	return elb.TargetGroup{}, ctx.Err()
}

func TestHealthyFailsWhenASyncHangsPastItsTimeout(t *testing.T) {
	h := newHarness(t, Options{})
	h.snaps.set(snapshot(30080, "10.0.0.1"), nil)
	blocked := &blockingGroups{}
	h.ctrl.groups = func(Binding) TargetGroups { return blocked }
	if err := h.ctrl.Healthy(); err != nil {
		t.Fatalf("healthy before any sync: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	h.ctrl.Trigger()
	go func() { h.ctrl.processNext(ctx); close(done) }()
	waitFor(t, "the sync to start", func() bool {
		h.ctrl.mu.Lock()
		defer h.ctrl.mu.Unlock()
		st := h.ctrl.status["http"]
		if st == nil {
			return false
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		return !st.running.IsZero()
	})
	if err := h.ctrl.Healthy(); err != nil {
		t.Errorf("unhealthy while a sync has just started: %v", err)
	}
	h.clock.Step(SyncTimeout + 2*time.Minute)
	if err := h.ctrl.Healthy(); err == nil {
		t.Error("healthy while a sync hangs far past its timeout")
	}
	cancel()
	<-done
	if err := h.ctrl.Healthy(); err != nil {
		t.Errorf("unhealthy after the sync ended: %v", err)
	}
}

// A sync that changes a few targets tells each node; one that changes many (a start, a burst)
// records only the Service's Event, so it does not queue hundreds of API writes.
func TestNodeEventsAreBoundedPerSync(t *testing.T) {
	ips := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("10.0.%d.%d", i/250, i%250+1))
		}
		return out
	}
	tests := []struct {
		name       string
		register   int
		wantEvents int // on Nodes
	}{
		{name: "one node", register: 1, wantEvents: 1},
		{name: "at the bound", register: maxNodeEvents, wantEvents: maxNodeEvents},
		{name: "over the bound", register: maxNodeEvents + 1, wantEvents: 0},
		{name: "a start of 1,000", register: 1000, wantEvents: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.events = record.NewFakeRecorder(2000)
			h.ctrl.opts.Recorder = h.events
			h.snaps.set(snapshot(30080, ips(tt.register)...), nil)
			out := h.ctrl.Sync(context.Background(), h.ctrl.bindings["http"], true)
			if out.Err != nil || len(out.Applied.Registered) != tt.register {
				t.Fatalf("sync: registered %d, err %v; want %d", len(out.Applied.Registered), out.Err, tt.register)
			}
			close(h.events.Events)
			var onNodes, onService int
			for e := range h.events.Events {
				switch {
				case strings.Contains(e, "TargetsRegistered Registered 10."):
					onNodes++
				case strings.Contains(e, fmt.Sprintf("TargetsRegistered Registered %d targets in target group web-http", tt.register)):
					onService++
				}
			}
			if onNodes != tt.wantEvents || onService != 1 {
				t.Errorf("Events: %d on Nodes, %d on the Service; want %d and 1", onNodes, onService, tt.wantEvents)
			}
		})
	}
}

// Rejections are told to the first maxNodeEvents nodes of a sync; the log has them all.
func TestRejectionEventsAreBoundedPerSync(t *testing.T) {
	for _, n := range []int{3, maxNodeEvents + 5} {
		t.Run(fmt.Sprint(n, " rejected"), func(t *testing.T) {
			h := newHarness(t, Options{})
			h.events = record.NewFakeRecorder(100)
			h.ctrl.opts.Recorder = h.events
			h.groups.rejectAll = true
			var ips []string
			for i := range n {
				ips = append(ips, fmt.Sprintf("10.0.0.%d", i+1))
			}
			h.snaps.set(snapshot(30080, ips...), nil)
			out := h.ctrl.Sync(context.Background(), h.ctrl.bindings["http"], true)
			if len(out.Applied.Rejected) != n {
				t.Fatalf("sync: %d rejected, want %d (err %v)", len(out.Applied.Rejected), n, out.Err)
			}
			close(h.events.Events)
			got := 0
			for e := range h.events.Events {
				if strings.Contains(e, "TargetRejected") {
					got++
				}
			}
			if want := min(n, maxNodeEvents); got != want {
				t.Errorf("%d TargetRejected Events, want %d", got, want)
			}
		})
	}
}
