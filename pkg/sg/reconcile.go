package sg

import (
	"context"
	"slices"
)

// Outcome is what one reconcile of one security group saw and did.
type Outcome struct {
	// Current is the group as read before anything changed.
	Current Group
	Plan    Plan
	Applied Result
	// After is the group as this reconcile leaves it, as far as it knows: the rules as read,
	// plus those it authorized, minus those it revoked, sorted. It is right after a partial
	// failure too, so the caller knows which ports are open now (see Open). Rules added by
	// this reconcile carry the owner's marker and no ID; changes others made since the read
	// show on the next read.
	After Group
	// Budget counts the group's ingress rules by owner after the reconcile, After's rules. It
	// feeds the rules-per-group gauge.
	Budget Budget
	// Err is set when the plan failed Check or applying it failed; see IsTerminal.
	Err error
}

// Reconcile brings each security group in groupIDs in line with desired: it reads all groups in
// one listing, plans each one (revoking nothing while desired is incomplete), checks each plan,
// and with apply set applies each plan that passed; with apply unset it only plans, for dry-run
// mode and the plan command. A failed read returns an error and plans nothing. A refused or
// failed plan is reported in that group's Outcome and does not stop the others.
//
// desired.Rules should come from DesiredRules, which refuses an empty set: Check refuses to
// revoke anything for an empty set, which would close every port the owner opened.
func (c *Client) Reconcile(ctx context.Context, groupIDs []string, desired Desired, apply bool) ([]Outcome, error) {
	groups, err := c.Describe(ctx, groupIDs...)
	if err != nil {
		return nil, err
	}
	out := make([]Outcome, len(groups))
	for i, g := range groups {
		o := Outcome{Current: g, Plan: ComputePlan(desired, g)}
		o.Err = Check(o.Plan, desired)
		if o.Err == nil && apply && !o.Plan.Empty() {
			o.Applied, o.Err = c.Apply(ctx, o.Plan)
		}
		o.After = c.after(g, o.Applied)
		o.Budget = o.After.Budget()
		out[i] = o
	}
	return out, nil
}

// after is g as read, with res applied to it.
func (c *Client) after(g Group, res Result) Group {
	gone := make(map[string]struct{}, len(res.RevokedRules))
	for _, r := range res.RevokedRules {
		gone[r.ID] = struct{}{}
	}
	var rules []Observed
	for _, r := range g.Rules {
		if _, ok := gone[r.ID]; !ok {
			rules = append(rules, r)
		}
	}
	for _, r := range res.AuthorizedRules {
		rules = append(rules, Observed{Rule: r, Description: c.owner.Description(), Owned: true})
	}
	slices.SortFunc(rules, Observed.Compare)
	return Group{ID: g.ID, Rules: rules}
}
