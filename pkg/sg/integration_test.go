//go:build !nomoto

package sg

import (
	"context"
	"errors"
	"net/netip"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

const (
	workersTagKey = "targetsync.io/workers"
	motoLBARN     = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/ingress/50dc6c495c0c9188"
)

// world is a VPC with one subnet and one tagged worker security group in moto, and a Client
// acting for cluster "prod" through a counting wrapper around the real SDK client.
type world struct {
	ctx    context.Context
	ec2    *ec2.Client
	api    *counting
	client *Client
	vpc    string
	subnet string
	group  string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	w := &world{ctx: ctx, ec2: motoEC2(t)}
	w.api = &counting{API: w.ec2}
	var err error
	if w.client, err = NewClient(w.api, testOwner); err != nil {
		t.Fatal(err)
	}
	vpc, err := w.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatalf("create VPC: %v", err)
	}
	w.vpc = aws.ToString(vpc.Vpc.VpcId)
	subnet, err := w.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(w.vpc), CidrBlock: aws.String("10.0.1.0/24")})
	if err != nil {
		t.Fatalf("create subnet: %v", err)
	}
	w.subnet = aws.ToString(subnet.Subnet.SubnetId)
	g, err := w.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:   aws.String("workers"),
		Description: aws.String("worker nodes"),
		VpcId:       aws.String(w.vpc),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeSecurityGroup,
			Tags:         []types.Tag{{Key: aws.String(workersTagKey), Value: aws.String("prod")}},
		}},
	})
	if err != nil {
		t.Fatalf("create security group: %v", err)
	}
	w.group = aws.ToString(g.GroupId)
	return w
}

// reconcile runs what the controller runs for one binding: find the groups by tag, resolve the
// sources, compute the desired rules, reconcile. It returns the outcome for the world's group.
func (w *world) reconcile(t *testing.T, ports []int32, sources ...string) Outcome {
	t.Helper()
	groups, err := w.client.ResolveGroups(w.ctx, GroupSelector{TagKey: workersTagKey, TagValue: "prod"})
	if err != nil {
		t.Fatalf("resolve groups: %v", err)
	}
	var srcs []Source
	for _, s := range sources {
		src, err := ParseSource(s)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, src)
	}
	cidrs, err := w.client.ResolveSources(w.ctx, srcs, Scope{VPCID: w.vpc, LoadBalancerARN: motoLBARN})
	if err != nil {
		t.Fatalf("resolve sources: %v", err)
	}
	desired, err := DesiredRules(ports, cidrs)
	if err != nil {
		t.Fatal(err)
	}
	out, err := w.client.Reconcile(w.ctx, groups, Desired{Rules: desired, Complete: true}, true)
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if len(out) != 1 || out[0].Current.ID != w.group {
		t.Fatalf("reconciled %d groups, want only %s", len(out), w.group)
	}
	return out[0]
}

// rules reads the group's ingress rules straight from moto, as "owned"/"other" plus the rule.
func (w *world) rules(t *testing.T) []string {
	t.Helper()
	gs, err := w.client.Describe(w.ctx, w.group)
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	var out []string
	for _, r := range gs[0].Rules {
		who := "other"
		if r.Owned {
			who = "owned"
		}
		out = append(out, who+" "+r.Rule.String())
	}
	sort.Strings(out)
	return out
}

// foreign writes a rule the way a person would, without the marker, returning its ID.
func (w *world) foreign(t *testing.T, from, to int32, cidr, desc string) string {
	t.Helper()
	out, err := w.ec2.AuthorizeSecurityGroupIngress(w.ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(w.group),
		IpPermissions: []types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(from), ToPort: aws.Int32(to),
			IpRanges: []types.IpRange{{CidrIp: aws.String(cidr), Description: aws.String(desc)}},
		}},
	})
	if err != nil {
		t.Fatalf("authorize foreign rule: %v", err)
	}
	if len(out.SecurityGroupRules) != 1 {
		t.Fatalf("authorize foreign rule: %d rules returned", len(out.SecurityGroupRules))
	}
	return aws.ToString(out.SecurityGroupRules[0].SecurityGroupRuleId)
}

func checkRules(t *testing.T, w *world, want ...string) {
	t.Helper()
	sort.Strings(want)
	if d := diff(want, w.rules(t)); d != "" {
		t.Errorf("rules in %s (-want +got):%s", w.group, d)
	}
}

