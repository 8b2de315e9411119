package sg

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

func mustPrefix(s string) netip.Prefix {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		panic(err)
	}
	return p
}

func tcp(from, to int32, cidr string) Rule {
	return Rule{Protocol: ProtocolTCP, FromPort: from, ToPort: to, CIDR: mustPrefix(cidr)}
}

func owned(id string, r Rule) Observed   { return Observed{Rule: r, ID: id, Owned: true} }
func foreign(id string, r Rule) Observed { return Observed{Rule: r, ID: id} }

// diff reports want and got as (-want +got) when they differ, "" otherwise.
func diff(want, got any) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	return fmt.Sprintf("\n-want: %v\n+got:  %v", want, got)
}

func TestMergePorts(t *testing.T) {
	tests := []struct {
		name  string
		ports []int32
		want  []PortRange
	}{
		{name: "none", ports: nil, want: nil},
		{name: "one", ports: []int32{30080}, want: []PortRange{{30080, 30080}}},
		{name: "contiguous", ports: []int32{30080, 30081}, want: []PortRange{{30080, 30081}}},
		{name: "gap", ports: []int32{30080, 30200}, want: []PortRange{{30080, 30080}, {30200, 30200}}},
		{name: "unsorted with duplicates", ports: []int32{30082, 30080, 30081, 30080, 30200}, want: []PortRange{{30080, 30082}, {30200, 30200}}},
		{name: "two runs", ports: []int32{30201, 30081, 30200, 30080}, want: []PortRange{{30080, 30081}, {30200, 30201}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := diff(tt.want, MergePorts(tt.ports)); d != "" {
				t.Errorf("MergePorts(%v) (-want +got):%s", tt.ports, d)
			}
		})
	}
}

// FuzzMergePorts checks that the ranges cover exactly the ports given, in order, and that no two
// ranges could have been merged.
func FuzzMergePorts(f *testing.F) {
	f.Add(int32(30080), int32(30081), int32(30200))
	f.Add(int32(1), int32(65535), int32(2))
	f.Fuzz(func(t *testing.T, a, b, c int32) {
		ports := []int32{a, b, c}
		got := MergePorts(ports)
		var covered []int32
		for i, r := range got {
			if r.From > r.To {
				t.Fatalf("range %v is backwards", r)
			}
			if i > 0 && int64(got[i-1].To)+1 >= int64(r.From) {
				t.Fatalf("ranges %v and %v touch or overlap", got[i-1], r)
			}
			for p := int64(r.From); p <= int64(r.To); p++ {
				covered = append(covered, int32(p))
			}
		}
		want := slices.Clone(ports)
		slices.Sort(want)
		want = slices.Compact(want)
		if !slices.Equal(want, covered) {
			t.Fatalf("ranges %v cover %v, want %v", got, covered, want)
		}
	})
}

func TestDesiredRules(t *testing.T) {
	vpc, nlb := mustPrefix("10.0.0.0/16"), mustPrefix("10.0.1.17/32")
	tests := []struct {
		name    string
		ports   []int32
		cidrs   []netip.Prefix
		want    []Rule
		wantErr error
	}{
		{
			name: "traffic and health check apart", ports: []int32{30080, 30200}, cidrs: []netip.Prefix{vpc},
			want: []Rule{tcp(30080, 30080, "10.0.0.0/16"), tcp(30200, 30200, "10.0.0.0/16")},
		},
		{
			name: "contiguous ports merge per source", ports: []int32{30081, 30080}, cidrs: []netip.Prefix{nlb, vpc},
			want: []Rule{tcp(30080, 30081, "10.0.0.0/16"), tcp(30080, 30081, "10.0.1.17/32")},
		},
		{
			name: "unmanaged health check port skipped", ports: []int32{30080, 0}, cidrs: []netip.Prefix{vpc},
			want: []Rule{tcp(30080, 30080, "10.0.0.0/16")},
		},
		{
			name: "host bits masked and duplicates dropped", ports: []int32{30080},
			cidrs: []netip.Prefix{mustPrefix("10.0.3.4/16"), vpc},
			want:  []Rule{tcp(30080, 30080, "10.0.0.0/16")},
		},
		{name: "no ports", ports: []int32{0}, cidrs: []netip.Prefix{vpc}, wantErr: ErrNoPorts},
		{name: "port out of range", ports: []int32{70000}, cidrs: []netip.Prefix{vpc}, wantErr: ErrInvalidPort},
		{name: "no sources", ports: []int32{30080}, wantErr: ErrNoSources},
		{name: "zero prefix", ports: []int32{30080}, cidrs: []netip.Prefix{{}}, wantErr: ErrInvalidSource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DesiredRules(tt.ports, tt.cidrs)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("DesiredRules() error = %v, want %v", err, tt.wantErr)
			}
			if d := diff(tt.want, got); d != "" {
				t.Errorf("DesiredRules() (-want +got):%s", d)
			}
		})
	}
}

