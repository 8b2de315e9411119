package sg

import (
	"fmt"
	"slices"
	"strings"
)

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
// every other owned rule is revoked. A desired rule without an owned twin is authorized unless a
// foreign rule already covers it (same protocol and CIDR, a port range containing it), so we
// never duplicate what someone else opened. Foreign rules are never revoked, whatever they
// overlap.
func ComputePlan(desired []Rule, current Group) Plan {
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
	want := make(map[string]struct{}, len(desired))
	for _, d := range desired {
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
	for k, o := range owned {
		if _, ok := want[k]; !ok {
			p.Revoke = append(p.Revoke, o)
		}
	}
	slices.SortFunc(p.Authorize, Rule.Compare)
	slices.SortFunc(p.Revoke, Observed.Compare)
	return p
}
