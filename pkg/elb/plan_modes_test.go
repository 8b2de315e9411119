package elb_test

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/targetsync/targetsync/pkg/elb"
)

func TestComputePlanAnyZone(t *testing.T) {
	vpc := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16"), netip.MustParsePrefix("100.64.0.0/16")}
	obsZone := func(ip string, port int32, state, zone string) elb.Observed {
		o := obs(ip, port, state)
		o.AvailabilityZone = zone
		return o
	}
	addrs := func(ips ...string) map[netip.Addr]bool {
		m := map[netip.Addr]bool{}
		for _, ip := range ips {
			m[netip.MustParseAddr(ip)] = true
		}
		return m
	}
	tests := []struct {
		name    string
		desired []elb.Target
		current elb.TargetGroup
		want    map[netip.Addr]bool
	}{
		{
			name:    "VPC CIDRs unknown: every registration is left to AWS",
			desired: []elb.Target{tgt("10.0.0.1", 30080), tgt("192.168.0.1", 30080)},
			want:    nil,
		},
		{
			name:    "registrations inside any VPC CIDR need no zone",
			desired: []elb.Target{tgt("10.0.0.1", 30080), tgt("100.64.3.4", 30080)},
			current: elb.TargetGroup{VPCCIDRs: vpc},
			want:    nil,
		},
		{
			name:    "a registration outside every VPC CIDR goes to all zones",
			desired: []elb.Target{tgt("10.0.0.1", 30080), tgt("192.168.0.1", 30080)},
			current: elb.TargetGroup{VPCCIDRs: vpc},
			want:    addrs("192.168.0.1"),
		},
		{
			name:    "a target already registered is not planned, so not in AnyZone",
			desired: []elb.Target{tgt("192.168.0.1", 30080)},
			current: elb.TargetGroup{VPCCIDRs: vpc, Targets: []elb.Observed{obsZone("192.168.0.1", 30080, elb.StateHealthy, elb.ZoneAll)}},
			want:    nil,
		},
		{
			name: "a deregistration of a target AWS reports in zone all goes with all, VPC CIDRs known or not",
			current: elb.TargetGroup{Targets: []elb.Observed{
				obsZone("192.168.0.1", 30080, elb.StateHealthy, elb.ZoneAll),
				obsZone("10.0.0.1", 30080, elb.StateHealthy, "eu-west-1a"),
			}},
			want: addrs("192.168.0.1"),
		},
		{
			name:    "a draining target in zone all is not deregistered again",
			current: elb.TargetGroup{Targets: []elb.Observed{obsZone("192.168.0.1", 30080, elb.StateDraining, elb.ZoneAll)}},
			want:    nil,
		},
		{
			name:    "a port move outside the VPC goes with all both ways",
			desired: []elb.Target{tgt("192.168.0.1", 31080)},
			current: elb.TargetGroup{VPCCIDRs: vpc, Targets: []elb.Observed{obsZone("192.168.0.1", 30080, elb.StateHealthy, elb.ZoneAll)}},
			want:    addrs("192.168.0.1"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := elb.ComputePlan(elb.Desired{Targets: tt.desired}, tt.current)
			if diff := cmp.Diff(tt.want, got.AnyZone, cmpOpts); diff != "" {
				t.Errorf("AnyZone mismatch (-want +got):\n%s", diff)
			}
			if tt.want == nil && got.AnyZone != nil {
				t.Errorf("AnyZone = %v, want nil", got.AnyZone)
			}
		})
	}
}

