package sg

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

func TestCheck(t *testing.T) {
	const vpc = "10.0.0.0/16"
	web, hc, stale := tcp(30080, 30080, vpc), tcp(30200, 30200, vpc), tcp(30300, 30300, vpc)
	complete := Desired{Rules: []Rule{web, hc}, Complete: true}
	tests := []struct {
		name    string
		plan    Plan
		desired Desired
		wantErr error
	}{
		{name: "empty plan", desired: complete},
		{name: "empty plan, empty desired set", desired: Desired{Complete: true}},
		{name: "authorize only while incomplete", plan: Plan{Authorize: []Rule{web}}, desired: Desired{Rules: []Rule{web}}},
		{name: "revoke a stale owned rule", plan: Plan{Authorize: []Rule{hc}, Revoke: []Observed{owned("sgr-3", stale)}}, desired: complete},
		{name: "revoke a foreign rule", plan: Plan{Revoke: []Observed{foreign("sgr-9", stale)}}, desired: complete, wantErr: ErrNotOwned},
		{name: "revoke an owned rule without its ID", plan: Plan{Revoke: []Observed{{Rule: stale, Owned: true}}}, desired: complete, wantErr: ErrNotOwned},
		{name: "foreign rule while incomplete", plan: Plan{Revoke: []Observed{foreign("sgr-9", stale)}}, wantErr: ErrNotOwned},
		{name: "revoke while incomplete", plan: Plan{Revoke: []Observed{owned("sgr-3", stale)}}, desired: Desired{Rules: []Rule{web, hc}}, wantErr: ErrUnsafePlan},
		{name: "revoke everything for an empty desired set", plan: Plan{Revoke: []Observed{owned("sgr-1", web)}}, desired: Desired{Complete: true}, wantErr: ErrUnsafePlan},
		{name: "revoke a desired rule", plan: Plan{Revoke: []Observed{owned("sgr-1", web)}}, desired: complete, wantErr: ErrUnsafePlan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.plan.SecurityGroupID = "sg-1"
			err := Check(tt.plan, tt.desired)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Check() = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !IsTerminal(err) {
				t.Errorf("Check() = %v, want a terminal error", err)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	const vpc = "10.0.0.0/16"
	all := func(cidr string) Rule {
		return Rule{Protocol: protocolAll, FromPort: -1, ToPort: -1, CIDR: mustPrefix(cidr)}
	}
	cidrs := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, mustPrefix(s))
		}
		return out
	}
	tests := []struct {
		name  string
		rules []Observed
		port  int32
		cidrs []netip.Prefix
		want  bool
	}{
		{name: "owned exact rule", rules: []Observed{owned("sgr-1", tcp(30080, 30080, vpc))}, port: 30080, cidrs: cidrs(vpc), want: true},
		{name: "foreign covering range", rules: []Observed{foreign("sgr-9", tcp(30000, 32767, vpc))}, port: 30080, cidrs: cidrs(vpc), want: true},
		{name: "foreign all-traffic rule", rules: []Observed{foreign("sgr-9", all("10.0.0.0/8"))}, port: 30080, cidrs: cidrs(vpc, "10.0.1.17/32"), want: true},
		{name: "wider rule CIDR covers a narrower source", rules: []Observed{owned("sgr-1", tcp(30080, 30080, vpc))}, port: 30080, cidrs: cidrs("10.0.1.17/32"), want: true},
		{name: "source CIDR wider than the rule's", rules: []Observed{owned("sgr-1", tcp(30080, 30080, "10.0.1.0/24"))}, port: 30080, cidrs: cidrs(vpc), want: false},
		{name: "one source CIDR missing", rules: []Observed{owned("sgr-1", tcp(30080, 30080, vpc))}, port: 30080, cidrs: cidrs(vpc, "100.64.0.0/16"), want: false},
		{name: "every source CIDR by its own rule", rules: []Observed{owned("sgr-1", tcp(30080, 30081, vpc)), foreign("sgr-9", tcp(30080, 30080, "100.64.0.0/16"))}, port: 30080, cidrs: cidrs(vpc, "100.64.0.0/16"), want: true},
		{name: "port outside the range", rules: []Observed{owned("sgr-1", tcp(30080, 30081, vpc))}, port: 30082, cidrs: cidrs(vpc), want: false},
		{name: "udp does not open tcp", rules: []Observed{foreign("sgr-9", Rule{Protocol: "udp", FromPort: 30080, ToPort: 30080, CIDR: mustPrefix(vpc)})}, port: 30080, cidrs: cidrs(vpc), want: false},
		{name: "security-group source does not count", rules: []Observed{foreign("sgr-9", Rule{Protocol: protocolAll, FromPort: -1, ToPort: -1})}, port: 30080, cidrs: cidrs(vpc), want: false},
		{name: "IPv6 rule does not open IPv4", rules: []Observed{foreign("sgr-9", all("::/0"))}, port: 30080, cidrs: cidrs(vpc), want: false},
		{name: "no rules", port: 30080, cidrs: cidrs(vpc), want: false},
		{name: "no source CIDRs proves nothing", rules: []Observed{foreign("sgr-9", all("0.0.0.0/0"))}, port: 30080, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Open(Group{ID: "sg-1", Rules: tt.rules}, tt.port, tt.cidrs); got != tt.want {
				t.Errorf("Open(%v, %d, %v) = %v, want %v", tt.rules, tt.port, tt.cidrs, got, tt.want)
			}
		})
	}
}

