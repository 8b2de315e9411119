package controller

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
	"github.com/targetsync/targetsync/pkg/sg"
)

// How long a target AWS rejected, or a registration over the target quota, waits before it is
// tried again without anything else changing. Trying on every sync would cost a few calls each
// time and change nothing.
const (
	rejectedRetryAfter = 10 * time.Minute
	quotaRetryAfter    = 10 * time.Minute
)

// Outcome is everything one sync of one binding saw and did.
type Outcome struct {
	Binding  Binding
	Snapshot informer.Snapshot
	Current  elb.TargetGroup
	Desired  []elb.Target
	// Plan is what was (or, in dry-run, would be) applied: the computed plan less what waits.
	Plan elb.Plan
	// Capacity is the capacity guard's decision; Capacity.Deferred wait for healthy capacity.
	Capacity Guarded
	// Waiting are registrations on a NodePort whose security-group rule is not in place yet,
	// and WaitingHealthCheck a health-check change to such a port.
	Waiting            []elb.Target
	WaitingHealthCheck *elb.HealthCheckChange
	// OverQuota are registrations that do not fit in the target group's target quota.
	OverQuota []elb.Target
	// Held are deregistrations that wait for the same node's registration on its new port.
	Held []elb.Target
	// Rejected are targets AWS refused, with its reason; they are tried again later.
	Rejected []elb.Rejection
	Applied  elb.Result
	Result   Result
	Err      error

	// readTargets is set when the sync read the targets rather than planning from the
	// group as last seen.
	readTargets bool
}

// InSync reports whether the sync found nothing to change and nothing waiting.
func (o Outcome) InSync() bool {
	return o.Plan.Empty() && !o.pending() && len(o.Rejected) == 0
}

// pending reports whether something waits on a condition in AWS (target health, a rule, the
// quota) that no cluster event will announce, so the binding must be looked at again soon.
func (o Outcome) pending() bool {
	return len(o.Capacity.Deferred) > 0 || len(o.Waiting) > 0 || o.WaitingHealthCheck != nil ||
		len(o.OverQuota) > 0 || len(o.Held) > 0
}

// changed reports whether the sync changed anything in AWS.
func (o Outcome) changed() bool { return !o.Applied.Empty() }

// Sync brings one binding's target group in line with the cluster. With apply false it only
// plans: that is dry-run mode and the plan command.
func (c *Controller) Sync(ctx context.Context, b Binding, apply bool) Outcome {
	start := c.opts.Clock.Now()
	log := c.log.With(zap.String("binding", b.Name), zap.String("targetGroupARN", b.TargetGroupARN))
	out := c.sync(ctx, b, apply, log)
	out.Result = classify(out.Err)
	c.record(b, out, start, log)
	return out
}

func (c *Controller) sync(ctx context.Context, b Binding, apply bool, _ *zap.Logger) Outcome {
	out, fell := c.syncFrom(ctx, b, apply, apply)
	if fell {
		out, _ = c.syncFrom(ctx, b, apply, false)
	}
	return out
}

