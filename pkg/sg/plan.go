package sg

import (
	"fmt"
	"slices"
	"strings"
)

// Desired is what the cluster's worker security groups should hold: the union of every
// binding's rules.
type Desired struct {
	// Rules are the rules to hold, as DesiredRules builds them.
	Rules []Rule
	// Complete says Rules covers every binding. When some binding's ports or sources are
	// unknown right now, the set is incomplete and a rule missing from it may still be in use,
	// so the plan revokes nothing and only authorizes.
	Complete bool
}

// Plan is the difference between the rules one security group should hold and what it holds.
// It is a pure value: computing it calls nothing, and printing it changes nothing.
type Plan struct {
	SecurityGroupID string
	// Authorize holds rules to add, sorted. They are added before anything is revoked.
	Authorize []Rule
	// Revoke holds owned rules to remove, sorted, with the IDs that revoking needs.
	Revoke []Observed
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool { return len(p.Authorize) == 0 && len(p.Revoke) == 0 }

// String prints one line per change, authorizations first, in the order Apply makes them.
func (p Plan) String() string {
	if p.Empty() {
		return p.SecurityGroupID + ": in sync"
	}
	var b strings.Builder
	for _, r := range p.Authorize {
		fmt.Fprintf(&b, "%s: authorize %s\n", p.SecurityGroupID, r)
	}
	for _, r := range p.Revoke {
		fmt.Fprintf(&b, "%s: revoke %s\n", p.SecurityGroupID, r)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// ComputePlan returns the plan that turns current into desired.
//
// Only owned rules are compared with desired: an owned rule that is exactly desired is kept,
// every other owned rule is revoked, unless desired is incomplete, in which case nothing is
// revoked. A desired rule without an owned twin is authorized unless a foreign rule already
// covers it (same protocol and CIDR, a port range containing it), so we never duplicate what
// someone else opened. Foreign rules are never revoked, whatever they overlap.
func ComputePlan(desired Desired, current Group) Plan {
	owned := make(map[string]Observed)
	var foreign []Rule
	for _, o := range current.Rules {
		if o.Owned {
			owned[o.Key()] = o
		} else {
			foreign = append(foreign, o.Rule)
		}
	}

	p := Plan{SecurityGroupID: current.ID}
	want := make(map[string]struct{}, len(desired.Rules))
	for _, d := range desired.Rules {
		k := d.Key()
		if _, dup := want[k]; dup {
			continue
		}
		want[k] = struct{}{}
		if _, ok := owned[k]; ok {
			continue
		}
		if slices.ContainsFunc(foreign, func(f Rule) bool { return f.Covers(d) }) {
			continue
		}
		p.Authorize = append(p.Authorize, d)
	}
	if desired.Complete {
		for k, o := range owned {
			if _, ok := want[k]; !ok {
				p.Revoke = append(p.Revoke, o)
			}
		}
	}
	slices.SortFunc(p.Authorize, Rule.Compare)
	slices.SortFunc(p.Revoke, Observed.Compare)
	return p
}

// Check is the safety check between plan and apply. It refuses, with ErrNotOwned, a plan that
// revokes a rule without the ownership marker, and, with ErrUnsafePlan, a plan that revokes
// while desired is incomplete, revokes a rule desired names, or revokes anything for an empty
// desired set: such a plan would revoke every owned rule while authorizing none, which only an
// empty desired set asks for, and DesiredRules never returns one. ComputePlan never builds a
// plan Check refuses; Check is there for the plans it did not build.
func Check(p Plan, d Desired) error {
	for _, r := range p.Revoke {
		if !r.Owned || r.ID == "" {
			return fmt.Errorf("security group %s: rule %s: %w", p.SecurityGroupID, r, ErrNotOwned)
		}
	}
	if len(p.Revoke) == 0 {
		return nil
	}
	switch {
	case !d.Complete:
		return fmt.Errorf("security group %s: %d rules to revoke while the desired rules are incomplete: %w",
			p.SecurityGroupID, len(p.Revoke), ErrUnsafePlan)
	case len(d.Rules) == 0:
		return fmt.Errorf("security group %s: %d rules to revoke and no rules desired: %w",
			p.SecurityGroupID, len(p.Revoke), ErrUnsafePlan)
	}
	want := make(map[string]struct{}, len(d.Rules))
	for _, r := range d.Rules {
		want[r.Key()] = struct{}{}
	}
	for _, r := range p.Revoke {
		if _, ok := want[r.Key()]; ok {
			return fmt.Errorf("security group %s: rule %s is desired: %w", p.SecurityGroupID, r, ErrUnsafePlan)
		}
	}
	return nil
}
