package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/targetsync/targetsync/pkg/elb"
)

// AWS holds SDK clients that talk to moto directly, bypassing the proxy, for test setup and
// assertions.
type AWS struct {
	ELB *elbv2.Client
	EC2 *ec2.Client
}

// NewAWS builds clients for endpoint with test credentials.
func NewAWS(ctx context.Context, endpoint string) (*AWS, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
		})),
	)
	if err != nil {
		return nil, err
	}
	return &AWS{ELB: elbv2.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg)}, nil
}

// NLB is the seed's load balancer setup: a VPC with two subnets, an internal NLB, a TCP:80
// listener and a target group of type ip on the traffic NodePort.
type NLB struct {
	VpcID           string
	SubnetIDs       []string
	LoadBalancerARN string
	TargetGroupARN  string
	TargetGroupName string
}

// CreateNLB creates the seed's setup in moto. name must be unique within the moto instance.
func (a *AWS) CreateNLB(ctx context.Context, name string, trafficPort int32) (*NLB, error) {
	vpc, err := a.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		return nil, fmt.Errorf("create vpc: %w", err)
	}
	n := &NLB{VpcID: aws.ToString(vpc.Vpc.VpcId), TargetGroupName: name}
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := a.EC2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)), AvailabilityZone: aws.String(az),
		})
		if err != nil {
			return nil, fmt.Errorf("create subnet: %w", err)
		}
		n.SubnetIDs = append(n.SubnetIDs, aws.ToString(sn.Subnet.SubnetId))
	}
	lb, err := a.ELB.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String(name), Type: elbtypes.LoadBalancerTypeEnumNetwork,
		Scheme: elbtypes.LoadBalancerSchemeEnumInternal, Subnets: n.SubnetIDs,
	})
	if err != nil {
		return nil, fmt.Errorf("create load balancer: %w", err)
	}
	n.LoadBalancerARN = aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
	if n.TargetGroupARN, err = a.CreateTargetGroup(ctx, name, n.VpcID, trafficPort); err != nil {
		return nil, err
	}
	if _, err := a.ELB.CreateListener(ctx, &elbv2.CreateListenerInput{
		LoadBalancerArn: aws.String(n.LoadBalancerARN), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(80),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(n.TargetGroupARN)}},
	}); err != nil {
		return nil, fmt.Errorf("create listener: %w", err)
	}
	return n, nil
}

// CreateTargetGroup creates a TCP target group of type ip in the VPC and returns its ARN.
func (a *AWS) CreateTargetGroup(ctx context.Context, name, vpcID string, port int32) (string, error) {
	tg, err := a.ELB.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name: aws.String(name), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(port),
		VpcId: aws.String(vpcID), TargetType: elbtypes.TargetTypeEnumIp,
		HealthCheckProtocol: elbtypes.ProtocolEnumHttp, HealthCheckPath: aws.String("/healthz"),
	})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "DuplicateTargetGroupName" {
		// AWS answers an identical create with the existing group; moto refuses it. A retry of a
		// create whose answer was lost on the way back must find the group it made.
		out, derr := a.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{name}})
		if derr == nil && len(out.TargetGroups) == 1 && aws.ToString(out.TargetGroups[0].VpcId) == vpcID &&
			aws.ToInt32(out.TargetGroups[0].Port) == port {
			return aws.ToString(out.TargetGroups[0].TargetGroupArn), nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("create target group: %w", err)
	}
	return aws.ToString(tg.TargetGroups[0].TargetGroupArn), nil
}

// Targets returns the target group's targets as ip:port strings, sorted.
func (a *AWS) Targets(ctx context.Context, arn string) ([]string, error) {
	tg, err := elb.NewClient(a.ELB).Describe(ctx, arn)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range tg.Targets {
		out = append(out, t.Target.String())
	}
	slices.Sort(out)
	return out, nil
}

// HealthCheckPort returns the target group's health-check port setting as AWS reports it.
func (a *AWS) HealthCheckPort(ctx context.Context, arn string) (string, error) {
	out, err := a.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.TargetGroups[0].HealthCheckPort), nil
}

// Deregister removes a target by hand, as an operator in the console would.
func (a *AWS) Deregister(ctx context.Context, arn, ip string, port int32) error {
	_, err := a.ELB.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{
		TargetGroupArn: aws.String(arn),
		Targets:        []elbtypes.TargetDescription{{Id: aws.String(ip), Port: aws.Int32(port)}},
	})
	return err
}

// Register adds a target by hand.
func (a *AWS) Register(ctx context.Context, arn, ip string, port int32) error {
	_, err := a.ELB.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{
		TargetGroupArn: aws.String(arn),
		Targets:        []elbtypes.TargetDescription{{Id: aws.String(ip), Port: aws.Int32(port)}},
	})
	return err
}

// Expect renders targets as the sorted ip:port strings Targets returns.
func Expect(port int32, ips ...string) []string {
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		out = append(out, netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(port)).String())
	}
	slices.Sort(out)
	return out
}