// checkCalls compares the calls since the last check: counts per operation, and the order of
// the mutating ones.
func checkCalls(t *testing.T, w *world, want map[string]int, wantMutations ...string) {
	t.Helper()
	calls, muts := w.api.take()
	if d := diff(want, calls); d != "" {
		t.Errorf("EC2 calls (-want +got):%s", d)
	}
	if d := diff(wantMutations, muts); d != "" {
		t.Errorf("mutating calls in order (-want +got):%s", d)
	}
}

func TestMotoFreshGroup(t *testing.T) {
	w := newWorld(t)
	o := w.reconcile(t, []int32{30080, 30081, 30200}, "cidr:10.0.0.0/16")
	if o.Err != nil || diff(Result{Authorized: 2}, counts(t, o.Applied)) != "" || o.Budget != (Budget{Owned: 2}) {
		t.Fatalf("outcome: applied %+v budget %+v err %v", o.Applied, o.Budget, o.Err)
	}
	checkRules(t, w, "owned tcp 30080-30081 from 10.0.0.0/16", "owned tcp 30200 from 10.0.0.0/16")
}

func TestMotoNodePortMoved(t *testing.T) {
	w := newWorld(t)
	w.reconcile(t, []int32{30080, 30200}, "cidr:10.0.0.0/16")
	w.api.take()

	o := w.reconcile(t, []int32{30090, 30200}, "cidr:10.0.0.0/16")
	if o.Err != nil || diff(Result{Authorized: 1, Revoked: 1}, counts(t, o.Applied)) != "" {
		t.Fatalf("outcome: applied %+v err %v", o.Applied, o.Err)
	}
	checkCalls(t, w, map[string]int{"DescribeSecurityGroups": 1, "DescribeSecurityGroupRules": 1, authorize: 1, revoke: 1},
		authorize, revoke)
	checkRules(t, w, "owned tcp 30090 from 10.0.0.0/16", "owned tcp 30200 from 10.0.0.0/16")
}

func TestMotoForeignRuleLeftAlone(t *testing.T) {
	w := newWorld(t)
	w.foreign(t, 30080, 30080, "10.0.0.0/16", "opened by hand")
	w.foreign(t, 30000, 30100, "192.168.0.0/16", "office")

	o := w.reconcile(t, []int32{30080, 30200}, "cidr:10.0.0.0/16")
	if o.Err != nil || o.Plan.String() != w.group+": authorize tcp 30200 from 10.0.0.0/16" {
		t.Fatalf("plan %q err %v; want only the health-check port authorized", o.Plan, o.Err)
	}
	if o.Budget != (Budget{Owned: 1, Other: 2}) {
		t.Errorf("budget %+v, want 1 owned and 2 other", o.Budget)
	}
	// The port moves away from the foreign rule: ours opens, the foreign one stays.
	o = w.reconcile(t, []int32{30090, 30200}, "cidr:10.0.0.0/16")
	if o.Err != nil || len(o.Plan.Revoke) != 0 {
		t.Fatalf("plan %q err %v; want nothing revoked", o.Plan, o.Err)
	}
	checkRules(t, w,
		"other tcp 30080 from 10.0.0.0/16", "other tcp 30000-30100 from 192.168.0.0/16",
		"owned tcp 30090 from 10.0.0.0/16", "owned tcp 30200 from 10.0.0.0/16")
}

func TestMotoDeletedByHandRestored(t *testing.T) {
	w := newWorld(t)
	o := w.reconcile(t, []int32{30080, 30200}, "cidr:10.0.0.0/16")
	var victim string
	for _, r := range o.Plan.Authorize {
		if r.FromPort == 30080 {
			victim = r.Key()
		}
	}
	gs, err := w.client.Describe(w.ctx, w.group)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range gs[0].Rules {
		if r.Key() == victim {
			if _, err := w.ec2.RevokeSecurityGroupIngress(w.ctx, &ec2.RevokeSecurityGroupIngressInput{
				GroupId: aws.String(w.group), SecurityGroupRuleIds: []string{r.ID},
			}); err != nil {
				t.Fatalf("revoke by hand: %v", err)
			}
		}
	}
	checkRules(t, w, "owned tcp 30200 from 10.0.0.0/16")

	o = w.reconcile(t, []int32{30080, 30200}, "cidr:10.0.0.0/16")
	if o.Err != nil || diff(Result{Authorized: 1}, counts(t, o.Applied)) != "" {
		t.Fatalf("outcome: applied %+v err %v", o.Applied, o.Err)
	}
	checkRules(t, w, "owned tcp 30080 from 10.0.0.0/16", "owned tcp 30200 from 10.0.0.0/16")
}

