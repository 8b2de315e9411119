//go:build !nomoto

package testenv

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// health returns DescribeTargetHealth through c, by ip:port.
func (w *world) health(c *AWS) map[string]elbtypes.TargetHealthDescription {
	w.t.Helper()
	out, err := c.ELB.DescribeTargetHealth(w.ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(w.nlb.TargetGroupARN)})
	if err != nil {
		w.t.Fatal(err)
	}
	m := map[string]elbtypes.TargetHealthDescription{}
	for _, d := range out.TargetHealthDescriptions {
		m[keyOf(aws.ToString(d.Target.Id), strconv.Itoa(int(aws.ToInt32(d.Target.Port))))] = d
	}
	return m
}

func TestTargetQuota(t *testing.T) {
	w := newWorld(t)
	c := w.client(1)
	w.proxy.SetTargetQuota(2)
	if err := w.register(c, 30080, "10.0.1.1", "10.0.1.2", "10.0.1.3"); err == nil {
		t.Fatal("3 targets registered under a quota of 2")
	} else if msg := wantAPIError(t, err, "TooManyTargets", 400); msg != "You've reached the limit on the number of targets per target group" {
		t.Errorf("message = %q", msg)
	}
	if got := w.motoTargets(); len(got) != 0 {
		t.Fatalf("a refused call registered %v", got)
	}
	if err := w.register(c, 30080, "10.0.1.1", "10.0.1.2"); err != nil {
		t.Fatal(err)
	}
	// Targets already registered do not add.
	if err := w.register(c, 30080, "10.0.1.2"); err != nil {
		t.Fatalf("re-registering a registered target under a full quota: %v", err)
	}
	wantAPIError(t, w.register(c, 30080, "10.0.1.2", "10.0.1.3"), "TooManyTargets", 400)
	if got, want := w.motoTargets(), Expect(30080, "10.0.1.1", "10.0.1.2"); !slices.Equal(got, want) {
		t.Errorf("moto has %v, want the first ones only, %v", got, want)
	}
	w.proxy.SetTargetQuota(0)
	if err := w.register(c, 30080, "10.0.1.3"); err != nil {
		t.Fatalf("with the quota off: %v", err)
	}
}

func TestVPCCheck(t *testing.T) {
	w := newWorld(t)
	c := w.client(1)
	w.proxy.SetVPCCIDRs(netip.MustParsePrefix("10.0.0.0/16"))

	err := w.register(c, 30080, "10.0.1.5", "192.168.1.5")
	if msg := wantAPIError(t, err, "ValidationError", 400); msg != "The Availability Zone is required for IP address '192.168.1.5' because it is not in the VPC" {
		t.Errorf("message = %q", msg)
	}
	if got := w.motoTargets(); len(got) != 0 {
		t.Fatalf("a refused call registered %v", got)
	}

	err = w.register(c, 30080, "10.0.1.5/all")
	if msg := wantAPIError(t, err, "ValidationError", 400); msg != "The IP address '10.0.1.5' is within the VPC, and cannot have its Availability Zone overridden to 'all' from 'us-east-1a'" {
		t.Errorf("message = %q", msg)
	}

	if err := w.register(c, 30080, "10.0.1.5", "192.168.1.5/all"); err != nil {
		t.Fatalf("outside the VPC with AvailabilityZone all: %v", err)
	}
	h := w.health(c)
	if got, want := sortedKeys(h), []string{"10.0.1.5:30080", "192.168.1.5:30080"}; !slices.Equal(got, want) {
		t.Fatalf("targets = %v, want %v", got, want)
	}
	if az := aws.ToString(h["192.168.1.5:30080"].Target.AvailabilityZone); az != "all" {
		t.Errorf("AvailabilityZone of 192.168.1.5 = %q, want all", az)
	}
	if az := h["10.0.1.5:30080"].Target.AvailabilityZone; az != nil {
		t.Errorf("AvailabilityZone of 10.0.1.5 = %q, want none (moto does not place targets in zones)", *az)
	}

	w.proxy.SetVPCCIDRs()
	if err := w.register(c, 30080, "192.168.1.6"); err != nil {
		t.Fatalf("with the check off: %v", err)
	}
}

func TestRejectTarget(t *testing.T) {
	w := newWorld(t)
	c := w.client(1)
	w.proxy.RejectTarget("10.0.1.7", "InvalidTarget", "The specified target does not exist")
	err := w.register(c, 30080, "10.0.1.6", "10.0.1.7")
	if msg := wantAPIError(t, err, "InvalidTarget", 400); msg != "The specified target does not exist" {
		t.Errorf("message = %q", msg)
	}
	if got := w.motoTargets(); len(got) != 0 {
		t.Fatalf("a refused call registered %v", got)
	}
	w.proxy.AllowTarget("10.0.1.7")
	if err := w.register(c, 30080, "10.0.1.6", "10.0.1.7"); err != nil {
		t.Fatal(err)
	}
	if got := w.proxy.Registered(); !slices.Equal(got, []string{"10.0.1.6:30080", "10.0.1.7:30080"}) {
		t.Errorf("Registered = %v", got)
	}
}

// moto keys targets by Id: registering ip:b overwrites ip:a, and deregistering ip:a drops ip:b.
// Through the proxy, as in AWS, they are two targets, whether the proxy reads moto's view of the
// group before each write or keeps it from its own writes (KeepMotoViews).
func TestTargetsAreKeyedByIdAndPort(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("KeepMotoViews=%t", keep), func(t *testing.T) {
			w := newWorld(t)
			if keep {
				w.proxy.KeepMotoViews()
			}
			testTargetsAreKeyedByIdAndPort(t, w)
		})
	}
}

func testTargetsAreKeyedByIdAndPort(t *testing.T, w *world) {
	c := w.client(1)
	if err := w.register(c, 30080, "10.0.1.1"); err != nil {
		t.Fatal(err)
	}
	if err := w.register(c, 30081, "10.0.1.1"); err != nil {
		t.Fatal(err)
	}
	if got, want := sortedKeys(w.health(c)), []string{"10.0.1.1:30080", "10.0.1.1:30081"}; !slices.Equal(got, want) {
		t.Fatalf("targets = %v, want %v", got, want)
	}
	w.proxy.SetTargetQuota(2)
	wantAPIError(t, w.register(c, 30082, "10.0.1.1"), "TooManyTargets", 400)
	w.proxy.SetTargetQuota(0)

	if err := w.deregister(c, 30081, "10.0.1.1"); err != nil {
		t.Fatal(err)
	}
	if got, want := sortedKeys(w.health(c)), []string{"10.0.1.1:30080"}; !slices.Equal(got, want) {
		t.Fatalf("after deregistering :30081, targets = %v, want %v", got, want)
	}
	if got, want := w.motoTargets(), Expect(30080, "10.0.1.1"); !slices.Equal(got, want) {
		t.Errorf("moto has %v, want %v", got, want)
	}
	wantAPIError(t, w.deregister(c, 30081, "10.0.1.1"), "InvalidTarget", 400)
	if got, want := w.motoTargets(), Expect(30080, "10.0.1.1"); !slices.Equal(got, want) {
		t.Errorf("deregistering an unregistered port changed moto to %v", got)
	}
	if err := w.deregister(c, 30080, "10.0.1.1"); err != nil {
		t.Fatal(err)
	}
	if got := sortedKeys(w.health(c)); len(got) != 0 {
		t.Errorf("targets = %v, want none", got)
	}
}
