//go:build !nomoto

package testenv

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// wantState checks a target's state and reason as the SDK decodes them.
func wantState(t *testing.T, h map[string]elbtypes.TargetHealthDescription, key string, state elbtypes.TargetHealthStateEnum, reason elbtypes.TargetHealthReasonEnum) {
	t.Helper()
	d, ok := h[key]
	if !ok {
		t.Fatalf("%s missing from %v", key, sortedKeys(h))
	}
	if d.TargetHealth.State != state || d.TargetHealth.Reason != reason {
		t.Errorf("%s: state %q reason %q, want %q %q", key, d.TargetHealth.State, d.TargetHealth.Reason, state, reason)
	}
}

func TestInitialThenHealthy(t *testing.T) {
	w := newWorld(t)
	c := w.client(1)
	w.proxy.SetInitialFor(30 * time.Second)
	if err := w.register(c, 30080, "10.0.1.1"); err != nil {
		t.Fatal(err)
	}
	if err := w.direct.Register(w.ctx, w.nlb.TargetGroupARN, "10.0.1.2", 30080); err != nil {
		t.Fatal(err)
	}
	h := w.health(c)
	wantState(t, h, "10.0.1.1:30080", elbtypes.TargetHealthStateEnumInitial, elbtypes.TargetHealthReasonEnumRegistrationInProgress)
	wantState(t, h, "10.0.1.2:30080", elbtypes.TargetHealthStateEnumHealthy, "") // not registered through the proxy

	w.clock.Advance(29 * time.Second)
	if err := w.register(c, 30080, "10.0.1.1"); err != nil { // re-registering does not restart the window
		t.Fatal(err)
	}
	wantState(t, w.health(c), "10.0.1.1:30080", elbtypes.TargetHealthStateEnumInitial, elbtypes.TargetHealthReasonEnumRegistrationInProgress)
	w.clock.Advance(time.Second)
	wantState(t, w.health(c), "10.0.1.1:30080", elbtypes.TargetHealthStateEnumHealthy, "")
}

func TestDrainingThenGone(t *testing.T) {
	w := newWorld(t)
	c := w.client(1)
	w.proxy.SetDeregistrationDelay(300 * time.Second)
	if err := w.register(c, 30080, "10.0.1.1", "10.0.1.2", "192.168.1.5/all"); err != nil {
		t.Fatal(err)
	}
	if err := w.deregister(c, 30080, "10.0.1.1", "192.168.1.5"); err != nil {
		t.Fatal(err)
	}
	if got, want := w.motoTargets(), Expect(30080, "10.0.1.2"); !slices.Equal(got, want) {
		t.Fatalf("moto has %v, want %v", got, want)
	}
	h := w.health(c)
	if got, want := sortedKeys(h), []string{"10.0.1.1:30080", "10.0.1.2:30080", "192.168.1.5:30080"}; !slices.Equal(got, want) {
		t.Fatalf("targets = %v, want %v", got, want)
	}
	wantState(t, h, "10.0.1.1:30080", elbtypes.TargetHealthStateEnumDraining, elbtypes.TargetHealthReasonEnumDeregistrationInProgress)
	wantState(t, h, "10.0.1.2:30080", elbtypes.TargetHealthStateEnumHealthy, "")
	if az := aws.ToString(h["192.168.1.5:30080"].Target.AvailabilityZone); az != "all" {
		t.Errorf("draining 192.168.1.5 has AvailabilityZone %q, want all", az)
	}

	// Asked about by name, as moto answers unused for it.
	out, err := c.ELB.DescribeTargetHealth(w.ctx, &elbv2.DescribeTargetHealthInput{
		TargetGroupArn: aws.String(w.nlb.TargetGroupARN), Targets: descriptions(30080, "10.0.1.1")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TargetHealthDescriptions) != 1 || out.TargetHealthDescriptions[0].TargetHealth.State != elbtypes.TargetHealthStateEnumDraining {
		t.Errorf("asked by name: %+v, want draining", out.TargetHealthDescriptions)
	}

	w.clock.Advance(299 * time.Second)
	wantState(t, w.health(c), "10.0.1.1:30080", elbtypes.TargetHealthStateEnumDraining, elbtypes.TargetHealthReasonEnumDeregistrationInProgress)
	w.clock.Advance(time.Second)
	if got, want := sortedKeys(w.health(c)), []string{"10.0.1.2:30080"}; !slices.Equal(got, want) {
		t.Errorf("after the delay, targets = %v, want %v", got, want)
	}
}

func TestDrainingEndsOnReregistration(t *testing.T) {
	w := newWorld(t)
	c := w.client(1)
	w.proxy.SetDeregistrationDelay(300 * time.Second)
	if err := w.register(c, 30080, "10.0.1.1"); err != nil {
		t.Fatal(err)
	}
	if err := w.deregister(c, 30080, "10.0.1.1"); err != nil {
		t.Fatal(err)
	}
	wantState(t, w.health(c), "10.0.1.1:30080", elbtypes.TargetHealthStateEnumDraining, elbtypes.TargetHealthReasonEnumDeregistrationInProgress)
	if err := w.register(c, 30081, "10.0.1.1"); err != nil { // another port: 30080 still drains
		t.Fatal(err)
	}
	h := w.health(c)
	wantState(t, h, "10.0.1.1:30080", elbtypes.TargetHealthStateEnumDraining, elbtypes.TargetHealthReasonEnumDeregistrationInProgress)
	wantState(t, h, "10.0.1.1:30081", elbtypes.TargetHealthStateEnumHealthy, "")
	if err := w.register(c, 30080, "10.0.1.1"); err != nil {
		t.Fatal(err)
	}
	h = w.health(c)
	wantState(t, h, "10.0.1.1:30080", elbtypes.TargetHealthStateEnumHealthy, "")
	wantState(t, h, "10.0.1.1:30081", elbtypes.TargetHealthStateEnumHealthy, "")
}

func TestSetHealthReportsStateAndReason(t *testing.T) {
	w := newWorld(t)
	c := w.client(1)
	if err := w.register(c, 30080, "10.0.1.1", "10.0.1.2"); err != nil {
		t.Fatal(err)
	}
	w.proxy.SetHealth("10.0.1.1", "unhealthy")
	w.proxy.SetHealth("10.0.1.2", "draining")
	h := w.health(c)
	wantState(t, h, "10.0.1.1:30080", elbtypes.TargetHealthStateEnumUnhealthy, elbtypes.TargetHealthReasonEnumResponseCodeMismatch)
	wantState(t, h, "10.0.1.2:30080", elbtypes.TargetHealthStateEnumDraining, elbtypes.TargetHealthReasonEnumDeregistrationInProgress)
	w.proxy.SetHealth("10.0.1.1", "")
	wantState(t, w.health(c), "10.0.1.1:30080", elbtypes.TargetHealthStateEnumHealthy, "")
}
