package bootstrap

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// fakeELB is an in-memory account with no load balancer and no target group: it answers the
// listings with nothing and records the writes, failing those named in fail. Calls it does not
// implement hit the nil embedded interface and panic, which fails the test.
type fakeELB struct {
	ELB
	mu     sync.Mutex
	calls  []string
	fail   map[string]error
	inputs []any
}

func (f *fakeELB) record(op string, in any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op)
	f.inputs = append(f.inputs, in)
	return f.fail[op]
}

func (f *fakeELB) DescribeLoadBalancers(context.Context, *elbv2.DescribeLoadBalancersInput, ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error) {
	return &elbv2.DescribeLoadBalancersOutput{}, nil
}

func (f *fakeELB) DescribeTargetGroups(context.Context, *elbv2.DescribeTargetGroupsInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	return &elbv2.DescribeTargetGroupsOutput{}, nil
}

func (f *fakeELB) CreateLoadBalancer(_ context.Context, in *elbv2.CreateLoadBalancerInput, _ ...func(*elbv2.Options)) (*elbv2.CreateLoadBalancerOutput, error) {
	if err := f.record("CreateLoadBalancer", in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.Name)
	return &elbv2.CreateLoadBalancerOutput{LoadBalancers: []elbtypes.LoadBalancer{{
		LoadBalancerArn:  aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/" + name + "/1"),
		LoadBalancerName: in.Name, DNSName: aws.String(name + "-1.elb.amazonaws.com"),
	}}}, nil
}

func (f *fakeELB) CreateTargetGroup(_ context.Context, in *elbv2.CreateTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.CreateTargetGroupOutput, error) {
	if err := f.record("CreateTargetGroup", in); err != nil {
		return nil, err
	}
	return &elbv2.CreateTargetGroupOutput{TargetGroups: []elbtypes.TargetGroup{{
		TargetGroupArn:  aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/" + aws.ToString(in.Name) + "/1"),
		TargetGroupName: in.Name,
	}}}, nil
}

func (f *fakeELB) CreateListener(_ context.Context, in *elbv2.CreateListenerInput, _ ...func(*elbv2.Options)) (*elbv2.CreateListenerOutput, error) {
	if err := f.record("CreateListener", in); err != nil {
		return nil, err
	}
	return &elbv2.CreateListenerOutput{}, nil
}

func (f *fakeELB) ModifyLoadBalancerAttributes(_ context.Context, in *elbv2.ModifyLoadBalancerAttributesInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyLoadBalancerAttributesOutput, error) {
	return &elbv2.ModifyLoadBalancerAttributesOutput{}, f.record("ModifyLoadBalancerAttributes", in)
}

func (f *fakeELB) ModifyTargetGroupAttributes(_ context.Context, in *elbv2.ModifyTargetGroupAttributesInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupAttributesOutput, error) {
	return &elbv2.ModifyTargetGroupAttributesOutput{}, f.record("ModifyTargetGroupAttributes", in)
}

// fakeEC2 has the subnets of subnets, tagged for load balancers.
type fakeEC2 struct{ subnets []Subnet }

func (f fakeEC2) DescribeSubnets(_ context.Context, in *ec2.DescribeSubnetsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	if len(in.SubnetIds) > 0 {
		return nil, fmt.Errorf("fakeEC2: only discovery by tag is implemented")
	}
	out := &ec2.DescribeSubnetsOutput{}
	for _, s := range f.subnets {
		out.Subnets = append(out.Subnets, ec2types.Subnet{SubnetId: aws.String(s.ID), VpcId: aws.String(s.VPCID), AvailabilityZone: aws.String(s.Zone)})
	}
	return out, nil
}
