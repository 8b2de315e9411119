package elb

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// API is the part of the ELBv2 client this package uses, with the SDK's exact signatures so
// that *elasticloadbalancingv2.Client satisfies it unchanged and tests can hand in a fake.
type API interface {
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
	RegisterTargets(ctx context.Context, in *elbv2.RegisterTargetsInput, optFns ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error)
	DeregisterTargets(ctx context.Context, in *elbv2.DeregisterTargetsInput, optFns ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error)
	ModifyTargetGroup(ctx context.Context, in *elbv2.ModifyTargetGroupInput, optFns ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupOutput, error)
	AddTags(ctx context.Context, in *elbv2.AddTagsInput, optFns ...func(*elbv2.Options)) (*elbv2.AddTagsOutput, error)
}

var _ API = (*elbv2.Client)(nil)

// Tag keys targetsync reads and writes on target groups.
const (
	// TagCluster marks a target group as owned by the cluster named in its value.
	TagCluster = "targetsync.io/cluster"
	// TagHealthCheckPort records the health-check port targetsync last set ("traffic-port" or a
	// number), so that targetsync gives back only a port it set itself.
	TagHealthCheckPort = "targetsync.io/health-check-port"
)

// ZoneAll is the AvailabilityZone of a target outside the target group's VPC: every enabled
// zone of the load balancer sends it traffic.
const ZoneAll = "all"

// trafficPort is the API's health-check port value meaning "the port each target is registered on".
const trafficPort = "traffic-port"

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
	// AvailabilityZone is the zone AWS placed the target in, or ZoneAll for a target outside
	// the VPC; such a target must be deregistered with ZoneAll too.
	AvailabilityZone string
}

// HealthCheck is the part of a target group's health check that follows the cluster.
// A zero Port means the traffic port.
type HealthCheck struct {
	Protocol string
	Port     int32
	Path     string
}

// Managed reports whether the health check is on a port of its own, not the traffic port.
func (h HealthCheck) Managed() bool { return h.Port != 0 }

// String renders the health check the way people write it: HTTP:30200/healthz.
func (h HealthCheck) String() string {
	if h.Port == 0 {
		return trafficPort
	}
	return fmt.Sprintf("%s:%d%s", h.Protocol, h.Port, h.Path)
}

// portValue is the health check's port as the API and TagHealthCheckPort spell it.
func (h HealthCheck) portValue() string {
	if h.Port == 0 {
		return trafficPort
	}
	return fmt.Sprint(h.Port)
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
	// HealthCheckInterval is how often AWS checks each target's health; zero when not known.
	HealthCheckInterval time.Duration
	Targets             []Observed
	// Tags are the target group's tags. Describe leaves them nil; the caller fills them from
	// Tags. nil means not read, and then nothing is planned that depends on them.
	Tags map[string]string
	// VPCCIDRs are the CIDR blocks of the target group's VPC, filled by the caller. Empty means
	// unknown: then every target is first sent without an AvailabilityZone.
	VPCCIDRs []netip.Prefix
}

// Client reads and changes one kind of thing: the targets and health check of target groups.
type Client struct {
	api API
}

// NewClient returns a Client that talks to AWS through api.
func NewClient(api API) *Client { return &Client{api: api} }

// Describe reads a target group's settings and its registered targets with their health, in
// exactly two calls. It leaves Tags and VPCCIDRs for the caller.
func (c *Client) Describe(ctx context.Context, arn string) (TargetGroup, error) {
	group, err := c.DescribeSettings(ctx, arn)
	if err != nil {
		return group, err
	}
	return c.DescribeTargets(ctx, group)
}

