package bootstrap

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"k8s.io/client-go/kubernetes"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/sg"
)

// ELB is the part of the ELBv2 client bootstrap uses, with the SDK's exact signatures so that
// *elasticloadbalancingv2.Client satisfies it unchanged, the SDK paginators accept it, and
// tests can hand in a fake. It has no Delete and no Modify of listeners or load balancers.
type ELB interface {
	DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
	DescribeLoadBalancerAttributes(ctx context.Context, in *elbv2.DescribeLoadBalancerAttributesInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancerAttributesOutput, error)
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	DescribeTargetGroupAttributes(ctx context.Context, in *elbv2.DescribeTargetGroupAttributesInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupAttributesOutput, error)
	DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
	CreateLoadBalancer(ctx context.Context, in *elbv2.CreateLoadBalancerInput, optFns ...func(*elbv2.Options)) (*elbv2.CreateLoadBalancerOutput, error)
	CreateTargetGroup(ctx context.Context, in *elbv2.CreateTargetGroupInput, optFns ...func(*elbv2.Options)) (*elbv2.CreateTargetGroupOutput, error)
	CreateListener(ctx context.Context, in *elbv2.CreateListenerInput, optFns ...func(*elbv2.Options)) (*elbv2.CreateListenerOutput, error)
	ModifyLoadBalancerAttributes(ctx context.Context, in *elbv2.ModifyLoadBalancerAttributesInput, optFns ...func(*elbv2.Options)) (*elbv2.ModifyLoadBalancerAttributesOutput, error)
	ModifyTargetGroupAttributes(ctx context.Context, in *elbv2.ModifyTargetGroupAttributesInput, optFns ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupAttributesOutput, error)
}

// EC2 is the part of the EC2 client bootstrap itself uses: finding the load balancer's subnets.
// Security-group rules go through sg.Client.
type EC2 interface {
	DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
}

var (
	_ ELB = (*elbv2.Client)(nil)
	_ EC2 = (*ec2.Client)(nil)
)

// Tags bootstrap writes on every AWS resource it creates and finds them again by.
const (
	// TagCluster is run's ownership tag: bootstrap writes only to resources tagged with its
	// cluster, and the IAM policies scope every write by it.
	TagCluster = elb.TagCluster
	// TagKubernetesClusterPrefix + <cluster> = "owned" is the EKS convention for resources
	// that belong to one cluster.
	TagKubernetesClusterPrefix = "kubernetes.io/cluster/"
	// TagService names the ingress controller Service (namespace/name) a load balancer,
	// target group or listener serves: the role that tells one cluster's stacks apart.
	TagService = "targetsync.io/service"
	// TagBinding names the binding of a target group or listener, as in run's config.
	TagBinding = "targetsync.io/binding"
)

// Subnet tags EKS uses to say where load balancers go.
const (
	tagRoleELB         = "kubernetes.io/role/elb"
	tagRoleInternalELB = "kubernetes.io/role/internal-elb"
)

// Attribute keys bootstrap sets.
const (
	AttrDeletionProtection  = "deletion_protection.enabled"
	AttrDeregistrationDelay = "deregistration_delay.timeout_seconds"
)

// Health-check Service settings: the ingress-nginx controller serves /healthz on 10254.
const (
	ControllerHealthPort = 10254
	ManagedByLabel       = "app.kubernetes.io/managed-by"
	ManagedBy            = "targetsync"
)

// ControllerSelector selects the ingress-nginx controller pods, as the chart labels them.
var ControllerSelector = map[string]string{
	"app.kubernetes.io/name":      "ingress-nginx",
	"app.kubernetes.io/component": "controller",
}

// Schemes, as the ELB API spells them.
const (
	SchemeInternetFacing = "internet-facing"
	SchemeInternal       = "internal"
)

// Clients are what bootstrap talks to.
type Clients struct {
	ELB  ELB
	EC2  EC2
	Kube kubernetes.Interface
	// Rules manages the security-group rules; nil when the Spec selects no security group.
	Rules *sg.Client
}

// Bootstrapper reads, plans and applies one Spec.
type Bootstrapper struct {
	c    Clients
	spec Spec
}

// New returns a Bootstrapper for spec.
func New(c Clients, spec Spec) *Bootstrapper { return &Bootstrapper{c: c, spec: spec} }

// Run reads what exists, plans, and applies the plan; with dryRun it only previews it. An
// error means the read failed and nothing was changed; what went wrong while applying is in the
// Result, step by step.
func (b *Bootstrapper) Run(ctx context.Context, dryRun bool) (Result, error) {
	cur, err := b.Read(ctx)
	if err != nil {
		return Result{}, err
	}
	p := ComputePlan(b.spec, cur)
	if dryRun {
		return Preview(p), nil
	}
	return b.Apply(ctx, p), nil
}
