package sg

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// ProtocolTCP is the only protocol targetsync opens: NodePorts of an NLB's TCP listeners.
const ProtocolTCP = "tcp"

// protocolAll is how AWS spells "all traffic"; its port range is -1..-1.
const protocolAll = "-1"

// Rule is one ingress permission: a protocol and port range from one CIDR. It is a plain value
// so plans can compare rules with == and use them as map keys.
type Rule struct {
	Protocol string
	FromPort int32
	ToPort   int32
	// CIDR is the zero Prefix for rules whose source is a security group or a prefix list;
	// such rules are never ours and never cover one of ours.
	CIDR netip.Prefix
}

// Key is the rule's canonical identity, the same one AWS uses to call two rules duplicates:
// protocol, port range and source, but not description or tags.
func (r Rule) Key() string {
	return fmt.Sprintf("%s:%d-%d:%s", r.Protocol, r.FromPort, r.ToPort, r.CIDR)
}

// String renders the rule the way people read it: "tcp 30080-30081 from 10.0.0.0/16".
func (r Rule) String() string {
	src := "non-CIDR source"
	if r.CIDR.IsValid() {
		src = r.CIDR.String()
	}
	return fmt.Sprintf("%s %s from %s", r.Protocol, PortRange{r.FromPort, r.ToPort}, src)
}

// Compare orders rules by protocol, source, then ports, so plans print and apply in a stable
// order with the rules of one source together.
func (r Rule) Compare(o Rule) int {
	return cmp.Or(
		strings.Compare(r.Protocol, o.Protocol),
		r.CIDR.Compare(o.CIDR),
		cmp.Compare(r.FromPort, o.FromPort),
		cmp.Compare(r.ToPort, o.ToPort),
	)
}

// Covers reports whether r already lets through everything o would: same protocol, same CIDR,
// and a port range that contains o's. It is how a foreign rule spares us a duplicate.
func (r Rule) Covers(o Rule) bool {
	if !r.CIDR.IsValid() || r.Protocol != o.Protocol || r.CIDR != o.CIDR {
		return false
	}
	return r.FromPort <= o.FromPort && o.ToPort <= r.ToPort
}

// Observed is an ingress rule as AWS reports it, with what only the current state has: its ID,
// which revoking needs, and whether it carries our ownership marker.
type Observed struct {
	Rule
	ID          string
	Description string
	Owned       bool
}

// String renders the observed rule with its ID, the form used in plans.
func (o Observed) String() string { return fmt.Sprintf("%s %s", o.ID, o.Rule) }

// Compare orders observed rules like rules, then by ID.
func (o Observed) Compare(p Observed) int {
	return cmp.Or(o.Rule.Compare(p.Rule), strings.Compare(o.ID, p.ID))
}

// Group is what a reconcile needs to know about one security group: its ingress rules.
// Egress rules are not read; targetsync never changes them and they have a quota of their own.
type Group struct {
	ID    string
	Rules []Observed
}

// Budget counts a security group's ingress rules by owner. The rules-per-group quota is shared
// by everyone writing to the group, so the split shows who is using it up.
type Budget struct {
	// Owned counts rules carrying this client's ownership marker.
	Owned int
	// Other counts every other ingress rule: hand-written, from other tools, from other clusters.
	Other int
}

// Total is the number of ingress rules counted against the group's quota.
func (b Budget) Total() int { return b.Owned + b.Other }

// Budget counts g's ingress rules by owner.
func (g Group) Budget() Budget {
	var b Budget
	for _, r := range g.Rules {
		if r.Owned {
			b.Owned++
		} else {
			b.Other++
		}
	}
	return b
}

// PortRange is an inclusive range of ports, the unit one rule opens.
type PortRange struct {
	From int32
	To   int32
}

// String renders a single port as "30080" and a range as "30080-30081".
func (p PortRange) String() string {
	if p.From == p.To {
		return fmt.Sprint(p.From)
	}
	return fmt.Sprintf("%d-%d", p.From, p.To)
}

// MergePorts folds ports into the fewest inclusive ranges: contiguous ports share a range, so
// 30080 and 30081 need one rule and 30080 and 30200 need two. Order and duplicates in ports do
// not matter; the result is sorted.
func MergePorts(ports []int32) []PortRange {
	ps := slices.Clone(ports)
	slices.Sort(ps)
	ps = slices.Compact(ps)
	var out []PortRange
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].To+1 == p {
			out[n-1].To = p
			continue
		}
		out = append(out, PortRange{From: p, To: p})
	}
	return out
}

// DesiredRules returns the rules one worker security group should hold: TCP on every port,
// merged into ranges, from every CIDR. A zero port is skipped, since it stands for a health
// check that is not managed. The result is sorted and free of duplicates.
//
// It refuses to return an empty set, because an empty desired set plans the revocation of every
// rule we own: an unresolved port or source must stop the reconcile, not close the group.
func DesiredRules(ports []int32, cidrs []netip.Prefix) ([]Rule, error) {
	var valid []int32
	for _, p := range ports {
		switch {
		case p == 0:
		case p < 0 || p > 65535:
			return nil, fmt.Errorf("port %d: %w", p, ErrInvalidPort)
		default:
			valid = append(valid, p)
		}
	}
	if len(valid) == 0 {
		return nil, ErrNoPorts
	}
	var sources []netip.Prefix
	for _, c := range cidrs {
		if !c.IsValid() {
			return nil, fmt.Errorf("source %q: %w", c, ErrInvalidSource)
		}
		sources = append(sources, c.Masked())
	}
	slices.SortFunc(sources, netip.Prefix.Compare)
	sources = slices.Compact(sources)
	if len(sources) == 0 {
		return nil, ErrNoSources
	}

	ranges := MergePorts(valid)
	out := make([]Rule, 0, len(sources)*len(ranges))
	for _, c := range sources {
		for _, pr := range ranges {
			out = append(out, Rule{Protocol: ProtocolTCP, FromPort: pr.From, ToPort: pr.To, CIDR: c})
		}
	}
	slices.SortFunc(out, Rule.Compare)
	return out, nil
}

// normalizeProtocol maps the spellings AWS may return for a protocol onto one, so that a rule
// written as "6" and one written as "tcp" compare equal.
func normalizeProtocol(p string) string {
	switch p = strings.ToLower(p); p {
	case "6":
		return ProtocolTCP
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "all":
		return protocolAll
	}
	return p
}
