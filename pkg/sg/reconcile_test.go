package sg

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

func desiredOf(t *testing.T, ports ...int32) Desired {
	t.Helper()
	rules, err := DesiredRules(ports, []netip.Prefix{mustPrefix("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	return Desired{Rules: rules, Complete: true}
}

func TestReconcile(t *testing.T) {
	f := &fakeEC2{}
	f.addRule("sg-2", tcp(30080, 30080, "10.0.0.0/16"), "by hand", nil)
	f.ours("sg-2", tcp(30300, 30300, "10.0.0.0/16"))
	c := newTestClient(t, f)
	desired := desiredOf(t, 30080, 30200)
	ctx := context.Background()

	dry, err := c.Reconcile(ctx, []string{"sg-1", "sg-2"}, desired, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.mutations()) != 0 || dry[0].Plan.Empty() || !dry[0].Applied.Empty() {
		t.Fatalf("dry run changed something or planned nothing: %v, %+v", f.mutations(), dry)
	}
	for _, o := range dry {
		if d := diff(o.Current, o.After); d != "" {
			t.Errorf("dry run: After differs from Current (-want +got):%s", d)
		}
	}

	out, err := c.Reconcile(ctx, []string{"sg-1", "sg-2"}, desired, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		plan    string
		applied Result
		budget  Budget
	}{
		{"sg-1: authorize tcp 30080 from 10.0.0.0/16\nsg-1: authorize tcp 30200 from 10.0.0.0/16", Result{Authorized: 2}, Budget{Owned: 2}},
		{"sg-2: authorize tcp 30200 from 10.0.0.0/16\nsg-2: revoke sgr-0002 tcp 30300 from 10.0.0.0/16", Result{Authorized: 1, Revoked: 1}, Budget{Owned: 1, Other: 1}},
	}
	for i, o := range out {
		if o.Err != nil || o.Plan.String() != want[i].plan || diff(want[i].applied, counts(t, o.Applied)) != "" || o.Budget != want[i].budget {
			t.Errorf("outcome %d: plan %q applied %+v budget %+v err %v; want %q %+v %+v",
				i, o.Plan, o.Applied, o.Budget, o.Err, want[i].plan, want[i].applied, want[i].budget)
		}
		// After is what a fresh read shows, but for the IDs of the rules just added.
		read := f.ingress(testOwner, o.Current.ID)
		for j := range read {
			if read[j].Owned {
				read[j].ID = ""
			}
		}
		if d := diff(Group{ID: o.Current.ID, Rules: read}, o.After); d != "" {
			t.Errorf("outcome %d: After (-want +got):%s", i, d)
		}
	}

	before := len(f.mutations())
	again, err := c.Reconcile(ctx, []string{"sg-1", "sg-2"}, desired, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range again {
		if !o.Plan.Empty() {
			t.Errorf("second reconcile planned %s", o.Plan)
		}
	}
	if n := len(f.mutations()) - before; n != 0 {
		t.Errorf("second reconcile made %d mutating calls, want 0", n)
	}

	f.failNext("DescribeSecurityGroupRules", apiError("UnauthorizedOperation"))
	if _, err := c.Reconcile(ctx, []string{"sg-1"}, desired, true); !IsTerminal(err) {
		t.Errorf("Reconcile() with a forbidden read = %v, want a terminal error", err)
	}
}

// TestReconcileMigratesPerBindingRules: rules written by the version that owned rules per
// binding ("targetsync:prod/http", tagged prod) are the cluster's now: kept while desired,
// revoked once not. Rules of cluster "pro", a prefix of "prod", stay someone else's.
func TestReconcileMigratesPerBindingRules(t *testing.T) {
	const vpc = "10.0.0.0/16"
	f := &fakeEC2{}
	web, old := tcp(30080, 30080, vpc), tcp(30300, 30300, vpc)
	f.addRule("sg-1", web, "targetsync:prod/http", ownerTags)
	idOld := f.addRule("sg-1", old, "targetsync:prod/default/web:metrics", ownerTags)
	f.addRule("sg-1", tcp(30400, 30400, vpc), "targetsync:prodx/shared", map[string]string{OwnerTagKey: "prod"})
	f.addRule("sg-1", tcp(30500, 30500, vpc), "targetsync:prod/shared", map[string]string{OwnerTagKey: "prodx"})
	c := newTestClient(t, f)

	out, err := c.Reconcile(context.Background(), []string{"sg-1"}, desiredOf(t, 30080, 30200), true)
	if err != nil {
		t.Fatal(err)
	}
	o := out[0]
	if want := "sg-1: authorize tcp 30200 from 10.0.0.0/16\nsg-1: revoke " + idOld + " tcp 30300 from 10.0.0.0/16"; o.Err != nil || o.Plan.String() != want {
		t.Fatalf("plan %q err %v, want %q", o.Plan, o.Err, want)
	}
	if o.Budget != (Budget{Owned: 2, Other: 2}) {
		t.Errorf("budget %+v, want 2 owned (the kept old rule and the new one) and 2 other", o.Budget)
	}
	got := f.ingress(testOwner, "sg-1")
	var kept bool
	for _, r := range got {
		if r.Rule == web {
			kept = r.Owned && r.Description == "targetsync:prod/http"
		}
	}
	if !kept || len(got) != 4 {
		t.Errorf("group holds %v; want the old-marker rule for 30080 kept and owned, 4 rules", got)
	}
}

func TestReconcileOtherClusterNeverOwned(t *testing.T) {
	f := &fakeEC2{}
	ab := tcp(30080, 30080, "10.0.0.0/16")
	f.addRule("sg-1", ab, "targetsync:ab/shared", map[string]string{OwnerTagKey: "a"})
	c, err := NewClient(f, Owner{Cluster: "a"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Reconcile(context.Background(), []string{"sg-1"}, desiredOf(t, 30200), true)
	if err != nil {
		t.Fatal(err)
	}
	if o := out[0]; o.Err != nil || len(o.Plan.Revoke) != 0 || o.Current.Rules[0].Owned {
		t.Errorf("cluster a planned %q (err %v) over %v; want targetsync:ab/shared left alone", o.Plan, o.Err, o.Current.Rules)
	}
}

func TestReconcileIncompleteRevokesNothing(t *testing.T) {
	f := &fakeEC2{}
	stale := f.ours("sg-1", tcp(30300, 30300, "10.0.0.0/16"))
	c := newTestClient(t, f)
	d := desiredOf(t, 30080)
	d.Complete = false

	out, err := c.Reconcile(context.Background(), []string{"sg-1"}, d, true)
	if err != nil {
		t.Fatal(err)
	}
	if o := out[0]; o.Err != nil || o.Plan.String() != "sg-1: authorize tcp 30080 from 10.0.0.0/16" {
		t.Fatalf("plan %q err %v; want the new rule authorized, nothing revoked", o.Plan, o.Err)
	}
	if d := diff([]string{authorize}, f.mutations()); d != "" {
		t.Errorf("calls (-want +got):%s", d)
	}
	if got := f.ingress(testOwner, "sg-1"); len(got) != 2 || got[1].ID != stale.ID {
		t.Errorf("group holds %v, want the stale rule kept", got)
	}
}

// TestReconcileAfterPartialFailure: the authorization goes in, the revocation fails; After
// shows the new rule open and the old one still there.
func TestReconcileAfterPartialFailure(t *testing.T) {
	f := &fakeEC2{}
	stale := f.ours("sg-1", tcp(30300, 30300, "10.0.0.0/16"))
	f.failNext(revoke, apiError("InternalError"))
	c := newTestClient(t, f)
	cidrs := []netip.Prefix{mustPrefix("10.0.0.0/16")}

	out, err := c.Reconcile(context.Background(), []string{"sg-1"}, desiredOf(t, 30080), true)
	if err != nil {
		t.Fatal(err)
	}
	o := out[0]
	if o.Err == nil || IsTerminal(o.Err) || diff(Result{Authorized: 1}, counts(t, o.Applied)) != "" {
		t.Fatalf("applied %+v err %v; want one authorized and a retryable error", o.Applied, o.Err)
	}
	want := Group{ID: "sg-1", Rules: []Observed{
		{Rule: tcp(30080, 30080, "10.0.0.0/16"), Description: testOwner.Description(), Owned: true},
		stale,
	}}
	want.Rules[1].Description = testOwner.Description()
	if d := diff(want, o.After); d != "" {
		t.Errorf("After (-want +got):%s", d)
	}
	if !Open(o.After, 30080, cidrs) || Open(o.Current, 30080, cidrs) {
		t.Errorf("Open: port 30080 should be open after the reconcile and closed before it")
	}
	if o.Budget != (Budget{Owned: 2}) {
		t.Errorf("budget %+v, want 2 owned", o.Budget)
	}
}

func TestIsTerminal(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("wrapped: %w", ErrNoPorts), true},
		{ErrNotOwned, true},
		{ErrUnsafePlan, true},
		{fmt.Errorf("sg-1: %w", ErrForeignGroup), true},
		{&RuleLimitError{SecurityGroupID: "sg-1", Err: apiError(codeRuleLimit)}, true},
		{apiError(codeGroupNotFound), true},
		{groupNotFound("sg-1"), true},
		{fmt.Errorf("source nlb-private-ips: %w", ErrNoSources), false},
		{ErrNoSources, false},
		{errors.Join(ErrNoSources, ErrInvalidSource), false},
		{apiError("RequestLimitExceeded"), false},
		{fmt.Errorf("describe: %w", apiError("RequestLimitExceeded")), false},
		{apiError("InternalError"), false},
		{errors.New("connection reset"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := IsTerminal(tt.err); got != tt.want {
			t.Errorf("IsTerminal(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