func TestMotoStalePortRevoked(t *testing.T) {
	w := newWorld(t)
	w.reconcile(t, []int32{30080, 30200}, "cidr:10.0.0.0/16")
	// The health check is no longer managed: its port is gone from the desired set.
	o := w.reconcile(t, []int32{30080, 0}, "cidr:10.0.0.0/16")
	if o.Err != nil || diff(Result{Revoked: 1}, counts(t, o.Applied)) != "" || o.Budget != (Budget{Owned: 1}) {
		t.Fatalf("outcome: applied %+v budget %+v err %v", o.Applied, o.Budget, o.Err)
	}
	checkRules(t, w, "owned tcp 30080 from 10.0.0.0/16")
}

func TestMotoNLBPrivateIPs(t *testing.T) {
	w := newWorld(t)
	desc, err := ENIDescription(motoLBARN)
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"10.0.1.17", "10.0.1.33"} {
		if _, err := w.ec2.CreateNetworkInterface(w.ctx, &ec2.CreateNetworkInterfaceInput{
			SubnetId: aws.String(w.subnet), Description: aws.String(desc), PrivateIpAddress: aws.String(ip),
		}); err != nil {
			t.Fatalf("create network interface: %v", err)
		}
	}
	// A node's interface in the same subnet must not be mistaken for the load balancer's.
	if _, err := w.ec2.CreateNetworkInterface(w.ctx, &ec2.CreateNetworkInterfaceInput{
		SubnetId: aws.String(w.subnet), Description: aws.String("node"), PrivateIpAddress: aws.String("10.0.1.5"),
	}); err != nil {
		t.Fatalf("create network interface: %v", err)
	}

	o := w.reconcile(t, []int32{30080, 30200}, "nlb-private-ips")
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	checkRules(t, w,
		"owned tcp 30080 from 10.0.1.17/32", "owned tcp 30200 from 10.0.1.17/32",
		"owned tcp 30080 from 10.0.1.33/32", "owned tcp 30200 from 10.0.1.33/32")
}

func TestMotoVPCCIDR(t *testing.T) {
	w := newWorld(t)
	if _, err := w.ec2.AssociateVpcCidrBlock(w.ctx, &ec2.AssociateVpcCidrBlockInput{
		VpcId: aws.String(w.vpc), CidrBlock: aws.String("100.64.0.0/16"),
	}); err != nil {
		t.Fatalf("associate CIDR: %v", err)
	}
	o := w.reconcile(t, []int32{30080, 30081}, "vpc-cidr")
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	checkRules(t, w, "owned tcp 30080-30081 from 10.0.0.0/16", "owned tcp 30080-30081 from 100.64.0.0/16")
}

// TestMotoSteadyState measures what a converged reconcile of one group costs: with the group
// found by tag and both AWS-resolved sources, one call each to find the group, read the VPC,
// read the load balancer's interfaces, and read the rules; nothing mutating.
func TestMotoSteadyState(t *testing.T) {
	w := newWorld(t)
	desc, _ := ENIDescription(motoLBARN)
	if _, err := w.ec2.CreateNetworkInterface(w.ctx, &ec2.CreateNetworkInterfaceInput{
		SubnetId: aws.String(w.subnet), Description: aws.String(desc), PrivateIpAddress: aws.String("10.0.1.17"),
	}); err != nil {
		t.Fatalf("create network interface: %v", err)
	}
	w.foreign(t, 22, 22, "10.0.0.0/16", "ssh")
	if o := w.reconcile(t, []int32{30080, 30200}, "vpc-cidr", "nlb-private-ips"); o.Err != nil || o.Applied.Authorized != 4 {
		t.Fatalf("first reconcile: applied %+v err %v", o.Applied, o.Err)
	}
	w.api.take()

	o := w.reconcile(t, []int32{30080, 30200}, "vpc-cidr", "nlb-private-ips")
	if o.Err != nil || !o.Plan.Empty() || !o.Applied.Empty() {
		t.Fatalf("second reconcile: plan %q applied %+v err %v", o.Plan, o.Applied, o.Err)
	}
	if o.Budget != (Budget{Owned: 4, Other: 1}) {
		t.Errorf("budget %+v, want 4 owned and 1 other", o.Budget)
	}
	calls, muts := w.api.take()
	if len(muts) != 0 {
		t.Errorf("second reconcile made mutating calls %v", muts)
	}
	total := 0
	for _, n := range calls {
		total += n
	}
	t.Logf("steady-state reconcile of one group: %d EC2 calls %v", total, calls)
	if d := diff(map[string]int{
		"DescribeSecurityGroups": 1, "DescribeVpcs": 1, "DescribeNetworkInterfaces": 1, "DescribeSecurityGroupRules": 1,
	}, calls); d != "" {
		t.Errorf("EC2 calls (-want +got):%s", d)
	}
}