func TestComputePlan(t *testing.T) {
	const vpc = "10.0.0.0/16"
	web, hc := tcp(30080, 30080, vpc), tcp(30200, 30200, vpc)
	tests := []struct {
		name    string
		desired []Rule
		// incomplete marks the desired set as missing some binding's rules.
		incomplete bool
		current    []Observed
		want       Plan
	}{
		{
			name:    "fresh group",
			desired: []Rule{hc, web},
			want:    Plan{SecurityGroupID: "sg-1", Authorize: []Rule{web, hc}},
		},
		{
			name:    "in sync",
			desired: []Rule{web, hc},
			current: []Observed{owned("sgr-1", web), owned("sgr-2", hc)},
			want:    Plan{SecurityGroupID: "sg-1"},
		},
		{
			name:    "traffic NodePort moved",
			desired: []Rule{tcp(30090, 30090, vpc), hc},
			current: []Observed{owned("sgr-1", web), owned("sgr-2", hc)},
			want:    Plan{SecurityGroupID: "sg-1", Authorize: []Rule{tcp(30090, 30090, vpc)}, Revoke: []Observed{owned("sgr-1", web)}},
		},
		{
			name:    "owned range no longer matches merged ports",
			desired: []Rule{web},
			current: []Observed{owned("sgr-1", tcp(30080, 30081, vpc))},
			want:    Plan{SecurityGroupID: "sg-1", Authorize: []Rule{web}, Revoke: []Observed{owned("sgr-1", tcp(30080, 30081, vpc))}},
		},
		{
			name:    "foreign twin is not duplicated",
			desired: []Rule{web},
			current: []Observed{foreign("sgr-9", web)},
			want:    Plan{SecurityGroupID: "sg-1"},
		},
		{
			name:    "foreign wider range covers",
			desired: []Rule{web, hc},
			current: []Observed{foreign("sgr-9", tcp(30000, 32767, vpc))},
			want:    Plan{SecurityGroupID: "sg-1"},
		},
		{
			name:    "foreign partial overlap does not cover",
			desired: []Rule{tcp(30080, 30081, vpc)},
			current: []Observed{foreign("sgr-9", web)},
			want:    Plan{SecurityGroupID: "sg-1", Authorize: []Rule{tcp(30080, 30081, vpc)}},
		},
		{
			name:    "foreign rule from another CIDR does not cover",
			desired: []Rule{web},
			current: []Observed{foreign("sgr-9", tcp(30080, 30080, "0.0.0.0/0"))},
			want:    Plan{SecurityGroupID: "sg-1", Authorize: []Rule{web}},
		},
		{
			name:    "foreign rule of another protocol does not cover",
			desired: []Rule{web},
			current: []Observed{foreign("sgr-9", Rule{Protocol: "udp", FromPort: 30080, ToPort: 30080, CIDR: mustPrefix(vpc)})},
			want:    Plan{SecurityGroupID: "sg-1", Authorize: []Rule{web}},
		},
		{
			name:    "foreign rules are never revoked",
			desired: []Rule{web},
			current: []Observed{owned("sgr-1", web), foreign("sgr-8", tcp(30090, 30090, vpc)), foreign("sgr-9", Rule{Protocol: "tcp", FromPort: 22, ToPort: 22})},
			want:    Plan{SecurityGroupID: "sg-1"},
		},
		{
			name:    "owned twin kept even when a foreign rule also covers",
			desired: []Rule{web},
			current: []Observed{owned("sgr-1", web), foreign("sgr-9", tcp(30000, 32767, vpc))},
			want:    Plan{SecurityGroupID: "sg-1"},
		},
		{
			name:    "stale owned rules revoked in order",
			desired: []Rule{web},
			current: []Observed{owned("sgr-3", tcp(30300, 30300, vpc)), owned("sgr-1", web), owned("sgr-2", hc)},
			want:    Plan{SecurityGroupID: "sg-1", Revoke: []Observed{owned("sgr-2", hc), owned("sgr-3", tcp(30300, 30300, vpc))}},
		},
		{
			name:    "duplicate desired rules planned once",
			desired: []Rule{web, web},
			want:    Plan{SecurityGroupID: "sg-1", Authorize: []Rule{web}},
		},
		{
			name:       "incomplete desired set revokes nothing",
			desired:    []Rule{tcp(30090, 30090, vpc)},
			incomplete: true,
			current:    []Observed{owned("sgr-1", web), owned("sgr-2", hc)},
			want:       Plan{SecurityGroupID: "sg-1", Authorize: []Rule{tcp(30090, 30090, vpc)}},
		},
		{
			name:       "incomplete and empty desired set plans nothing",
			incomplete: true,
			current:    []Observed{owned("sgr-1", web)},
			want:       Plan{SecurityGroupID: "sg-1"},
		},
		{
			name:    "every owned rule revoked when foreign rules now cover the desired set",
			desired: []Rule{web},
			current: []Observed{owned("sgr-1", tcp(30080, 30081, vpc)), foreign("sgr-9", tcp(30000, 32767, vpc))},
			want:    Plan{SecurityGroupID: "sg-1", Revoke: []Observed{owned("sgr-1", tcp(30080, 30081, vpc))}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desired := Desired{Rules: tt.desired, Complete: !tt.incomplete}
			got := ComputePlan(desired, Group{ID: "sg-1", Rules: tt.current})
			if d := diff(tt.want, got); d != "" {
				t.Errorf("ComputePlan() (-want +got):%s", d)
			}
			if err := Check(got, desired); err != nil {
				t.Errorf("Check() of ComputePlan's own plan = %v", err)
			}
		})
	}
}

func TestPlanString(t *testing.T) {
	p := Plan{
		SecurityGroupID: "sg-1",
		Authorize:       []Rule{tcp(30080, 30081, "10.0.0.0/16")},
		Revoke:          []Observed{owned("sgr-1", tcp(30200, 30200, "10.0.0.0/16"))},
	}
	want := "sg-1: authorize tcp 30080-30081 from 10.0.0.0/16\nsg-1: revoke sgr-1 tcp 30200 from 10.0.0.0/16"
	if got := p.String(); got != want {
		t.Errorf("String() (-want +got):\n-%s\n+%s", want, got)
	}
	if got := (Plan{SecurityGroupID: "sg-1"}).String(); got != "sg-1: in sync" {
		t.Errorf("empty plan String() = %q", got)
	}
}
