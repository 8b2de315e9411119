package controller

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
	"github.com/targetsync/targetsync/pkg/metrics"
)

// Snapshotter takes a snapshot of what the cluster says a target group should hold.
type Snapshotter interface {
	Snapshot(q informer.Query) (informer.Snapshot, error)
}

// TargetGroups reads and changes target groups. A sync reads the settings (DescribeSettings)
// at most once a resync period and the targets (DescribeTargets) every time; Describe reads
// both, for status.
type TargetGroups interface {
	Describe(ctx context.Context, arn string) (elb.TargetGroup, error)
	DescribeSettings(ctx context.Context, arn string) (elb.TargetGroup, error)
	DescribeTargets(ctx context.Context, settings elb.TargetGroup) (elb.TargetGroup, error)
	Tags(ctx context.Context, arn string) (map[string]string, error)
	Apply(ctx context.Context, arn string, p elb.Plan) (elb.Result, error)
}

var _ TargetGroups = (*elb.Client)(nil)

// SyncTimeout bounds one sync, AWS retries included, so a hung connection cannot stall a
// binding for good.
const SyncTimeout = 5 * time.Minute

// Defaults for zero Options.
const (
	DefaultResyncPeriod = time.Minute
	// DefaultPollInterval is how soon a binding is looked at again while something waits on
	// AWS: targets turning healthy for the capacity guard, a rule, room in the quota.
	DefaultPollInterval = 10 * time.Second
)

// Options are the controller's settings and collaborators. Zero values get defaults.
type Options struct {
	// ClusterName is this cluster's name; target groups tagged with another are never written.
	ClusterName string
	// DryRun logs plans and applies nothing.
	DryRun bool
	// ResyncPeriod is how often a binding is synced when nothing changes.
	ResyncPeriod time.Duration
	// MinSyncInterval is the least time between two syncs of one binding.
	MinSyncInterval time.Duration
	// PollInterval is how soon a binding with waiting work is synced again.
	PollInterval time.Duration
	// RetryBaseDelay and RetryMaxDelay bound the backoff after a failed sync.
	RetryBaseDelay, RetryMaxDelay time.Duration
	// Capacity is the healthy-capacity guard; the zero value takes the defaults.
	Capacity Capacity

	// SecurityGroups, when set, turns on management of the worker security-group rules.
	SecurityGroups *SecurityGroups

	Logger   *zap.Logger
	Metrics  *metrics.Metrics
	Recorder record.EventRecorder
	Clock    clock.WithTicker

	// collect is called after a sync that read the targets; collectAfterRead when nil.
	collect func()
}

// Controller keeps each binding's target group equal to the cluster, and the worker security
// groups open on the NodePorts of every binding.
type Controller struct {
	opts     Options
	snap     Snapshotter
	groups   func(Binding) TargetGroups
	bindings map[string]Binding
	order    []Binding
	queue    workqueue.TypedRateLimitingInterface[string]
	log      *zap.Logger

	mu     sync.Mutex
	status map[string]*bindingState
	rules  rulesState

	tags     ttlCache[map[string]string]
	settings ttlCache[elb.TargetGroup]
	cidrs    ttlCache[[]netip.Prefix]
	sgIDs    ttlCache[[]string]

	collecting atomic.Bool // a collection after a read is under way (collect.go)
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
	if opts.ResyncPeriod <= 0 {
		// Zero would requeue every binding the moment it finished: thousands of reads a second.
		opts.ResyncPeriod = DefaultResyncPeriod
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.RetryBaseDelay <= 0 {
		opts.RetryBaseDelay = time.Second
	}
	if opts.RetryMaxDelay <= 0 {
		opts.RetryMaxDelay = 5 * time.Minute
	}
	if opts.Capacity.MaxFraction <= 0 {
		opts.Capacity.MaxFraction = DefaultMaxDeregisterFraction
	}
	if opts.Capacity.Window <= 0 {
		opts.Capacity.Window = DefaultCapacityWindow
	}
	c := &Controller{
		opts:     opts,
		snap:     snap,
		groups:   groups,
		bindings: make(map[string]Binding, len(bindings)),
		order:    bindings,
		log:      opts.Logger,
		status:   make(map[string]*bindingState, len(bindings)),
	}
	for _, b := range bindings {
		c.bindings[b.Name] = b
	}
	if c.opts.collect == nil {
		c.opts.collect = c.collectAfterRead
	}
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](opts.RetryBaseDelay, opts.RetryMaxDelay),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "targetsync", Clock: opts.Clock})
	return c
}

// Bindings returns the bindings in the order they were given.
func (c *Controller) Bindings() []Binding { return c.order }

// Trigger asks for every binding, and the security-group rules, to be synced. It never blocks:
// an item already waiting is not queued twice, and one being synced is synced once more
// afterwards. Informer event handlers call it.
func (c *Controller) Trigger() {
	if c.opts.SecurityGroups != nil {
		c.queue.Add(rulesKey)
	}
	for name := range c.bindings {
		c.queue.Add(name)
	}
}

// Run syncs everything now, then on each Trigger and every resync period, until ctx ends.
// Each binding has its own worker, and the security-group rules one more, so a slow target
// group or a throttled EC2 does not hold up the others.
func (c *Controller) Run(ctx context.Context) {
	c.Trigger()
	workers := len(c.bindings)
	if c.opts.SecurityGroups != nil {
		workers++
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
}

// item is one queued sync's result as processNext needs it.
type item struct {
	result  Result
	changed bool
	pending bool
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)

	c.setRunning(key, c.opts.Clock.Now())
	syncCtx, cancel := context.WithTimeout(ctx, SyncTimeout)
	var it item
	if key == rulesKey {
		out := c.SyncRules(syncCtx, !c.opts.DryRun)
		// Nothing in the rules waits on AWS: a binding waiting for a rule queues the reconcile.
		it = item{result: out.Result, changed: out.changed()}
	} else if b, ok := c.bindings[key]; ok {
		out := c.Sync(syncCtx, b, !c.opts.DryRun)
		it = item{result: out.Result, changed: out.changed(), pending: out.pending()}
		if out.readTargets {
			c.opts.collect()
		}
	} else {
		cancel()
		c.setRunning(key, time.Time{})
		c.queue.Forget(key)
		return true
	}
	cancel()
	c.setRunning(key, time.Time{})

	switch it.result {
	case Success:
		c.queue.Forget(key)
		if it.changed {
			// Verify: the next sync must find nothing to do. It also refreshes the state gauges.
			c.queue.Add(key)
		}
	case Retry:
		c.queue.AddRateLimited(key)
	default:
		// Retrying cannot help; the next change in the cluster or the resync will.
		c.queue.Forget(key)
	}
	if it.pending {
		c.queue.AddAfter(key, c.opts.PollInterval)
	}
	c.queue.AddAfter(key, c.opts.ResyncPeriod)

	// After a change, hold the item for the minimum interval: the changes that follow one
	// (a burst of joining nodes) are merged into one sync. A sync that changed nothing does not
	// hold, so the next lone change after a quiet period is synced at once.
	if it.changed && c.opts.MinSyncInterval > 0 {
		t := c.opts.Clock.NewTimer(c.opts.MinSyncInterval)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C():
		}
	}
	return true
}
