package elb

import (
	"context"
	"fmt"
	"net/netip"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// API is the part of the ELBv2 client this package uses, with the SDK's exact signatures so
// that *elasticloadbalancingv2.Client satisfies it unchanged and tests can hand in a fake.
type API interface {
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
	RegisterTargets(ctx context.Context, in *elbv2.RegisterTargetsInput, optFns ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error)
	DeregisterTargets(ctx context.Context, in *elbv2.DeregisterTargetsInput, optFns ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error)
	ModifyTargetGroup(ctx context.Context, in *elbv2.ModifyTargetGroupInput, optFns ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupOutput, error)
}

var _ API = (*elbv2.Client)(nil)

// Target is one IP target: a node's private IPv4 address on a NodePort.
type Target struct {
	IP   netip.Addr
	Port int32
}

// String renders the target as ip:port, the form used in logs and plans.
func (t Target) String() string { return fmt.Sprintf("%s:%d", t.IP, t.Port) }

// Compare orders targets by address, then port, so plans print and apply in a stable order.
func (t Target) Compare(o Target) int {
	if c := t.IP.Compare(o.IP); c != 0 {
		return c
	}
	return int(t.Port) - int(o.Port)
}

// Target health states as AWS reports them.
const (
	StateInitial     = "initial"
	StateHealthy     = "healthy"
	StateUnhealthy   = "unhealthy"
	StateUnused      = "unused"
	StateDraining    = "draining"
	StateUnavailable = "unavailable"
)

// States lists every state AWS reports, in a fixed order, so gauges can be zeroed.
var States = []string{StateInitial, StateHealthy, StateUnhealthy, StateUnused, StateDraining, StateUnavailable}

// Observed is a registered target together with the health state the target group reports.
type Observed struct {
	Target
	State  string
	Reason string
}

// HealthCheck is the part of a target group's health check that follows the cluster.
// A zero Port means the health check is not managed.
type HealthCheck struct {
	Protocol string
	Port     int32
	Path     string
}

// Managed reports whether the health check should be kept in line with the cluster.
func (h HealthCheck) Managed() bool { return h.Port != 0 }

// String renders the health check the way people write it: HTTP:30200/healthz.
func (h HealthCheck) String() string {
	if h.Port == 0 {
		return "traffic-port"
	}
	return fmt.Sprintf("%s:%d%s", h.Protocol, h.Port, h.Path)
}

// TargetGroup is what a sync needs to know about one target group.
type TargetGroup struct {
	ARN        string
	Name       string
	TargetType string
	Port       int32
	VpcID      string
	// LoadBalancerARNs are the load balancers that forward to the group.
	LoadBalancerARNs []string
	HealthCheck      HealthCheck
	Targets          []Observed
}
