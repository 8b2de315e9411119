package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/targetsync/targetsync/pkg/sg"
)

// readRules resolves the worker security groups and the sources, and reads the groups' rules.
// Sources that need a load balancer that does not exist yet (its private IPs) are left
// Pending, to be resolved when the plan is applied.
func (b *Bootstrapper) readRules(ctx context.Context, vpcID, lbARN string) (*RulesState, error) {
	spec := b.spec
	ids, err := b.c.Rules.ResolveGroups(ctx, spec.SecurityGroups)
	if err != nil {
		return nil, fmt.Errorf("security groups: %w", err)
	}
	r := &RulesState{GroupIDs: ids}
	r.Pending = pending(spec.Sources, vpcID, lbARN)
	if r.Pending == "" {
		r.CIDRs, err = b.c.Rules.ResolveSources(ctx, spec.Sources, sg.Scope{VPCID: vpcID, LoadBalancerARN: lbARN})
		switch {
		case errors.Is(err, sg.ErrNoSources):
			r.Pending = err.Error()
		case err != nil:
			return nil, fmt.Errorf("security groups: %w", err)
		}
	}
	if r.Groups, err = b.c.Rules.Describe(ctx, ids...); err != nil {
		return nil, fmt.Errorf("security groups: %w", err)
	}
	return r, nil
}

// pending says why sources cannot be resolved yet, or "" when they can.
func pending(sources []sg.Source, vpcID, lbARN string) string {
	for _, s := range sources {
		switch {
		case s.Kind == sg.SourceNLBPrivateIPs && lbARN == "":
			return "the load balancer's private IPs are known once it exists"
		case s.Kind == sg.SourceVPCCIDR && vpcID == "":
			return "the VPC is not known yet"
		}
	}
	return ""
}

// planRules adds one step per desired rule and security group: found when it is open already
// (by our rule or someone else's), create otherwise. Nothing is ever revoked.
func (p *Plan) planRules(cur Current) {
	r := cur.Rules
	if r == nil {
		return
	}
	ports := []int32{p.TrafficPort, p.HealthCheckPort}
	if r.Pending != "" {
		for _, id := range r.GroupIDs {
			p.Steps = append(p.Steps, Step{Kind: KindSecurityGroupRule, GroupID: id, Action: ActionCreate,
				Name: fmt.Sprintf("%s tcp %s from %s", id, portList(ports), sourceList(p.Spec.Sources)),
				Why:  r.Pending})
		}
		return
	}
	rules, err := sg.DesiredRules(ports, r.CIDRs)
	if err != nil {
		p.Steps = append(p.Steps, Step{Kind: KindSecurityGroupRule, Name: strings.Join(r.GroupIDs, ","),
			Action: ActionSkipped, Problem: true, Why: err.Error()})
		return
	}
	for _, g := range r.Groups {
		p.Steps = append(p.Steps, ruleSteps(g.ID, rules, sg.ComputePlan(sg.Desired{Rules: rules}, g).Authorize)...)
	}
}

// ruleSteps renders the rules of one group: those in add are to be created, the others are
// open already.
func ruleSteps(groupID string, rules, add []sg.Rule) []Step {
	var out []Step
	for _, rule := range rules {
		s := Step{Kind: KindSecurityGroupRule, Name: groupID + " " + rule.String(), GroupID: groupID, Rule: rule,
			Action: ActionFound, Why: "open already"}
		if slices.Contains(add, rule) {
			s.Action, s.Why = ActionCreate, "lets the load balancer reach the NodePort"
		}
		out = append(out, s)
	}
	return out
}

// applyRules opens the rules: it resolves pending sources now that the load balancer exists,
// then reconciles every group, adding only. It returns the rows that replace the planned ones.
func (b *Bootstrapper) applyRules(ctx context.Context, p Plan, lbARN string) []Step {
	r := p.Rules
	failAll := func(why string, err error) []Step {
		var out []Step
		for _, id := range r.GroupIDs {
			out = append(out, Step{Kind: KindSecurityGroupRule, GroupID: id, Action: ActionSkipped, Problem: true,
				Name: fmt.Sprintf("%s tcp %s from %s", id, portList([]int32{p.TrafficPort, p.HealthCheckPort}), sourceList(p.Spec.Sources)),
				Why:  why, Err: err})
		}
		return out
	}
	cidrs := r.CIDRs
	if r.Pending != "" {
		if lbARN == "" && pending(p.Spec.Sources, p.VPCID, "") != "" {
			return failAll("needs the load balancer, which was not created", nil)
		}
		var err error
		cidrs, err = b.c.Rules.ResolveSources(ctx, p.Spec.Sources, sg.Scope{VPCID: p.VPCID, LoadBalancerARN: lbARN})
		if err != nil {
			return failAll("", fmt.Errorf("%w; run bootstrap again once the load balancer is active", err))
		}
	}
	rules, err := sg.DesiredRules([]int32{p.TrafficPort, p.HealthCheckPort}, cidrs)
	if err != nil {
		return failAll("", err)
	}
	outs, err := b.c.Rules.Reconcile(ctx, r.GroupIDs, sg.Desired{Rules: rules, Complete: false}, true)
	if err != nil {
		return failAll("", err)
	}
	var steps []Step
	for _, o := range outs {
		group := ruleSteps(o.Current.ID, rules, o.Plan.Authorize)
		for i := range group {
			s := &group[i]
			switch {
			case s.Action != ActionCreate:
			case slices.Contains(o.Applied.AuthorizedRules, s.Rule):
				s.Done = true
			case o.Err != nil:
				s.Err = o.Err
			default:
				// Opened by someone else between the read and the write: AWS said duplicate.
				s.Action, s.Why = ActionFound, "open already"
			}
		}
		steps = append(steps, group...)
	}
	return steps
}

func portList(ports []int32) string {
	var parts []string
	for _, pr := range sg.MergePorts(ports) {
		parts = append(parts, pr.String())
	}
	return strings.Join(parts, ",")
}

func sourceList(sources []sg.Source) string {
	var parts []string
	for _, s := range sources {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, ",")
}
