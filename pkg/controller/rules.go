package controller

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/targetsync/targetsync/pkg/sg"
)

// rulesKey is the work-queue key of the security-group reconcile. It cannot clash with a
// binding name, which is a DNS label.
const rulesKey = "(security groups)"

// RuleSyncer reads and changes the worker security-group rules of the whole cluster.
type RuleSyncer interface {
	ResolveGroups(ctx context.Context, sel sg.GroupSelector) ([]string, error)
	ResolveSources(ctx context.Context, sources []sg.Source, scope sg.Scope) ([]netip.Prefix, error)
	VPCCIDRs(ctx context.Context, vpcID string) ([]netip.Prefix, error)
	Reconcile(ctx context.Context, groupIDs []string, d sg.Desired, apply bool) ([]sg.Outcome, error)
}

var _ RuleSyncer = (*sg.Client)(nil)

// SecurityGroups turns on security-group management.
type SecurityGroups struct {
	Selector sg.GroupSelector
	Sources  []sg.Source
	// Rules acts for the whole cluster: one owner marker, the union of every binding's ports,
	// one worker, so bindings never race over a rule and rules no binding needs are revoked.
	Rules RuleSyncer
}

// rulesState is what the last reconcile left open, for deciding whether a registration must
// wait for its rule. Guarded by Controller.mu.
type rulesState struct {
	known  bool
	groups []sg.Group
	cidrs  map[sg.Scope][]netip.Prefix
}

// RulesOutcome is what one reconcile of the cluster's security-group rules saw and did.
type RulesOutcome struct {
	// Complete is false when some binding's ports or load balancer are unknown right now;
	// then rules are only added, never revoked.
	Complete bool
	Groups   []string
	Outcomes []sg.Outcome
	Result   Result
	Err      error
}

// InSync reports whether no rule needs to change.
func (o RulesOutcome) InSync() bool {
	for _, g := range o.Outcomes {
		if !g.Plan.Empty() {
			return false
		}
	}
	return true
}

func (o RulesOutcome) changed() bool {
	for _, g := range o.Outcomes {
		if !g.Applied.Empty() {
			return true
		}
	}
	return false
}

// SyncRules opens the worker security groups on the traffic and health-check NodePorts of
// every binding, from each binding's sources, and revokes the rules targetsync owns that no
// binding needs any more. With apply false it only plans.
func (c *Controller) SyncRules(ctx context.Context, apply bool) RulesOutcome {
	start := c.opts.Clock.Now()
	out := c.syncRules(ctx, apply)
	out.Result = classify(out.Err)
	c.recordRules(out, start)
	if out.changed() {
		// Registrations that waited for a rule can go ahead now.
		for name := range c.bindings {
			c.queue.Add(name)
		}
	}
	return out
}

func (c *Controller) syncRules(ctx context.Context, apply bool) RulesOutcome {
	out := RulesOutcome{Complete: true}
	s := c.opts.SecurityGroups
	if s == nil {
		return out
	}
	ports := map[sg.Scope][]int32{}
	for _, b := range c.order {
		snap, err := c.snap.Snapshot(b.Query)
		st := c.state(b.Name)
		c.mu.Lock()
		scope, known := st.scope, st.scopeKnown
		c.mu.Unlock()
		if err != nil || !known || snap.HealthCheckErr != nil {
			// This binding's ports or load balancer are unknown: its rules must not be revoked.
			out.Complete = false
		}
		if err != nil || !known {
			continue
		}
		ports[scope] = append(ports[scope], snap.TrafficPort)
		if snap.HealthCheckPort != 0 {
			ports[scope] = append(ports[scope], snap.HealthCheckPort)
		}
	}
	if len(ports) == 0 {
		return out // nothing known yet; a binding's first sync starts another reconcile
	}

	now := c.opts.Clock.Now()
	groups, err := c.SecurityGroupIDs(ctx)
	if err != nil {
		out.Err = fmt.Errorf("security groups: %w", err)
		return out
	}
	out.Groups = groups

	scopes := make([]sg.Scope, 0, len(ports))
	for scope := range ports {
		scopes = append(scopes, scope)
	}
	slices.SortFunc(scopes, func(a, b sg.Scope) int {
		return strings.Compare(a.VPCID+a.LoadBalancerARN, b.VPCID+b.LoadBalancerARN)
	})
	cidrs := make(map[sg.Scope][]netip.Prefix, len(ports))
	var desired []sg.Rule
	for _, scope := range scopes {
		got, _, err := c.cidrs.get("sources/"+scope.VPCID+"/"+scope.LoadBalancerARN, now, SlowReadTTL, func() ([]netip.Prefix, error) {
			return s.Rules.ResolveSources(ctx, s.Sources, scope)
		})
		if err != nil {
			out.Err = fmt.Errorf("security group sources: %w", err)
			return out
		}
		rules, err := sg.DesiredRules(ports[scope], got)
		if err != nil {
			out.Err = fmt.Errorf("security group rules: %w", err)
			return out
		}
		cidrs[scope] = got
		desired = append(desired, rules...)
		// The bindings register targets outside the VPC with AvailabilityZone all from this.
		_, _, _ = c.cidrs.get(vpcKey(scope.VPCID), now, SlowReadTTL, func() ([]netip.Prefix, error) {
			return s.Rules.VPCCIDRs(ctx, scope.VPCID)
		})
	}

	out.Outcomes, err = s.Rules.Reconcile(ctx, groups, sg.Desired{Rules: desired, Complete: out.Complete}, apply)
	var errs []error
	if err != nil {
		errs = append(errs, fmt.Errorf("security group rules: %w", err))
	}
	after := make([]sg.Group, 0, len(out.Outcomes))
	for _, o := range out.Outcomes {
		after = append(after, o.After)
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("security group %s: %w", o.Current.ID, o.Err))
		}
	}
	if len(errs) > 0 {
		// A failed write may mean a group or a source changed: read them afresh next time.
		c.sgIDs.forget()
		c.cidrs.forget()
		out.Err = errors.Join(errs...)
	}
	if err == nil {
		c.mu.Lock()
		c.rules = rulesState{known: true, groups: after, cidrs: cidrs}
		c.mu.Unlock()
	}
	return out
}

