package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/targetsync/targetsync/pkg/elb"
)

// maxTagARNs is how many resources one DescribeTags call takes.
const maxTagARNs = 20

// Read reads everything ComputePlan compares with: the namespaces and Services, every load
// balancer and target group tagged for the cluster or carrying the wanted names (with their
// attributes and listeners), the subnets when no usable load balancer exists, and the
// security groups. It changes nothing.
func (b *Bootstrapper) Read(ctx context.Context) (Current, error) {
	var cur Current
	var err error
	if err = b.readCluster(ctx, &cur); err != nil {
		return Current{}, err
	}
	if cur.LoadBalancers, err = b.readLoadBalancers(ctx); err != nil {
		return Current{}, err
	}
	if cur.TargetGroups, err = b.readTargetGroups(ctx); err != nil {
		return Current{}, err
	}
	lb, step := decideLoadBalancer(b.spec, cur.LoadBalancers)
	// Subnets are read to create the load balancer, and to find the target group's VPC when
	// no load balancer of ours tells it.
	if step.Action == ActionCreate || (step.Action != ActionFound && b.spec.VPCID == "") {
		if cur.Subnets, cur.SubnetsErr, err = b.readSubnets(ctx); err != nil {
			return Current{}, err
		}
	}
	if b.spec.ManagesSecurityGroups() {
		if b.c.Rules == nil {
			return Current{}, errors.New("security groups are selected but no security-group client was given")
		}
		usable := step.Action == ActionFound
		lbARN := ""
		if usable {
			lbARN = lb.ARN
		}
		if cur.Rules, err = b.readRules(ctx, decideVPC(b.spec, lb, usable, cur.Subnets), lbARN); err != nil {
			return Current{}, err
		}
	}
	return cur, nil
}

// decideVPC is the VPC the target group belongs in: --vpc-id, else the existing load
// balancer's, else the subnets'.
func decideVPC(spec Spec, lb *LoadBalancer, lbUsable bool, subnets []Subnet) string {
	switch {
	case spec.VPCID != "":
		return spec.VPCID
	case lb != nil && lbUsable:
		return lb.VPCID
	case len(subnets) > 0:
		return subnets[0].VPCID
	}
	return ""
}

// readLoadBalancers lists every load balancer and keeps those tagged for the cluster or named
// as wanted, with their attributes and listeners.
func (b *Bootstrapper) readLoadBalancers(ctx context.Context) ([]LoadBalancer, error) {
	var all []elbtypes.LoadBalancer
	pages := elbv2.NewDescribeLoadBalancersPaginator(b.c.ELB, &elbv2.DescribeLoadBalancersInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe load balancers: %w", err)
		}
		all = append(all, page.LoadBalancers...)
	}
	arns := make([]string, 0, len(all))
	for _, lb := range all {
		arns = append(arns, aws.ToString(lb.LoadBalancerArn))
	}
	tags, err := b.tags(ctx, arns)
	if err != nil {
		return nil, err
	}
	var out []LoadBalancer
	for _, l := range all {
		lb := LoadBalancer{
			ARN: aws.ToString(l.LoadBalancerArn), Name: aws.ToString(l.LoadBalancerName),
			Type: string(l.Type), Scheme: string(l.Scheme), VPCID: aws.ToString(l.VpcId), DNSName: aws.ToString(l.DNSName),
		}
		lb.Tags = tags[lb.ARN]
		if owner(lb.Tags) != b.spec.Cluster && lb.Name != b.spec.LoadBalancerName {
			continue
		}
		attrs, err := b.c.ELB.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: l.LoadBalancerArn})
		if err != nil {
			return nil, fmt.Errorf("describe attributes of load balancer %s: %w", lb.Name, err)
		}
		lb.Attributes = map[string]string{}
		for _, a := range attrs.Attributes {
			lb.Attributes[aws.ToString(a.Key)] = aws.ToString(a.Value)
		}
		if lb.Listeners, err = b.listeners(ctx, lb.ARN); err != nil {
			return nil, fmt.Errorf("describe listeners of load balancer %s: %w", lb.Name, err)
		}
		out = append(out, lb)
	}
	return out, nil
}

