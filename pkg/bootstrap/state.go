package bootstrap

import (
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/sg"
)

// Spec is what bootstrap builds: typed values, checked by the caller (pkg/config).
type Spec struct {
	Cluster string
	// Service is the ingress controller Service, which bootstrap only reads: when it exists,
	// the NodePort of ServicePort wins over NodePort.
	Service     types.NamespacedName
	ServicePort intstr.IntOrString
	Binding     string
	// HealthCheckService is created when missing, with one port named HealthCheckServicePort.
	HealthCheckService     types.NamespacedName
	HealthCheckServicePort string

	NodePort            int32
	HealthCheckNodePort int32
	HealthCheckPath     string
	ListenerPort        int32
	DeregistrationDelay time.Duration

	Scheme             string
	DeletionProtection bool
	LoadBalancerName   string
	TargetGroupName    string
	// VPCID may be empty: then the existing load balancer's or the subnets' VPC is used.
	VPCID string
	// Subnets may be empty: then they are discovered by tag.
	Subnets        []string
	EIPAllocations map[string]string

	// SecurityGroups empty: no security-group rules.
	SecurityGroups sg.GroupSelector
	Sources        []sg.Source
}

// ManagesSecurityGroups reports whether bootstrap opens worker security groups.
func (s Spec) ManagesSecurityGroups() bool {
	return len(s.SecurityGroups.IDs) > 0 || s.SecurityGroups.TagKey != ""
}

// tags are the tags of every resource bootstrap creates; binding adds TagBinding, which the
// target group and the listener carry.
func (s Spec) tags(binding bool) map[string]string {
	t := map[string]string{
		TagCluster:                             s.Cluster,
		TagKubernetesClusterPrefix + s.Cluster: "owned",
		TagService:                             s.Service.String(),
	}
	if binding {
		t[TagBinding] = s.Binding
	}
	return t
}

// Subnet is a subnet the load balancer can be created in.
type Subnet struct {
	ID    string
	VPCID string
	Zone  string
}

// LoadBalancer is what bootstrap needs to know about an existing load balancer.
type LoadBalancer struct {
	ARN, Name, Type, Scheme, VPCID, DNSName string
	Tags                                    map[string]string
	Attributes                              map[string]string
	Listeners                               []Listener
}

// TargetGroup is what bootstrap needs to know about an existing target group.
type TargetGroup struct {
	ARN, Name, Protocol, TargetType, VPCID string
	Port                                   int32
	HealthCheck                            elb.HealthCheck
	LoadBalancerARNs                       []string
	Tags                                   map[string]string
	Attributes                             map[string]string
}

// Listener is an existing listener and the target groups its default action forwards to.
type Listener struct {
	ARN             string
	Port            int32
	Protocol        string
	TargetGroupARNs []string
}

// RulesState is the worker security groups as read, with the resolved sources.
type RulesState struct {
	GroupIDs []string
	Groups   []sg.Group
	// CIDRs are the resolved sources; nil while Pending.
	CIDRs []netip.Prefix
	// Pending says why the sources cannot be resolved before the plan is applied (the load
	// balancer whose private IPs they are does not exist yet).
	Pending string
}

// Current is everything that exists, as read. It is a plain value: ComputePlan needs nothing else.
type Current struct {
	// Namespaces maps each namespace bootstrap needs to whether it exists.
	Namespaces         map[string]bool
	Service            *corev1.Service
	HealthCheckService *corev1.Service
	// Subnets are the subnets to create the load balancer in, read only when it must be
	// created; SubnetsErr says why there are none.
	Subnets       []Subnet
	SubnetsErr    string
	LoadBalancers []LoadBalancer
	TargetGroups  []TargetGroup
	// Rules is nil when no security group is managed.
	Rules *RulesState
}