func TestComputePlanHealthCheck(t *testing.T) {
	tcp := elb.HealthCheck{Protocol: "TCP"}
	trafficHTTP := elb.HealthCheck{Protocol: "HTTP", Path: "/healthz"}
	other := elb.HealthCheck{Protocol: "HTTPS", Port: 8443, Path: "/ready"}
	tags := func(port string) map[string]string {
		return map[string]string{elb.TagCluster: "prod", elb.TagHealthCheckPort: port}
	}
	tests := []struct {
		name    string
		desired elb.Desired
		current elb.TargetGroup
		want    *elb.HealthCheckChange
	}{
		{
			name:    "keep never plans a change, even with a health check to set",
			desired: elb.Desired{HealthCheck: hcLocal, HealthCheckMode: elb.HealthCheckKeep},
			current: elb.TargetGroup{HealthCheck: tcp, Tags: map[string]string{}},
		},
		{
			name:    "keep never plans a change, even on a port targetsync set",
			desired: elb.Desired{HealthCheckMode: elb.HealthCheckKeep},
			current: elb.TargetGroup{HealthCheck: hcLocal, Tags: tags("30200")},
		},
		{
			name:    "set: a different health check is modified",
			desired: elb.Desired{HealthCheck: hcLocal, HealthCheckMode: elb.HealthCheckSet},
			current: elb.TargetGroup{HealthCheck: tcp, Tags: map[string]string{}},
			want:    &elb.HealthCheckChange{From: tcp, To: hcLocal},
		},
		{
			name:    "set: in sync and recorded, nothing to do",
			desired: elb.Desired{HealthCheck: hcLocal, HealthCheckMode: elb.HealthCheckSet},
			current: elb.TargetGroup{HealthCheck: hcLocal, Tags: tags("30200")},
		},
		{
			name:    "set: in sync, tags not read: nothing to do",
			desired: elb.Desired{HealthCheck: hcLocal, HealthCheckMode: elb.HealthCheckSet},
			current: elb.TargetGroup{HealthCheck: hcLocal},
		},
		{
			name:    "set: in sync but not recorded as ours: recorded, so it can be released later",
			desired: elb.Desired{HealthCheck: hcLocal, HealthCheckMode: elb.HealthCheckSet},
			current: elb.TargetGroup{HealthCheck: hcLocal, Tags: map[string]string{elb.TagCluster: "prod"}},
			want:    &elb.HealthCheckChange{From: hcLocal, To: hcLocal},
		},
		{
			name:    "set with no port names nothing to set",
			desired: elb.Desired{HealthCheck: elb.HealthCheck{Protocol: "HTTP", Path: "/healthz"}, HealthCheckMode: elb.HealthCheckSet},
			current: elb.TargetGroup{HealthCheck: tcp, Tags: map[string]string{}},
		},
		{
			name:    "release: the port targetsync recorded goes back to the traffic port, keeping protocol and path",
			desired: elb.Desired{HealthCheckMode: elb.HealthCheckRelease},
			current: elb.TargetGroup{HealthCheck: hcLocal, Tags: tags("30200")},
			want:    &elb.HealthCheckChange{From: hcLocal, To: trafficHTTP},
		},
		{
			name:    "release: a port targetsync did not set is left alone",
			desired: elb.Desired{HealthCheckMode: elb.HealthCheckRelease},
			current: elb.TargetGroup{HealthCheck: other, Tags: tags("30200")},
		},
		{
			name:    "release: no record at all, left alone",
			desired: elb.Desired{HealthCheckMode: elb.HealthCheckRelease},
			current: elb.TargetGroup{HealthCheck: hcLocal, Tags: map[string]string{}},
		},
		{
			name:    "release: tags not read, left alone",
			desired: elb.Desired{HealthCheckMode: elb.HealthCheckRelease},
			current: elb.TargetGroup{HealthCheck: hcLocal},
		},
		{
			name:    "release: already on the traffic port, nothing to do",
			desired: elb.Desired{HealthCheckMode: elb.HealthCheckRelease},
			current: elb.TargetGroup{HealthCheck: trafficHTTP, Tags: tags("traffic-port")},
		},
		{
			name:    "an unknown mode plans nothing",
			desired: elb.Desired{HealthCheck: hcLocal, HealthCheckMode: elb.HealthCheckMode(42)},
			current: elb.TargetGroup{HealthCheck: tcp, Tags: map[string]string{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := elb.ComputePlan(tt.desired, tt.current)
			if diff := cmp.Diff(tt.want, got.HealthCheck); diff != "" {
				t.Errorf("HealthCheck mismatch (-want +got):\n%s", diff)
			}
			if got.Empty() != (tt.want == nil) {
				t.Errorf("Empty() = %v, want %v", got.Empty(), tt.want == nil)
			}
		})
	}
}

func TestHealthCheckChangeRecordOnly(t *testing.T) {
	if !(elb.HealthCheckChange{From: hcLocal, To: hcLocal}).RecordOnly() {
		t.Error("RecordOnly() = false for an unchanged health check")
	}
	if (elb.HealthCheckChange{From: elb.HealthCheck{Protocol: "TCP"}, To: hcLocal}).RecordOnly() {
		t.Error("RecordOnly() = true for a changed health check")
	}
}

func TestPlanMoves(t *testing.T) {
	ip := netip.MustParseAddr
	tests := []struct {
		name string
		plan elb.Plan
		want map[netip.Addr]bool
	}{
		{name: "empty plan", want: nil},
		{name: "only registrations", plan: elb.Plan{Register: []elb.Target{tgt("10.0.0.1", 31080)}}, want: nil},
		{name: "only deregistrations", plan: elb.Plan{Deregister: []elb.Target{tgt("10.0.0.1", 30080)}}, want: nil},
		{
			name: "a node on a new port is a move; a gone node and a new node are not",
			plan: elb.Plan{
				Register:   []elb.Target{tgt("10.0.0.1", 31080), tgt("10.0.0.3", 31080)},
				Deregister: []elb.Target{tgt("10.0.0.1", 30080), tgt("10.0.0.2", 30080)},
			},
			want: map[netip.Addr]bool{ip("10.0.0.1"): true},
		},
		{
			name: "a move computed by ComputePlan",
			plan: elb.ComputePlan(elb.Desired{Targets: []elb.Target{tgt("10.0.0.1", 31080), tgt("10.0.0.2", 31080)}},
				elb.TargetGroup{Targets: []elb.Observed{obs("10.0.0.1", 30080, elb.StateHealthy), obs("10.0.0.2", 30080, elb.StateHealthy)}}),
			want: map[netip.Addr]bool{ip("10.0.0.1"): true, ip("10.0.0.2"): true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.plan.Moves()
			if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
				t.Errorf("Moves() mismatch (-want +got):\n%s", diff)
			}
			if tt.want == nil && got != nil {
				t.Errorf("Moves() = %v, want nil", got)
			}
		})
	}
}
