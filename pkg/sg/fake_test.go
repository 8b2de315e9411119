package sg

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// fakeEC2 is an in-memory EC2 behind API. It follows the real service where moto does not:
// a request with one duplicate or one missing rule changes nothing, and the rule limit is
// checked for the whole request. Errors can be injected per operation; every call is recorded.
type fakeEC2 struct {
	mu sync.Mutex
	// rules holds every rule, ingress and egress, in insertion order.
	rules []types.SecurityGroupRule
	// limit is the most ingress rules one group may hold; 0 means 60.
	limit int
	// pageSize makes the Describe calls paginate; 0 means one page.
	pageSize int
	vpcs     []types.Vpc
	enis     []types.NetworkInterface
	groups   []types.SecurityGroup
	// errs queues errors per operation name; each call takes the head, nil meaning "no error".
	errs  map[string][]error
	calls []string
	// authorized and revoked record the inputs of the mutating calls, in order.
	authorized []*ec2.AuthorizeSecurityGroupIngressInput
	revoked    []*ec2.RevokeSecurityGroupIngressInput
	nextID     int
}

var _ API = (*fakeEC2)(nil)

func apiError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "injected " + code, Fault: smithy.FaultClient}
}

// failNext makes the next calls of op fail with errs, in order (nil lets a call through).
func (f *fakeEC2) failNext(op string, errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.errs == nil {
		f.errs = map[string][]error{}
	}
	f.errs[op] = append(f.errs[op], errs...)
}

// enter records a call and returns the injected error for it, if any. The caller holds mu.
func (f *fakeEC2) enter(op string) error {
	f.calls = append(f.calls, op)
	q := f.errs[op]
	if len(q) == 0 {
		return nil
	}
	f.errs[op] = q[1:]
	return q[0]
}

// mutations returns the mutating calls in order.
func (f *fakeEC2) mutations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if c == "AuthorizeSecurityGroupIngress" || c == "RevokeSecurityGroupIngress" {
			out = append(out, c)
		}
	}
	return out
}

// addRule stores a rule as if someone had written it, returning its ID.
func (f *fakeEC2) addRule(group string, r Rule, description string, tags map[string]string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.store(group, r, description, tags, false)
}

func (f *fakeEC2) store(group string, r Rule, description string, tags map[string]string, egress bool) string {
	f.nextID++
	id := fmt.Sprintf("sgr-%04d", f.nextID)
	sr := types.SecurityGroupRule{
		SecurityGroupRuleId: aws.String(id),
		GroupId:             aws.String(group),
		IpProtocol:          aws.String(r.Protocol),
		FromPort:            aws.Int32(r.FromPort),
		ToPort:              aws.Int32(r.ToPort),
		IsEgress:            aws.Bool(egress),
	}
	if description != "" {
		sr.Description = aws.String(description)
	}
	if r.CIDR.IsValid() {
		if r.CIDR.Addr().Is4() {
			sr.CidrIpv4 = aws.String(r.CIDR.String())
		} else {
			sr.CidrIpv6 = aws.String(r.CIDR.String())
		}
	} else {
		sr.ReferencedGroupInfo = &types.ReferencedSecurityGroup{GroupId: aws.String("sg-peer")}
	}
	for k, v := range tags {
		sr.Tags = append(sr.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	f.rules = append(f.rules, sr)
	return id
}

// ingress returns the ingress rules of group as owner sees them, sorted, for assertions.
func (f *fakeEC2) ingress(owner Owner, group string) []Observed {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.ingressLocked(owner, group)
	slices.SortFunc(out, Observed.Compare)
	return out
}

// page cuts items to one page starting at token, returning the next token or nil.
func page[T any](items []T, token *string, size int) ([]T, *string) {
	start, _ := strconv.Atoi(aws.ToString(token))
	if size <= 0 || start+size >= len(items) {
		return items[start:], nil
	}
	return items[start : start+size], aws.String(strconv.Itoa(start + size))
}

func (f *fakeEC2) DescribeSecurityGroupRules(_ context.Context, in *ec2.DescribeSecurityGroupRulesInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DescribeSecurityGroupRules"); err != nil {
		return nil, err
	}
	var groups []string
	for _, flt := range in.Filters {
		if aws.ToString(flt.Name) == "group-id" {
			groups = append(groups, flt.Values...)
		}
	}
	var match []types.SecurityGroupRule
	for _, r := range f.rules {
		if slices.Contains(groups, aws.ToString(r.GroupId)) {
			match = append(match, r)
		}
	}
	items, next := page(match, in.NextToken, f.pageSize)
	return &ec2.DescribeSecurityGroupRulesOutput{SecurityGroupRules: items, NextToken: next}, nil
}

func (f *fakeEC2) DescribeSecurityGroups(_ context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DescribeSecurityGroups"); err != nil {
		return nil, err
	}
	// Like AWS, one unknown ID fails the whole listing, naming it.
	for _, id := range in.GroupIds {
		if !slices.ContainsFunc(f.groups, func(g types.SecurityGroup) bool { return aws.ToString(g.GroupId) == id }) {
			return nil, &smithy.GenericAPIError{Code: codeGroupNotFound, Message: fmt.Sprintf("The security group '%s' does not exist", id)}
		}
	}
	var match []types.SecurityGroup
	for _, g := range f.groups {
		if len(in.GroupIds) > 0 && !slices.Contains(in.GroupIds, aws.ToString(g.GroupId)) {
			continue
		}
		if matchesTags(g.Tags, in.Filters) {
			match = append(match, g)
		}
	}
	items, next := page(match, in.NextToken, f.pageSize)
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: items, NextToken: next}, nil
}