// DescribeSettings reads a target group's settings in one DescribeTargetGroups call: type,
// port, VPC, load balancers and health check, which change rarely or never. It leaves Targets,
// Tags and VPCCIDRs for the caller, and fails with ErrWrongTargetType unless the type is ip.
func (c *Client) DescribeSettings(ctx context.Context, arn string) (TargetGroup, error) {
	out, err := c.api.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}})
	if err != nil {
		return TargetGroup{}, wrapOp(opDescribeTargetGroups, err, "describe target group %s", arn)
	}
	if len(out.TargetGroups) != 1 {
		return TargetGroup{}, fmt.Errorf("describe target group %s: %d target groups returned", arn, len(out.TargetGroups))
	}
	tg := out.TargetGroups[0]
	group := TargetGroup{
		ARN:              arn,
		Name:             aws.ToString(tg.TargetGroupName),
		TargetType:       string(tg.TargetType),
		Port:             aws.ToInt32(tg.Port),
		VpcID:            aws.ToString(tg.VpcId),
		LoadBalancerARNs: tg.LoadBalancerArns,
		HealthCheck: HealthCheck{
			Protocol: string(tg.HealthCheckProtocol),
			Port:     healthCheckPort(aws.ToString(tg.HealthCheckPort)),
			Path:     aws.ToString(tg.HealthCheckPath),
		},
		HealthCheckInterval: time.Duration(aws.ToInt32(tg.HealthCheckIntervalSeconds)) * time.Second,
	}
	if group.TargetType != TargetTypeIP {
		return group, fmt.Errorf("target group %s has target type %q: %w", group.Name, group.TargetType, ErrWrongTargetType)
	}
	return group, nil
}

// DescribeTargets reads the registered targets of the target group whose settings are given,
// with their health, in one DescribeTargetHealth call, and returns the settings with Targets
// filled in.
func (c *Client) DescribeTargets(ctx context.Context, group TargetGroup) (TargetGroup, error) {
	health, err := c.api.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(group.ARN)})
	if err != nil {
		return group, wrapOp(opDescribeTargetHealth, err, "describe target health of %s", group.Name)
	}
	if n := len(health.TargetHealthDescriptions); n > 0 {
		group.Targets = make([]Observed, 0, n)
	}
	for _, d := range health.TargetHealthDescriptions {
		if d.Target == nil {
			continue
		}
		ip, err := netip.ParseAddr(aws.ToString(d.Target.Id))
		if err != nil {
			// Not an IP target; nothing this package manages can look like this.
			continue
		}
		port := group.Port
		if d.Target.Port != nil {
			port = *d.Target.Port
		}
		o := Observed{Target: Target{IP: ip, Port: port}, AvailabilityZone: aws.ToString(d.Target.AvailabilityZone)}
		if d.TargetHealth != nil {
			o.State = string(d.TargetHealth.State)
			o.Reason = string(d.TargetHealth.Reason)
		}
		group.Targets = append(group.Targets, o)
	}
	return group, nil
}

// Tags reads the tags of the target group arn in one DescribeTags call. The map is never nil,
// so it can go straight into TargetGroup.Tags.
func (c *Client) Tags(ctx context.Context, arn string) (map[string]string, error) {
	out, err := c.api.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		return nil, wrapOp(opDescribeTags, err, "describe tags of %s", arn)
	}
	tags := map[string]string{}
	for _, d := range out.TagDescriptions {
		if d.ResourceArn != nil && *d.ResourceArn != arn {
			continue
		}
		for _, t := range d.Tags {
			if t.Key != nil {
				tags[*t.Key] = aws.ToString(t.Value)
			}
		}
	}
	return tags, nil
}

// Tag sets one tag on the target group arn in one AddTags call.
func (c *Client) Tag(ctx context.Context, arn, key, value string) error {
	_, err := c.api.AddTags(ctx, &elbv2.AddTagsInput{
		ResourceArns: []string{arn},
		Tags:         []types.Tag{{Key: aws.String(key), Value: aws.String(value)}},
	})
	if err != nil {
		return wrapOp(opAddTags, err, "tag %s with %s=%s", arn, key, value)
	}
	return nil
}

// healthCheckPort turns the API's string port ("traffic-port" or a number) into a number,
// 0 meaning the traffic port.
func healthCheckPort(s string) int32 {
	var p int32
	if _, err := fmt.Sscanf(s, "%d", &p); err != nil {
		return 0
	}
	return p
}