// syncFrom is one sync. With fast set it may plan from the targets as last seen instead of
// reading them (seen.go); it then reports fell when the plan turned out to need a read after
// all, and has changed nothing: the caller syncs again, reading.
func (c *Controller) syncFrom(ctx context.Context, b Binding, apply, fast bool) (out Outcome, fell bool) {
	out = Outcome{Binding: b}
	snap, err := c.snap.Snapshot(b.Query)
	if err != nil {
		// The Service is the source of truth for the port; without it nothing is known,
		// so the registered targets are left exactly as they are.
		out.Err = err
		return out, false
	}
	out.Snapshot = snap
	for _, n := range snap.Targets {
		out.Desired = append(out.Desired, elb.Target{IP: n.IP, Port: snap.TrafficPort})
	}

	groups := c.groups(b)
	st := c.state(b.Name)
	current, seen := elb.TargetGroup{}, false
	var age time.Duration
	if fast {
		current, age, seen = c.fromSeen(st)
	}
	if !seen {
		if current, err = c.describe(ctx, b, groups); err != nil {
			st.forgetSeen()
			out.Err = err
			return out, false
		}
		out.readTargets = true
	}
	c.learnScope(b, current)
	if current.Tags, err = c.targetGroupTags(ctx, b, groups); err != nil {
		out.Err = err
		return out, false
	}
	if err := c.checkOwner(b, current.Tags); err != nil {
		out.Err = err
		return out, false
	}
	current.VPCCIDRs = c.vpcCIDRs(current.VpcID)
	out.Current = current

	plan := elb.ComputePlan(elb.Desired{Targets: out.Desired, HealthCheck: desiredHealthCheck(b, snap), HealthCheckMode: healthCheckMode(snap)}, current)
	if seen && !plannableFromSeen(plan, snap, current, age) {
		return out, true // before the healthy count of the old view is taken as today's
	}
	now := c.opts.Clock.Now()
	if !seen {
		st.setSeen(now, current)
	}
	high := st.observeHealthy(now, healthyTargets(current), c.opts.Capacity.Window)
	plan = c.gate(b, plan, current, st, now, &out)
	if err := checkNotEmpty(plan, current); err != nil {
		out.Err = err
		return out, false
	}
	out.Capacity = c.opts.Capacity.guard(plan, current, snap, high)
	if seen && len(out.Capacity.Deferred) > 0 {
		return out, true // the targets healthy now may allow what the view holds back
	}
	out.Plan = out.Capacity.Plan
	if out.Plan.Empty() {
		return out, false
	}
	if !apply {
		return out, false // logged by record, which names each target's node and reason
	}
	out.Applied, out.Err = groups.Apply(ctx, b.TargetGroupARN, out.Plan)
	out.Held = append(out.Held, out.Applied.Held...)
	out.OverQuota = append(out.OverQuota, out.Applied.OverQuota...)
	out.Rejected = append(out.Rejected, out.Applied.Rejected...)
	st.remember(now, out.Applied, current)
	if out.Applied.HealthCheck {
		c.tags.forget() // the health-check record tag changed
	}
	if out.Applied.HealthCheck || out.Err != nil {
		// The settings changed, or a write failed: perhaps because they did.
		c.settings.forget()
		st.forgetSeen()
	} else {
		st.seeApplied(out.Applied)
	}
	return out, false
}

// describe reads the target group: its targets every time, its settings (type, port, VPC, load
// balancers, health check) at most once a resync period, so a change made to them outside
// targetsync is seen within two resync periods. A sync answering a node's change costs one read
// before its write instead of two. Nothing that decides
// ownership comes from the settings: that is the tags, read as before. A failed read of the
// targets drops the settings too, so the next sync reads both.
func (c *Controller) describe(ctx context.Context, b Binding, groups TargetGroups) (elb.TargetGroup, error) {
	settings, _, err := c.settings.get(b.TargetGroupARN, c.opts.Clock.Now(), c.opts.ResyncPeriod, func() (elb.TargetGroup, error) {
		return groups.DescribeSettings(ctx, b.TargetGroupARN)
	})
	if err != nil {
		c.settings.forget()
		return elb.TargetGroup{}, err
	}
	current, err := groups.DescribeTargets(ctx, settings)
	if err != nil {
		c.settings.forget()
	}
	return current, err
}

// desiredHealthCheck is the health check the cluster asks for; zero when it asks for none.
func desiredHealthCheck(b Binding, snap informer.Snapshot) elb.HealthCheck {
	if snap.HealthCheckPort == 0 {
		return elb.HealthCheck{}
	}
	return elb.HealthCheck{Protocol: "HTTP", Port: snap.HealthCheckPort, Path: b.HealthCheckPath}
}

// healthCheckMode: follow the health-check NodePort when there is one; leave the health check
// alone when its Service is missing (nothing is known); otherwise it is no longer managed, and
// a port targetsync set is given back to traffic-port.
func healthCheckMode(snap informer.Snapshot) elb.HealthCheckMode {
	switch {
	case snap.HealthCheckErr != nil:
		return elb.HealthCheckKeep
	case snap.HealthCheckPort != 0:
		return elb.HealthCheckSet
	}
	return elb.HealthCheckRelease
}