func matchesTags(tags []types.Tag, filters []types.Filter) bool {
	for _, flt := range filters {
		ok := false
		for _, t := range tags {
			if "tag:"+aws.ToString(t.Key) == aws.ToString(flt.Name) && slices.Contains(flt.Values, aws.ToString(t.Value)) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (f *fakeEC2) DescribeVpcs(_ context.Context, in *ec2.DescribeVpcsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DescribeVpcs"); err != nil {
		return nil, err
	}
	out := &ec2.DescribeVpcsOutput{}
	for _, v := range f.vpcs {
		if slices.Contains(in.VpcIds, aws.ToString(v.VpcId)) {
			out.Vpcs = append(out.Vpcs, v)
		}
	}
	if len(out.Vpcs) == 0 {
		return nil, apiError("InvalidVpcID.NotFound")
	}
	return out, nil
}

func (f *fakeEC2) DescribeNetworkInterfaces(_ context.Context, in *ec2.DescribeNetworkInterfacesInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DescribeNetworkInterfaces"); err != nil {
		return nil, err
	}
	var match []types.NetworkInterface
	for _, e := range f.enis {
		ok := true
		for _, flt := range in.Filters {
			if aws.ToString(flt.Name) == "description" && !slices.Contains(flt.Values, aws.ToString(e.Description)) {
				ok = false
			}
		}
		if ok {
			match = append(match, e)
		}
	}
	items, next := page(match, in.NextToken, f.pageSize)
	return &ec2.DescribeNetworkInterfacesOutput{NetworkInterfaces: items, NextToken: next}, nil
}

func (f *fakeEC2) AuthorizeSecurityGroupIngress(_ context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, _ ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("AuthorizeSecurityGroupIngress"); err != nil {
		return nil, err
	}
	group := aws.ToString(in.GroupId)
	tags := map[string]string{}
	for _, ts := range in.TagSpecifications {
		for _, t := range ts.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	type add struct {
		rule Rule
		desc string
	}
	var adds []add
	seen := map[string]bool{}
	for _, p := range in.IpPermissions {
		base := Rule{Protocol: aws.ToString(p.IpProtocol), FromPort: aws.ToInt32(p.FromPort), ToPort: aws.ToInt32(p.ToPort)}
		for _, r := range p.IpRanges {
			base.CIDR = mustPrefix(aws.ToString(r.CidrIp))
			adds = append(adds, add{base, aws.ToString(r.Description)})
		}
		for _, r := range p.Ipv6Ranges {
			base.CIDR = mustPrefix(aws.ToString(r.CidrIpv6))
			adds = append(adds, add{base, aws.ToString(r.Description)})
		}
	}
	existing := f.ingressLocked(Owner{}, group)
	for _, a := range adds {
		k := a.rule.Key()
		if seen[k] || slices.ContainsFunc(existing, func(o Observed) bool { return o.Key() == k }) {
			return nil, apiError(codeDuplicate)
		}
		seen[k] = true
	}
	limit := f.limit
	if limit == 0 {
		limit = 60
	}
	if len(existing)+len(adds) > limit {
		return nil, apiError(codeRuleLimit)
	}
	for _, a := range adds {
		f.store(group, a.rule, a.desc, tags, false)
	}
	f.authorized = append(f.authorized, in)
	return &ec2.AuthorizeSecurityGroupIngressOutput{Return: aws.Bool(true)}, nil
}

func (f *fakeEC2) ingressLocked(owner Owner, group string) []Observed {
	c := &Client{owner: owner}
	var out []Observed
	for _, r := range f.rules {
		if aws.ToString(r.GroupId) == group && !aws.ToBool(r.IsEgress) {
			out = append(out, c.observe(r))
		}
	}
	return out
}

func (f *fakeEC2) RevokeSecurityGroupIngress(_ context.Context, in *ec2.RevokeSecurityGroupIngressInput, _ ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("RevokeSecurityGroupIngress"); err != nil {
		return nil, err
	}
	group := aws.ToString(in.GroupId)
	for _, id := range in.SecurityGroupRuleIds {
		if !slices.ContainsFunc(f.rules, func(r types.SecurityGroupRule) bool {
			return aws.ToString(r.SecurityGroupRuleId) == id && aws.ToString(r.GroupId) == group && !aws.ToBool(r.IsEgress)
		}) {
			return nil, apiError(codeRuleIDNotFound)
		}
	}
	f.rules = slices.DeleteFunc(f.rules, func(r types.SecurityGroupRule) bool {
		return slices.Contains(in.SecurityGroupRuleIds, aws.ToString(r.SecurityGroupRuleId))
	})
	f.revoked = append(f.revoked, in)
	return &ec2.RevokeSecurityGroupIngressOutput{Return: aws.Bool(true)}, nil
}
