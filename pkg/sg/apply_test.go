package sg

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

const (
	authorize = "AuthorizeSecurityGroupIngress"
	revoke    = "RevokeSecurityGroupIngress"
)

var testOwner = Owner{Cluster: "prod"}

var ownerTags = map[string]string{OwnerTagKey: "prod"}

func newTestClient(t *testing.T, f *fakeEC2) *Client {
	t.Helper()
	c, err := NewClient(f, testOwner)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// counts is r without its rule lists, for comparing with a literal; it also checks that the
// lists agree with the counts.
func counts(t *testing.T, r Result) Result {
	t.Helper()
	if len(r.AuthorizedRules) != r.Authorized || len(r.RevokedRules) != r.Revoked {
		t.Errorf("Result %+v: lists disagree with counts", r)
	}
	return Result{Authorized: r.Authorized, Revoked: r.Revoked, RevokedFirst: r.RevokedFirst}
}

// ours stores a rule carrying the full marker, as Apply would have written it.
func (f *fakeEC2) ours(group string, r Rule) Observed {
	return owned(f.addRule(group, r, testOwner.Description(), ownerTags), r)
}

func TestDescribe(t *testing.T) {
	f := &fakeEC2{pageSize: 2}
	web := tcp(30080, 30080, "10.0.0.0/16")
	idOwned := f.addRule("sg-1", web, testOwner.Description(), ownerTags)
	idDescOnly := f.addRule("sg-1", tcp(30081, 30081, "10.0.0.0/16"), testOwner.Description(), nil)
	idNumeric := f.addRule("sg-1", Rule{Protocol: "6", FromPort: 22, ToPort: 22, CIDR: mustPrefix("192.168.0.0/24")}, "ssh", nil)
	idPeer := f.addRule("sg-1", Rule{Protocol: "tcp", FromPort: 30080, ToPort: 30080}, testOwner.Description(), ownerTags)
	f.store("sg-1", Rule{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: mustPrefix("0.0.0.0/0")}, "", nil, true)
	idOther := f.addRule("sg-2", web, "targetsync:prod/shared", map[string]string{OwnerTagKey: "staging"})
	f.addRule("sg-3", web, "", nil)

	groups, err := newTestClient(t, f).Describe(context.Background(), "sg-1", "sg-2", "sg-empty")
	if err != nil {
		t.Fatal(err)
	}
	desc := testOwner.Description()
	want := []Group{
		{ID: "sg-1", Rules: []Observed{
			{Rule: Rule{Protocol: "tcp", FromPort: 30080, ToPort: 30080}, ID: idPeer, Description: desc},
			{Rule: web, ID: idOwned, Description: desc, Owned: true},
			{Rule: tcp(30081, 30081, "10.0.0.0/16"), ID: idDescOnly, Description: desc},
			{Rule: tcp(22, 22, "192.168.0.0/24"), ID: idNumeric, Description: "ssh"},
		}},
		{ID: "sg-2", Rules: []Observed{{Rule: web, ID: idOther, Description: desc}}},
		{ID: "sg-empty"},
	}
	if d := diff(want, groups); d != "" {
		t.Errorf("Describe() (-want +got):%s", d)
	}
	if got, want := groups[0].Budget(), (Budget{Owned: 1, Other: 3}); got != want {
		t.Errorf("Budget() = %+v, want %+v", got, want)
	}
	if got := len(f.calls); got != 3 {
		t.Errorf("Describe made %d calls for 6 rules in pages of 2, want 3: %v", got, f.calls)
	}
}

func TestApplyAuthorizesBeforeRevoking(t *testing.T) {
	f := &fakeEC2{}
	old := f.ours("sg-1", tcp(30080, 30080, "10.0.0.0/16"))
	moved := tcp(30090, 30090, "10.0.0.0/16")
	res, err := newTestClient(t, f).Apply(context.Background(), Plan{SecurityGroupID: "sg-1", Authorize: []Rule{moved}, Revoke: []Observed{old}})
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(Result{Authorized: 1, Revoked: 1, AuthorizedRules: []Rule{moved}, RevokedRules: []Observed{old}}, res); d != "" {
		t.Errorf("Result (-want +got):%s", d)
	}
	if d := diff([]string{authorize, revoke}, f.mutations()); d != "" {
		t.Errorf("calls (-want +got):%s", d)
	}
	in := f.authorized[0]
	perm := in.IpPermissions[0]
	if got := aws.ToString(perm.IpRanges[0].Description); got != "targetsync:prod/shared" {
		t.Errorf("description = %q", got)
	}
	ts := in.TagSpecifications[0]
	if ts.ResourceType != types.ResourceTypeSecurityGroupRule || aws.ToString(ts.Tags[0].Key) != OwnerTagKey || aws.ToString(ts.Tags[0].Value) != "prod" {
		t.Errorf("tag specification = %+v", ts)
	}
	got := f.ingress(testOwner, "sg-1")
	if len(got) != 1 || got[0].Rule != moved || !got[0].Owned {
		t.Errorf("group holds %v, want only owned %v", got, moved)
	}
}

func TestApplyErrors(t *testing.T) {
	const vpc = "10.0.0.0/16"
	a, b := tcp(30090, 30090, vpc), tcp(30091, 30091, vpc)
	tests := []struct {
		name string
		// setup seeds the fake and returns the plan to apply.
		setup     func(f *fakeEC2) Plan
		wantRes   Result
		wantCalls []string
		wantErr   error
		check     func(t *testing.T, err error)
	}{
		{
			name: "duplicate in a batch: the rest still go in",
			setup: func(f *fakeEC2) Plan {
				f.addRule("sg-1", a, "added meanwhile", nil)
				return Plan{SecurityGroupID: "sg-1", Authorize: []Rule{a, b}}
			},
			wantRes:   Result{Authorized: 1},
			wantCalls: []string{authorize, authorize, authorize},
		},
		{
			name: "duplicate of a single rule counts as done",
			setup: func(f *fakeEC2) Plan {
				f.failNext(authorize, apiError(codeDuplicate))
				old := f.ours("sg-1", tcp(30080, 30080, vpc))
				return Plan{SecurityGroupID: "sg-1", Authorize: []Rule{a}, Revoke: []Observed{old}}
			},
			wantRes:   Result{Revoked: 1},
			wantCalls: []string{authorize, revoke},
		},
		{
			name: "rule gone from a batch: the rest still go",
			setup: func(f *fakeEC2) Plan {
				x, y := f.ours("sg-1", a), f.ours("sg-1", b)
				gone := owned("sgr-gone", tcp(30092, 30092, vpc))
				return Plan{SecurityGroupID: "sg-1", Revoke: []Observed{x, gone, y}}
			},
			wantRes:   Result{Revoked: 2},
			wantCalls: []string{revoke, revoke, revoke, revoke},
		},
		{
			name: "InvalidPermission.NotFound counts as done",
			setup: func(f *fakeEC2) Plan {
				f.failNext(revoke, apiError(codePermissionNotFound))
				return Plan{SecurityGroupID: "sg-1", Revoke: []Observed{f.ours("sg-1", a)}}
			},
			wantCalls: []string{revoke},
		},
		{
			name: "failed authorize revokes nothing",
			setup: func(f *fakeEC2) Plan {
				f.failNext(authorize, apiError("InternalError"))
				return Plan{SecurityGroupID: "sg-1", Authorize: []Rule{a}, Revoke: []Observed{f.ours("sg-1", b)}}
			},
			wantCalls: []string{authorize},
			check: func(t *testing.T, err error) {
				if apiCode(err) != "InternalError" || IsTerminal(err) {
					t.Errorf("error = %v, want a retryable InternalError", err)
				}
			},
		},
		{
			name: "full group: stale rules revoked first, authorize retried",
			setup: func(f *fakeEC2) Plan {
				f.limit = 3
				f.addRule("sg-1", tcp(22, 22, vpc), "ssh", nil)
				x, y := f.ours("sg-1", tcp(30080, 30080, vpc)), f.ours("sg-1", tcp(30200, 30200, vpc))
				return Plan{SecurityGroupID: "sg-1", Authorize: []Rule{a, b}, Revoke: []Observed{x, y}}
			},
			wantRes:   Result{Authorized: 2, Revoked: 2, RevokedFirst: true},
			wantCalls: []string{authorize, revoke, authorize},
		},
		{
			name: "full group even after revoking stale rules",
			setup: func(f *fakeEC2) Plan {
				f.limit = 2
				f.addRule("sg-1", tcp(22, 22, vpc), "ssh", nil)
				f.addRule("sg-1", tcp(443, 443, vpc), "https", nil)
				return Plan{SecurityGroupID: "sg-1", Authorize: []Rule{a, b}, Revoke: []Observed{f.ours("sg-1", tcp(30080, 30080, vpc))}}
			},
			wantRes:   Result{Revoked: 1, RevokedFirst: true},
			wantCalls: []string{authorize, revoke, authorize},
			wantErr:   ErrRuleLimit,
			check: func(t *testing.T, err error) {
				var le *RuleLimitError
				if !errors.As(err, &le) || le.SecurityGroupID != "sg-1" || le.Pending != 2 || !le.RevokedFirst {
					t.Errorf("error = %#v, want a RuleLimitError for sg-1 with 2 pending", err)
				}
				if msg := err.Error(); !strings.Contains(msg, "sg-1") || !strings.Contains(msg, "Inbound or outbound rules per security group") {
					t.Errorf("error %q does not name the group and the quota", msg)
				}
				if !IsTerminal(err) || apiCode(err) != codeRuleLimit {
					t.Errorf("error %v: terminal %v, code %q", err, IsTerminal(err), apiCode(err))
				}
			},
		},
		{
			name: "full group with nothing stale fails at once",
			setup: func(f *fakeEC2) Plan {
				f.failNext(authorize, apiError(codeRuleLimit))
				return Plan{SecurityGroupID: "sg-1", Authorize: []Rule{a}}
			},
			wantCalls: []string{authorize},
			wantErr:   ErrRuleLimit,
		},
		{
			name: "a foreign rule in a hand-built plan is refused before any call",
			setup: func(f *fakeEC2) Plan {
				id := f.addRule("sg-1", b, "by hand", nil)
				return Plan{SecurityGroupID: "sg-1", Authorize: []Rule{a}, Revoke: []Observed{foreign(id, b)}}
			},
			wantErr: ErrNotOwned,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEC2{}
			p := tt.setup(f)
			res, err := newTestClient(t, f).Apply(context.Background(), p)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Apply() error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && tt.check == nil && err != nil {
				t.Errorf("Apply() error = %v", err)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			if d := diff(tt.wantRes, counts(t, res)); d != "" {
				t.Errorf("Result (-want +got):%s", d)
			}
			if d := diff(tt.wantCalls, f.mutations()); d != "" {
				t.Errorf("calls (-want +got):%s", d)
			}
		})
	}
}

func TestApplyChunks(t *testing.T) {
	f := &fakeEC2{limit: 100}
	var p Plan
	p.SecurityGroupID = "sg-1"
	for i := range int32(45) {
		p.Authorize = append(p.Authorize, tcp(30000+2*i, 30000+2*i, "10.0.0.0/16"))
	}
	res, err := newTestClient(t, f).Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Authorized != 45 || len(f.authorized) != 3 {
		t.Fatalf("authorized %d rules in %d calls, want 45 in 3", res.Authorized, len(f.authorized))
	}
	for _, in := range f.authorized {
		if n := len(in.IpPermissions); n > MaxRulesPerCall {
			t.Errorf("one call carried %d rules, more than %d", n, MaxRulesPerCall)
		}
	}
}
