package sg

import "net/netip"

// Open reports whether g lets TCP on port through from every one of cidrs: for each cidr, some
// ingress rule of g, owned or foreign, with that CIDR or a wider one containing it, and either
// protocol tcp with a port range containing port or protocol "-1" (all traffic). The
// controller asks it whether targets on port can be registered without waiting for a rule.
//
// With no cidrs it reports false: an unknown source set proves nothing is open.
func Open(g Group, port int32, cidrs []netip.Prefix) bool {
	if len(cidrs) == 0 {
		return false
	}
	for _, c := range cidrs {
		if !c.IsValid() {
			return false
		}
		c = c.Masked()
		if !openFrom(g.Rules, port, c) {
			return false
		}
	}
	return true
}

// openFrom reports whether one of rules lets TCP on port through from all of cidr.
func openFrom(rules []Observed, port int32, cidr netip.Prefix) bool {
	for _, r := range rules {
		if !r.CIDR.IsValid() || r.CIDR.Bits() > cidr.Bits() || !r.CIDR.Contains(cidr.Addr()) {
			continue
		}
		switch r.Protocol {
		case protocolAll:
			return true
		case ProtocolTCP:
			if r.FromPort <= port && port <= r.ToPort {
				return true
			}
		}
	}
	return false
}