func (b *Bootstrapper) listeners(ctx context.Context, lbARN string) ([]Listener, error) {
	var out []Listener
	pages := elbv2.NewDescribeListenersPaginator(b.c.ELB, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, l := range page.Listeners {
			li := Listener{ARN: aws.ToString(l.ListenerArn), Port: aws.ToInt32(l.Port), Protocol: string(l.Protocol)}
			for _, a := range l.DefaultActions {
				if a.Type != elbtypes.ActionTypeEnumForward {
					continue
				}
				if a.TargetGroupArn != nil {
					li.TargetGroupARNs = append(li.TargetGroupARNs, *a.TargetGroupArn)
				}
				if a.ForwardConfig != nil {
					for _, t := range a.ForwardConfig.TargetGroups {
						li.TargetGroupARNs = append(li.TargetGroupARNs, aws.ToString(t.TargetGroupArn))
					}
				}
			}
			slices.Sort(li.TargetGroupARNs)
			li.TargetGroupARNs = slices.Compact(li.TargetGroupARNs)
			out = append(out, li)
		}
	}
	return out, nil
}

// readTargetGroups lists every target group and keeps those tagged for the cluster or named as
// wanted, with their attributes.
func (b *Bootstrapper) readTargetGroups(ctx context.Context) ([]TargetGroup, error) {
	var all []elbtypes.TargetGroup
	pages := elbv2.NewDescribeTargetGroupsPaginator(b.c.ELB, &elbv2.DescribeTargetGroupsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe target groups: %w", err)
		}
		all = append(all, page.TargetGroups...)
	}
	arns := make([]string, 0, len(all))
	for _, tg := range all {
		arns = append(arns, aws.ToString(tg.TargetGroupArn))
	}
	tags, err := b.tags(ctx, arns)
	if err != nil {
		return nil, err
	}
	var out []TargetGroup
	for _, t := range all {
		tg := TargetGroup{
			ARN: aws.ToString(t.TargetGroupArn), Name: aws.ToString(t.TargetGroupName),
			Protocol: string(t.Protocol), TargetType: string(t.TargetType), VPCID: aws.ToString(t.VpcId),
			Port: aws.ToInt32(t.Port), LoadBalancerARNs: t.LoadBalancerArns,
			HealthCheck: elb.HealthCheck{Protocol: string(t.HealthCheckProtocol), Port: healthCheckPort(aws.ToString(t.HealthCheckPort)), Path: aws.ToString(t.HealthCheckPath)},
		}
		tg.Tags = tags[tg.ARN]
		if owner(tg.Tags) != b.spec.Cluster && tg.Name != b.spec.TargetGroupName {
			continue
		}
		attrs, err := b.c.ELB.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: t.TargetGroupArn})
		if err != nil {
			return nil, fmt.Errorf("describe attributes of target group %s: %w", tg.Name, err)
		}
		tg.Attributes = map[string]string{}
		for _, a := range attrs.Attributes {
			tg.Attributes[aws.ToString(a.Key)] = aws.ToString(a.Value)
		}
		out = append(out, tg)
	}
	return out, nil
}

// healthCheckPort reads the API's health-check port, "traffic-port" or a number; 0 is the
// traffic port.
func healthCheckPort(s string) int32 {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}

// tags reads the tags of arns, at most maxTagARNs per call. Every ARN gets a map.
func (b *Bootstrapper) tags(ctx context.Context, arns []string) (map[string]map[string]string, error) {
	out := make(map[string]map[string]string, len(arns))
	for chunk := range slices.Chunk(arns, maxTagARNs) {
		res, err := b.c.ELB.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: chunk})
		if err != nil {
			return nil, fmt.Errorf("describe tags: %w", err)
		}
		for _, d := range res.TagDescriptions {
			m := map[string]string{}
			for _, t := range d.Tags {
				m[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			out[aws.ToString(d.ResourceArn)] = m
		}
	}
	for _, a := range arns {
		if out[a] == nil {
			out[a] = map[string]string{}
		}
	}
	return out, nil
}

