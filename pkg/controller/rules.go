package controller

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
	"github.com/targetsync/targetsync/pkg/sg"
)

// RuleSyncer keeps one binding's security-group rules in line with its NodePorts.
type RuleSyncer interface {
	ResolveGroups(ctx context.Context, sel sg.GroupSelector) ([]string, error)
	ResolveSources(ctx context.Context, sources []sg.Source, scope sg.Scope) ([]netip.Prefix, error)
	Reconcile(ctx context.Context, groupIDs []string, desired []sg.Rule, apply bool) ([]sg.Outcome, error)
}

var _ RuleSyncer = (*sg.Client)(nil)

// SecurityGroups turns on security-group management.
type SecurityGroups struct {
	Selector sg.GroupSelector
	Sources  []sg.Source
	// Rules returns the binding's rule syncer; its ownership marker names the binding, so one
	// binding never revokes another's rules.
	Rules func(Binding) RuleSyncer
}

// syncRules opens the binding's worker security groups on its traffic and health-check
// NodePorts from the configured sources, and closes the ports it opened that are no longer used.
// It runs before targets change, so a new NodePort is open before targets are registered on it.
func (c *Controller) syncRules(ctx context.Context, b Binding, snap informer.Snapshot, tg elb.TargetGroup, apply bool) ([]sg.Outcome, error) {
	s := c.opts.SecurityGroups
	rules := s.Rules(b)
	groups, err := rules.ResolveGroups(ctx, s.Selector)
	if err != nil {
		return nil, fmt.Errorf("security groups: %w", err)
	}
	scope := sg.Scope{VPCID: tg.VpcID}
	if len(tg.LoadBalancerARNs) > 0 {
		scope.LoadBalancerARN = tg.LoadBalancerARNs[0]
	}
	cidrs, err := rules.ResolveSources(ctx, s.Sources, scope)
	if err != nil {
		return nil, fmt.Errorf("security group sources: %w", err)
	}
	desired, err := sg.DesiredRules([]int32{snap.TrafficPort, snap.HealthCheckPort}, cidrs)
	if err != nil {
		return nil, fmt.Errorf("security group rules: %w", err)
	}
	outs, err := rules.Reconcile(ctx, groups, desired, apply)
	if err != nil {
		return outs, fmt.Errorf("security group rules: %w", err)
	}
	for _, o := range outs {
		if o.Err != nil {
			return outs, fmt.Errorf("security group %s: %w", o.Current.ID, o.Err)
		}
	}
	return outs, nil
}