// rulesOpen reports whether the last reconcile left every managed group open on port from
// every source of scope.
func (c *Controller) rulesOpen(scope sg.Scope, port int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	cidrs := c.rules.cidrs[scope]
	if !c.rules.known || len(cidrs) == 0 || len(c.rules.groups) == 0 {
		return false
	}
	for _, g := range c.rules.groups {
		if !sg.Open(g, port, cidrs) {
			return false
		}
	}
	return true
}

// recordRules turns a rules outcome into metrics, Events and logs.
func (c *Controller) recordRules(out RulesOutcome, start time.Time) {
	log := c.log.With(zap.String("binding", rulesKey))
	if m := c.opts.Metrics; m != nil {
		m.SecurityGroupSyncs.WithLabelValues(out.Result.Label()).Inc()
		for _, o := range out.Outcomes {
			m.SecurityGroupRuleChanges.WithLabelValues("authorize").Add(float64(o.Applied.Authorized))
			m.SecurityGroupRuleChanges.WithLabelValues("revoke").Add(float64(o.Applied.Revoked))
			m.SecurityGroupRules.WithLabelValues(o.Current.ID, "targetsync").Set(float64(o.Budget.Owned))
			m.SecurityGroupRules.WithLabelValues(o.Current.ID, "other").Set(float64(o.Budget.Other))
		}
	}
	var ref = c.eventTarget()
	for _, o := range out.Outcomes {
		if o.Applied.Empty() {
			continue
		}
		log.Info("security group rules changed", zap.String("securityGroupID", o.Current.ID),
			zap.Int("authorized", o.Applied.Authorized), zap.Int("revoked", o.Applied.Revoked))
		if ref != nil {
			c.opts.Recorder.Eventf(ref, "Normal", ReasonRulesChanged, "Security group %s: %d rules authorized, %d revoked", o.Current.ID, o.Applied.Authorized, o.Applied.Revoked)
		}
	}
	switch out.Result {
	case Success:
		log.Debug("security group rules synced", zap.Strings("securityGroupIDs", out.Groups),
			zap.Bool("complete", out.Complete), zap.Duration("duration", c.opts.Clock.Now().Sub(start)))
	case Refused:
		log.Warn("security group rules left unchanged", zap.Error(out.Err))
		if ref != nil {
			c.opts.Recorder.Eventf(ref, "Warning", ReasonSyncRefused, "Security group rules left unchanged: %v", out.Err)
		}
	default:
		log.Error("security group sync failed", zap.Error(out.Err))
		if ref != nil {
			c.opts.Recorder.Eventf(ref, "Warning", ReasonSyncFailed, "Security group sync failed: %v", out.Err)
		}
	}
}

// SecurityGroupIDs resolves the worker security groups through the cache the rule reconcile
// reads, so a check made before the first reconcile costs it no read. It fails with
// sg.ErrForeignGroup for a group another cluster owns.
func (c *Controller) SecurityGroupIDs(ctx context.Context) ([]string, error) {
	s := c.opts.SecurityGroups
	ids, _, err := c.sgIDs.get("groups", c.opts.Clock.Now(), SlowReadTTL, func() ([]string, error) {
		return s.Rules.ResolveGroups(ctx, s.Selector)
	})
	return ids, err
}