// readSubnets returns the subnets for a new load balancer: --subnet as given (checked: they
// exist, share one VPC, --vpc-id if set, and one per zone), or else the subnets EKS tags for
// load balancers of the scheme, one per zone (the lowest ID). When discovery finds none, the
// second value says why; an error means bad input or a failed call.
func (b *Bootstrapper) readSubnets(ctx context.Context) ([]Subnet, string, error) {
	spec := b.spec
	in := &ec2.DescribeSubnetsInput{}
	role := tagRoleELB
	if spec.Scheme == SchemeInternal {
		role = tagRoleInternalELB
	}
	if len(spec.Subnets) > 0 {
		in.SubnetIds = spec.Subnets
	} else {
		in.Filters = []ec2types.Filter{
			{Name: aws.String("tag:" + role), Values: []string{"1", ""}},
			{Name: aws.String("tag:" + TagKubernetesClusterPrefix + spec.Cluster), Values: []string{"owned", "shared"}},
		}
		if spec.VPCID != "" {
			in.Filters = append(in.Filters, ec2types.Filter{Name: aws.String("vpc-id"), Values: []string{spec.VPCID}})
		}
	}
	var all []Subnet
	pages := ec2.NewDescribeSubnetsPaginator(b.c.EC2, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			if len(spec.Subnets) > 0 {
				return nil, "", fmt.Errorf("--subnet %s: %w", strings.Join(spec.Subnets, ","), err)
			}
			return nil, "", fmt.Errorf("describe subnets: %w", err)
		}
		for _, s := range page.Subnets {
			all = append(all, Subnet{ID: aws.ToString(s.SubnetId), VPCID: aws.ToString(s.VpcId), Zone: aws.ToString(s.AvailabilityZone)})
		}
	}
	slices.SortFunc(all, func(a, c Subnet) int { return strings.Compare(a.ID, c.ID) })

	vpcs := map[string]bool{}
	zones := map[string]string{}
	var out []Subnet
	for _, s := range all {
		vpcs[s.VPCID] = true
		if prev, dup := zones[s.Zone]; dup {
			if len(spec.Subnets) > 0 {
				return nil, "", fmt.Errorf("--subnet %s and %s are both in %s: a load balancer takes one subnet per zone", prev, s.ID, s.Zone)
			}
			continue
		}
		zones[s.Zone] = s.ID
		out = append(out, s)
	}
	if len(spec.Subnets) > 0 {
		if len(all) != len(spec.Subnets) {
			return nil, "", fmt.Errorf("--subnet %s: %d of %d subnets found", strings.Join(spec.Subnets, ","), len(all), len(spec.Subnets))
		}
		if len(vpcs) > 1 {
			return nil, "", fmt.Errorf("--subnet %s: the subnets are in several VPCs", strings.Join(spec.Subnets, ","))
		}
		if spec.VPCID != "" && all[0].VPCID != spec.VPCID {
			return nil, "", fmt.Errorf("--subnet %s is in %s, not --vpc-id %s", all[0].ID, all[0].VPCID, spec.VPCID)
		}
		return out, "", nil
	}
	what := fmt.Sprintf("subnets tagged %s=1 and %s%s=owned|shared", role, TagKubernetesClusterPrefix, spec.Cluster)
	switch {
	case len(out) == 0:
		return nil, fmt.Sprintf("no %s: set --subnet", what), nil
	case len(vpcs) > 1:
		return nil, fmt.Sprintf("%s are in %d VPCs: set --vpc-id or --subnet", what, len(vpcs)), nil
	}
	return out, "", nil
}