// gate takes out of p what must wait: targets AWS rejected a short while ago, registrations
// over a target quota that is still full, and registrations on a NodePort whose
// security-group rule is not in place yet. A deregistration on a node's old port waits with
// its registration on the new one (make-before-break); nothing else waits for a registration.
func (c *Controller) gate(b Binding, p elb.Plan, current elb.TargetGroup, st *bindingState, now time.Time, out *Outcome) elb.Plan {
	dropped := map[netip.Addr]bool{}
	quotaFull := st.quotaFull(now, current)
	open := map[int32]bool{}
	var register []elb.Target
	for _, t := range p.Register {
		if r, ok := st.rejectedRecently(t, now); ok {
			out.Rejected = append(out.Rejected, r)
			dropped[t.IP] = true
			continue
		}
		if quotaFull {
			out.OverQuota = append(out.OverQuota, t)
			dropped[t.IP] = true
			continue
		}
		ok, seen := open[t.Port]
		if !seen {
			ok = c.portOpen(b, t.Port, current)
			open[t.Port] = ok
		}
		if !ok {
			out.Waiting = append(out.Waiting, t)
			dropped[t.IP] = true
			continue
		}
		register = append(register, t)
	}
	p.Register = register
	if hc := p.HealthCheck; hc != nil && hc.To.Port != 0 && !c.portOpen(b, hc.To.Port, current) {
		p.HealthCheck = nil
		out.WaitingHealthCheck = hc
	}
	if len(out.Waiting) > 0 || out.WaitingHealthCheck != nil {
		c.queue.Add(rulesKey)
	}
	var deregister []elb.Target
	for _, t := range p.Deregister {
		if dropped[t.IP] {
			out.Held = append(out.Held, t)
			continue
		}
		deregister = append(deregister, t)
	}
	p.Deregister = deregister
	return p
}

// portOpen reports whether targets on port can be registered without waiting for a rule:
// security groups are not managed, or the port already has registered targets (its rule was in
// place before they were registered), or the last reconcile left every group open on it.
func (c *Controller) portOpen(_ Binding, port int32, current elb.TargetGroup) bool {
	if c.opts.SecurityGroups == nil {
		return true
	}
	if slices.ContainsFunc(current.Targets, func(o elb.Observed) bool { return o.Port == port && o.State != elb.StateDraining }) {
		return true
	}
	return c.rulesOpen(scopeOf(current), port)
}

// learnScope notes the VPC and load balancer of a binding's target group; the security-group
// reconciler resolves the sources from them. A new or changed scope starts a reconcile.
func (c *Controller) learnScope(b Binding, tg elb.TargetGroup) {
	if c.opts.SecurityGroups == nil {
		return
	}
	st := c.state(b.Name)
	c.mu.Lock()
	changed := !st.scopeKnown || st.scope != scopeOf(tg)
	st.scope, st.scopeKnown = scopeOf(tg), true
	c.mu.Unlock()
	if changed {
		c.queue.Add(rulesKey)
	}
}

func scopeOf(tg elb.TargetGroup) sg.Scope {
	s := sg.Scope{VPCID: tg.VpcID}
	if len(tg.LoadBalancerARNs) > 0 {
		s.LoadBalancerARN = tg.LoadBalancerARNs[0]
	}
	return s
}

// TargetGroupTags reads b's target group tags through the cache the syncs read, so a check made
// before the first sync costs it no read.
func (c *Controller) TargetGroupTags(ctx context.Context, b Binding) (map[string]string, error) {
	return c.targetGroupTags(ctx, b, c.groups(b))
}

// targetGroupTags reads the target group's tags, reusing them for SlowReadTTL. A failed read
// with an earlier one at hand goes on with the earlier one.
func (c *Controller) targetGroupTags(ctx context.Context, b Binding, groups TargetGroups) (map[string]string, error) {
	tags, ok, err := c.tags.get(b.TargetGroupARN, c.opts.Clock.Now(), SlowReadTTL, func() (map[string]string, error) {
		return groups.Tags(ctx, b.TargetGroupARN)
	})
	if err != nil && !ok {
		return nil, fmt.Errorf("read tags of target group %s: %w", b.TargetGroupName(), err)
	}
	return tags, nil
}

// checkOwner refuses a target group tagged as another cluster's: two clusters writing one
// target group would each deregister the other's nodes.
func (c *Controller) checkOwner(b Binding, tags map[string]string) error {
	if owner := tags[elb.TagCluster]; owner != "" && owner != c.opts.ClusterName {
		return fmt.Errorf("target group %s is tagged %s=%s, and this is cluster %s: %w",
			b.TargetGroupName(), elb.TagCluster, owner, c.opts.ClusterName, ErrForeignOwner)
	}
	return nil
}

// vpcCIDRs returns the VPC's CIDR blocks as the security-group reconciler last read them, so
// targets outside the VPC are registered with AvailabilityZone all at the first try. A binding
// never waits on EC2 for them: without them, elb finds out from AWS's rejection.
func (c *Controller) vpcCIDRs(vpcID string) []netip.Prefix {
	if c.opts.SecurityGroups == nil || vpcID == "" {
		return nil
	}
	cidrs, _ := c.cidrs.peek(vpcKey(vpcID))
	return cidrs
}

func vpcKey(vpcID string) string { return "vpc/" + vpcID }
