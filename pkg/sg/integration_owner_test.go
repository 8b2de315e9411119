//go:build !nomoto

package sg

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// marked writes a rule with this description and owner tag, as an older targetsync or
// another cluster's would have.
func (w *world) marked(t *testing.T, port int32, desc, owner string) {
	t.Helper()
	if _, err := w.ec2.AuthorizeSecurityGroupIngress(w.ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(w.group),
		IpPermissions: []types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
			IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/16"), Description: aws.String(desc)}},
		}},
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeSecurityGroupRule,
			Tags:         []types.Tag{{Key: aws.String(OwnerTagKey), Value: aws.String(owner)}},
		}},
	}); err != nil {
		t.Fatalf("authorize marked rule: %v", err)
	}
}

// group2 creates another security group in the world's VPC with these tags.
func (w *world) group2(t *testing.T, name string, tags ...types.Tag) string {
	t.Helper()
	g, err := w.ec2.CreateSecurityGroup(w.ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), Description: aws.String(name), VpcId: aws.String(w.vpc),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: tags}},
	})
	if err != nil {
		t.Fatalf("create security group: %v", err)
	}
	return aws.ToString(g.GroupId)
}

// TestMotoMigratesPerBindingRules: rules the per-binding version wrote for cluster prod are
// the cluster's now, kept when desired and revoked when not; a rule of cluster "prodx" is not.
func TestMotoMigratesPerBindingRules(t *testing.T) {
	w := newWorld(t)
	w.marked(t, 30080, "targetsync:prod/http", "prod")
	w.marked(t, 30300, "targetsync:prod/default/web:metrics", "prod")
	w.marked(t, 30400, "targetsync:prodx/shared", "prodx")
	checkRules(t, w, "owned tcp 30080 from 10.0.0.0/16", "owned tcp 30300 from 10.0.0.0/16", "other tcp 30400 from 10.0.0.0/16")

	o := w.reconcile(t, []int32{30080, 30200}, "cidr:10.0.0.0/16")
	if o.Err != nil || diff(Result{Authorized: 1, Revoked: 1}, counts(t, o.Applied)) != "" || o.Budget != (Budget{Owned: 2, Other: 1}) {
		t.Fatalf("outcome: plan %q applied %+v budget %+v err %v", o.Plan, o.Applied, o.Budget, o.Err)
	}
	checkRules(t, w, "owned tcp 30080 from 10.0.0.0/16", "owned tcp 30200 from 10.0.0.0/16", "other tcp 30400 from 10.0.0.0/16")
	gs, err := w.client.Describe(w.ctx, w.group)
	if err != nil {
		t.Fatal(err)
	}
	descs := map[int32]string{}
	for _, r := range gs[0].Rules {
		descs[r.FromPort] = r.Description
	}
	if descs[30080] != "targetsync:prod/http" || descs[30200] != "targetsync:prod/shared" {
		t.Errorf("descriptions %v: want the old rule kept as is and the new one shared", descs)
	}
	if o := w.reconcile(t, []int32{30080, 30200}, "cidr:10.0.0.0/16"); !o.Plan.Empty() {
		t.Errorf("second reconcile planned %q", o.Plan)
	}
}

// TestMotoIncompleteRevokesNothing: while a binding's ports are unknown, a port missing from
// the desired set stays open.
func TestMotoIncompleteRevokesNothing(t *testing.T) {
	w := newWorld(t)
	w.reconcile(t, []int32{30080, 30200}, "cidr:10.0.0.0/16")
	w.api.take()
	rules, err := DesiredRules([]int32{30090}, []netip.Prefix{mustPrefix("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := w.client.Reconcile(w.ctx, []string{w.group}, Desired{Rules: rules}, true)
	if err != nil || out[0].Err != nil || len(out[0].Plan.Revoke) != 0 {
		t.Fatalf("plan %q err %v %v; want nothing revoked", out[0].Plan, err, out[0].Err)
	}
	checkCalls(t, w, map[string]int{"DescribeSecurityGroupRules": 1, authorize: 1}, authorize)
	checkRules(t, w, "owned tcp 30080 from 10.0.0.0/16", "owned tcp 30090 from 10.0.0.0/16", "owned tcp 30200 from 10.0.0.0/16")
}

// TestMotoForeignGroupRefused: a group tagged for another cluster is refused, whether the tag
// or the ID selects it, and nothing is written to either group.
func TestMotoForeignGroupRefused(t *testing.T) {
	w := newWorld(t)
	other := w.group2(t, "other-workers",
		types.Tag{Key: aws.String(workersTagKey), Value: aws.String("prod")},
		types.Tag{Key: aws.String(GroupTagCluster), Value: aws.String("other")})
	mine := w.group2(t, "my-workers", types.Tag{Key: aws.String(GroupTagCluster), Value: aws.String("prod")})
	w.api.take()

	for _, sel := range []GroupSelector{
		{TagKey: workersTagKey, TagValue: "prod"},
		{IDs: []string{w.group, other}},
	} {
		got, err := w.client.ResolveGroups(w.ctx, sel)
		if !errors.Is(err, ErrForeignGroup) || !IsTerminal(err) || got != nil {
			t.Fatalf("ResolveGroups(%+v) = %v, %v; want a terminal ErrForeignGroup", sel, got, err)
		}
		if msg := err.Error(); !strings.Contains(msg, other) || !strings.Contains(msg, `"other"`) {
			t.Errorf("error %q does not name the group and the cluster", msg)
		}
	}
	checkCalls(t, w, map[string]int{"DescribeSecurityGroups": 2})

	got, err := w.client.ResolveGroups(w.ctx, GroupSelector{IDs: []string{mine, w.group}, TagKey: workersTagKey, TagValue: "nobody"})
	if err != nil || len(got) != 2 {
		t.Fatalf("ResolveGroups() of own and untagged groups = %v, %v", got, err)
	}
	checkCalls(t, w, map[string]int{"DescribeSecurityGroups": 2})
	for _, g := range []string{w.group, other, mine} {
		gs, err := w.client.Describe(w.ctx, g)
		if err != nil || len(gs[0].Rules) != 0 {
			t.Errorf("group %s holds %v (%v), want nothing written", g, gs, err)
		}
	}
}

func TestMotoUnknownGroupID(t *testing.T) {
	w := newWorld(t)
	_, err := w.client.ResolveGroups(w.ctx, GroupSelector{IDs: []string{w.group, "sg-0123456789abcdef0"}})
	if err == nil || !IsTerminal(err) || apiCode(err) != codeGroupNotFound || !strings.Contains(err.Error(), "sg-0123456789abcdef0") {
		t.Fatalf("ResolveGroups() of a missing group = %v (code %q), want a terminal %s naming it", err, apiCode(err), codeGroupNotFound)
	}
}