// TestMotoRuleLimit fills the group to moto's limit of 60 inbound rules and moves a NodePort:
// the stale rule must go first to make room, then the new one goes in.
func TestMotoRuleLimit(t *testing.T) {
	w := newWorld(t)
	for i := range int32(58) {
		w.foreign(t, 40000+2*i, 40000+2*i, "10.0.0.0/16", "someone else's")
	}
	w.reconcile(t, []int32{30080, 30200}, "cidr:10.0.0.0/16")
	w.api.take()

	o := w.reconcile(t, []int32{30090, 30200}, "cidr:10.0.0.0/16")
	if o.Err != nil || diff(Result{Authorized: 1, Revoked: 1, RevokedFirst: true}, counts(t, o.Applied)) != "" {
		t.Fatalf("outcome: applied %+v err %v", o.Applied, o.Err)
	}
	checkCalls(t, w, map[string]int{"DescribeSecurityGroups": 1, "DescribeSecurityGroupRules": 1, authorize: 2, revoke: 1},
		authorize, revoke, authorize)
	if o.Budget != (Budget{Owned: 2, Other: 58}) {
		t.Errorf("budget %+v, want 2 owned and 58 other", o.Budget)
	}

	// One more port and nothing stale: the group is full and the error says so.
	o = w.reconcile(t, []int32{30090, 30200, 30300}, "cidr:10.0.0.0/16")
	var le *RuleLimitError
	if !errors.As(o.Err, &le) || le.SecurityGroupID != w.group || le.Pending != 1 || !IsTerminal(o.Err) {
		t.Fatalf("err = %v, want a terminal RuleLimitError for %s", o.Err, w.group)
	}
	if o.Budget != (Budget{Owned: 2, Other: 58}) {
		t.Errorf("budget %+v, want 2 owned and 58 other", o.Budget)
	}
}

// TestMotoRaces applies a plan after the group changed under it: the rule it would add was added
// by someone else, and the rule it would revoke was removed by hand. Both count as done.
func TestMotoRaces(t *testing.T) {
	w := newWorld(t)
	w.reconcile(t, []int32{30080}, "cidr:10.0.0.0/16")
	desired, err := DesiredRules([]int32{30090, 30200}, []netip.Prefix{mustPrefix("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := w.client.Reconcile(w.ctx, []string{w.group}, Desired{Rules: desired, Complete: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	p := out[0].Plan
	if len(p.Authorize) != 2 || len(p.Revoke) != 1 {
		t.Fatalf("plan %q, want two to authorize and one to revoke", p)
	}
	w.foreign(t, 30090, 30090, "10.0.0.0/16", "added meanwhile")
	if _, err := w.ec2.RevokeSecurityGroupIngress(w.ctx, &ec2.RevokeSecurityGroupIngressInput{
		GroupId: aws.String(w.group), SecurityGroupRuleIds: []string{p.Revoke[0].ID},
	}); err != nil {
		t.Fatalf("revoke by hand: %v", err)
	}

	res, err := w.client.Apply(w.ctx, p)
	if err != nil {
		t.Fatalf("Apply() = %v, want the races absorbed", err)
	}
	if diff(Result{Authorized: 1}, counts(t, res)) != "" {
		t.Errorf("Result = %+v, want only the health-check rule counted", res)
	}
	checkRules(t, w, "other tcp 30090 from 10.0.0.0/16", "owned tcp 30200 from 10.0.0.0/16")
}
