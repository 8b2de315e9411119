package elb_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/targetsync/targetsync/pkg/elb"
)

// read does what a sync does before planning: Describe, then Tags, then the VPC's CIDRs.
func read(t *testing.T, c *elb.Client, vpc []netip.Prefix) elb.TargetGroup {
	t.Helper()
	ctx := context.Background()
	tg, err := c.Describe(ctx, testARN)
	if err != nil {
		t.Fatalf("Describe() error = %v", err)
	}
	if tg.Tags, err = c.Tags(ctx, testARN); err != nil {
		t.Fatalf("Tags() error = %v", err)
	}
	tg.VPCCIDRs = vpc
	return tg
}

// TestSyncTwiceIsQuiet runs read → plan → apply twice against the fake, with a node outside the
// VPC, a gone node outside the VPC and a health check to set: the second round must plan
// nothing and call no mutating API.
func TestSyncTwiceIsQuiet(t *testing.T) {
	vpc := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}
	api := newFakeAPI(ipGroup(testARN))
	api.vpc = vpc
	api.seed(testARN, "eu-west-1a", tgt("10.0.0.1", 30443), tgt("10.0.0.9", 30443))
	api.seed(testARN, elb.ZoneAll, tgt("192.168.5.9", 30443))
	c := elb.NewClient(api)
	d := elb.Desired{
		Targets:         []elb.Target{tgt("10.0.0.1", 30443), tgt("10.0.0.2", 30443), tgt("192.168.5.1", 30443)},
		HealthCheck:     elb.HealthCheck{Protocol: "HTTP", Port: 30200, Path: "/healthz"},
		HealthCheckMode: elb.HealthCheckSet,
	}
	ctx := context.Background()

	first := elb.ComputePlan(d, read(t, c, vpc))
	res, err := c.Apply(ctx, testARN, first)
	if err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
	want := []call{
		reg("10.0.0.2:30443", "192.168.5.1:30443@all"),
		modify("HTTP:30200/healthz"),
		tagHC("30200"),
		dereg("10.0.0.9:30443", "192.168.5.9:30443@all"),
	}
	if diff := cmp.Diff(want, api.calls[3:]); diff != "" {
		t.Errorf("first round calls mismatch (-want +got):\n%s", diff)
	}
	if len(res.Rejected)+len(res.OverQuota)+len(res.Held) != 0 {
		t.Errorf("first round left changes behind: %+v", res)
	}

	api.calls = nil
	second := elb.ComputePlan(d, read(t, c, vpc))
	if diff := cmp.Diff(elb.Plan{}, second, cmpOpts); diff != "" {
		t.Errorf("second plan mismatch (-want +got):\n%s", diff)
	}
	if _, err := c.Apply(ctx, testARN, second); err != nil {
		t.Fatalf("second Apply() error = %v", err)
	}
	if diff := cmp.Diff([]string{"DescribeTargetGroups", "DescribeTargetHealth", "DescribeTags"}, api.ops()); diff != "" {
		t.Errorf("second round calls mismatch (-want +got):\n%s", diff)
	}
}

// TestHealthCheckLifecycle sets a health check, releases it, and checks that a port someone
// else set afterwards is never given back by targetsync.
func TestHealthCheckLifecycle(t *testing.T) {
	api := newFakeAPI(ipGroup(testARN))
	c := elb.NewClient(api)
	ctx := context.Background()
	set := elb.Desired{HealthCheck: elb.HealthCheck{Protocol: "HTTP", Port: 30200, Path: "/healthz"}, HealthCheckMode: elb.HealthCheckSet}
	release := elb.Desired{HealthCheckMode: elb.HealthCheckRelease}

	steps := []struct {
		name   string
		before func()
		d      elb.Desired
		want   []call // mutating calls
	}{
		{name: "set", d: set, want: []call{modify("HTTP:30200/healthz"), tagHC("30200")}},
		{name: "set again is quiet", d: set},
		{name: "keep is quiet", d: elb.Desired{}},
		{name: "release gives the port back", d: release, want: []call{modify("HTTP:traffic-port/healthz"), tagHC("traffic-port")}},
		{name: "release again is quiet", d: release},
		{
			name: "a port someone else set is not released",
			before: func() {
				g := api.groups[testARN]
				g.HealthCheckPort = aws.String("8080")
				api.groups[testARN] = g
			},
			d: release,
		},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		api.calls = nil
		p := elb.ComputePlan(s.d, read(t, c, nil))
		if _, err := c.Apply(ctx, testARN, p); err != nil {
			t.Fatalf("%s: Apply() error = %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, api.calls[3:], cmpOpts); diff != "" {
			t.Errorf("%s: calls mismatch (-want +got):\n%s", s.name, diff)
		}
	}
}
