package sg

import (
	"context"
)

// Outcome is what one reconcile of one security group saw and did.
type Outcome struct {
	// Current is the group as read before anything changed.
	Current Group
	Plan    Plan
	Applied Result
	// Budget counts the group's ingress rules by owner after the reconcile: as read, adjusted
	// by what was applied. It feeds the rules-per-group gauge.
	Budget Budget
	// Err is set when applying the plan failed; see IsTerminal.
	Err error
}

// Reconcile brings each security group in groupIDs in line with desired. It reads all groups in
// one listing, plans each one, and with apply set applies each plan; with apply unset it only
// plans, for dry-run mode and the plan command. A failed read returns an error and plans
// nothing. A failed apply is reported in that group's Outcome and does not stop the others.
//
// desired should come from DesiredRules, which refuses an empty set: an empty desired set
// revokes every rule the owner holds.
func (c *Client) Reconcile(ctx context.Context, groupIDs []string, desired []Rule, apply bool) ([]Outcome, error) {
	groups, err := c.Describe(ctx, groupIDs...)
	if err != nil {
		return nil, err
	}
	out := make([]Outcome, len(groups))
	for i, g := range groups {
		o := Outcome{Current: g, Plan: ComputePlan(desired, g), Budget: g.Budget()}
		if apply && !o.Plan.Empty() {
			o.Applied, o.Err = c.Apply(ctx, o.Plan)
			o.Budget.Owned += o.Applied.Authorized - o.Applied.Revoked
		}
		out[i] = o
	}
	return out, nil
}
