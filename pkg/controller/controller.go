package controller

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
	"github.com/targetsync/targetsync/pkg/metrics"
	"github.com/targetsync/targetsync/pkg/sg"
)

// Snapshotter takes a snapshot of what the cluster says a target group should hold.
type Snapshotter interface {
	Snapshot(q informer.Query) (informer.Snapshot, error)
}

// TargetGroups reads and changes target groups.
type TargetGroups interface {
	Describe(ctx context.Context, arn string) (elb.TargetGroup, error)
	Apply(ctx context.Context, arn string, p elb.Plan) (elb.Result, error)
}

var _ TargetGroups = (*elb.Client)(nil)

// SyncTimeout bounds one sync, AWS retries included, so a hung connection cannot stall a
// binding for good.
const SyncTimeout = 5 * time.Minute

// Options are the controller's settings and collaborators. Zero values get defaults where one
// makes sense.
type Options struct {
	// DryRun logs plans and applies nothing.
	DryRun bool
	// ResyncPeriod is how often a binding is synced when nothing changes.
	ResyncPeriod time.Duration
	// MinSyncInterval is the least time between two syncs of one binding.
	MinSyncInterval time.Duration
	// RetryBaseDelay and RetryMaxDelay bound the backoff after a failed sync.
	RetryBaseDelay, RetryMaxDelay time.Duration

	// SecurityGroups, when set, turns on management of the worker security-group rules.
	SecurityGroups *SecurityGroups

	Logger   *zap.Logger
	Metrics  *metrics.Metrics
	Recorder record.EventRecorder
	Clock    clock.WithTicker
}

// Controller keeps each binding's target group equal to the cluster.
type Controller struct {
	opts     Options
	snap     Snapshotter
	groups   func(Binding) TargetGroups
	bindings map[string]Binding
	queue    workqueue.TypedRateLimitingInterface[string]
	log      *zap.Logger

	mu     sync.Mutex
	status map[string]status
}

// New returns a controller for bindings. groups returns the AWS client of a binding's target group.
func New(bindings []Binding, snap Snapshotter, groups func(Binding) TargetGroups, opts Options) *Controller {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Recorder == nil {
		opts.Recorder = &record.FakeRecorder{}
	}
	if opts.RetryBaseDelay == 0 {
		opts.RetryBaseDelay = time.Second
	}
	if opts.RetryMaxDelay == 0 {
		opts.RetryMaxDelay = 5 * time.Minute
	}
	c := &Controller{
		opts:     opts,
		snap:     snap,
		groups:   groups,
		bindings: make(map[string]Binding, len(bindings)),
		log:      opts.Logger,
		status:   make(map[string]status, len(bindings)),
	}
	for _, b := range bindings {
		c.bindings[b.Name] = b
	}
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](opts.RetryBaseDelay, opts.RetryMaxDelay),
		workqueue.TypedRateLimitingQueueConfig[string]{Clock: opts.Clock})
	return c
}

// Trigger asks for every binding to be synced. It never blocks: a binding already waiting is
// not queued twice, and one being synced is synced once more afterwards. Informer event
// handlers call it.
func (c *Controller) Trigger() {
	for name := range c.bindings {
		c.queue.Add(name)
	}
}

// Run syncs every binding now, then on each Trigger and every resync period, until ctx ends.
// Each binding has its own worker, so a slow target group does not hold up the others.
func (c *Controller) Run(ctx context.Context) {
	c.Trigger()
	var wg sync.WaitGroup
	for range c.bindings {
		wg.Go(func() {
			for c.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
}

func (c *Controller) processNext(ctx context.Context) bool {
	name, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(name)

	b, ok := c.bindings[name]
	if !ok {
		c.queue.Forget(name)
		return true
	}
	c.setRunning(name, c.opts.Clock.Now())
	syncCtx, cancel := context.WithTimeout(ctx, SyncTimeout)
	out := c.Sync(syncCtx, b, !c.opts.DryRun)
	cancel()
	c.setRunning(name, time.Time{})
	switch {
	case out.Err == nil:
		c.queue.Forget(name)
		if out.changed() {
			// Verify: the next sync must find nothing to do. It also refreshes the state gauges.
			c.queue.Add(name)
		}
	case out.Result == metrics.ResultInvalid || elb.IsTerminal(out.Err) || sg.IsTerminal(out.Err):
		// Retrying cannot help; the next change in the cluster or the resync will.
		c.queue.Forget(name)
	default:
		c.queue.AddRateLimited(name)
	}
	c.queue.AddAfter(name, c.opts.ResyncPeriod)

	// After a change, hold the binding for the minimum interval: the changes that follow one
	// (a burst of joining nodes) are merged into one sync. A sync that changed nothing does not
	// hold, so the next lone change after a quiet period is synced at once.
	if out.changed() && c.opts.MinSyncInterval > 0 {
		t := c.opts.Clock.NewTimer(c.opts.MinSyncInterval)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C():
		}
	}
	return true
}