// FuzzComputePlan checks the plan's safety properties on arbitrary groups: Check accepts every
// plan ComputePlan builds, foreign rules are never revoked, an incomplete desired set revokes
// nothing, and applying the plan leaves every desired rule open.
func FuzzComputePlan(f *testing.F) {
	f.Add(uint64(0x0123456789abcdef), uint16(0x0f0f), true)
	f.Add(uint64(0xfedcba9876543210), uint16(0x00ff), false)
	f.Fuzz(func(t *testing.T, seed uint64, mask uint16, complete bool) {
		cidrs := []string{"10.0.0.0/16", "10.0.1.17/32", "100.64.0.0/16"}
		var current []Observed
		for i := range 8 {
			bits := seed >> (8 * i)
			port := 30080 + int32(bits%4)
			r := tcp(port, port+int32(bits>>2%2), cidrs[bits>>3%3])
			if bits>>5%2 == 0 {
				current = append(current, owned(fmt.Sprintf("sgr-%d", i), r))
			} else {
				current = append(current, foreign(fmt.Sprintf("sgr-%d", i), r))
			}
		}
		var ports []int32
		for i := range 4 {
			if mask>>i&1 == 1 {
				ports = append(ports, 30080+int32(i))
			}
		}
		rules, err := DesiredRules(ports, []netip.Prefix{mustPrefix(cidrs[mask>>8%3])})
		if err != nil {
			return
		}
		d := Desired{Rules: rules, Complete: complete}
		g := Group{ID: "sg-1", Rules: current}
		p := ComputePlan(d, g)
		if err := Check(p, d); err != nil {
			t.Fatalf("Check(ComputePlan()) = %v for %v", err, p)
		}
		if !complete && len(p.Revoke) > 0 {
			t.Fatalf("incomplete desired set revoked %v", p.Revoke)
		}
		var after []Observed
		for _, o := range current {
			if !slices.ContainsFunc(p.Revoke, func(r Observed) bool { return r.ID == o.ID }) {
				after = append(after, o)
			}
		}
		for _, r := range p.Authorize {
			after = append(after, Observed{Rule: r, Owned: true})
		}
		for _, r := range rules {
			for port := r.FromPort; port <= r.ToPort; port++ {
				if !Open(Group{Rules: after}, port, []netip.Prefix{r.CIDR}) {
					t.Fatalf("after plan %v, port %d of desired %v is not open", p, port, r)
				}
			}
		}
	})
}
