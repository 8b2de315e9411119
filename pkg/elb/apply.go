package elb

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// MaxTargetsPerCall bounds one RegisterTargets or DeregisterTargets request. AWS accepts more,
// but a bounded request keeps a failure small and the retry cheap.
const MaxTargetsPerCall = 200

// TargetTypeIP is the only target type targetsync manages.
const TargetTypeIP = "ip"

// Client reads and changes one kind of thing: the targets and health check of target groups.
type Client struct {
	api API
}

// NewClient returns a Client that talks to AWS through api.
func NewClient(api API) *Client { return &Client{api: api} }

// Describe reads a target group's settings and its registered targets with their health.
func (c *Client) Describe(ctx context.Context, arn string) (TargetGroup, error) {
	out, err := c.api.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}})
	if err != nil {
		return TargetGroup{}, fmt.Errorf("describe target group %s: %w", arn, err)
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
	}
	if group.TargetType != TargetTypeIP {
		return group, fmt.Errorf("target group %s has target type %q: %w", group.Name, group.TargetType, ErrWrongTargetType)
	}

	health, err := c.api.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		return group, fmt.Errorf("describe target health of %s: %w", group.Name, err)
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
		o := Observed{Target: Target{IP: ip, Port: port}}
		if d.TargetHealth != nil {
			o.State = string(d.TargetHealth.State)
			o.Reason = string(d.TargetHealth.Reason)
		}
		group.Targets = append(group.Targets, o)
	}
	return group, nil
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

// Result counts what Apply changed, for metrics and logs.
type Result struct {
	Registered   int
	Deregistered int
	HealthCheck  bool
}

// Apply carries out p on the target group arn: it registers first, then fixes the health check,
// and deregisters last, so that a move from one port to another never leaves the group empty.
// It stops at the first error; what was done is in the Result and the next sync plans the rest.
func (c *Client) Apply(ctx context.Context, arn string, p Plan) (Result, error) {
	var res Result
	for _, chunk := range chunks(p.Register, MaxTargetsPerCall) {
		if _, err := c.api.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{
			TargetGroupArn: aws.String(arn),
			Targets:        descriptions(chunk),
		}); err != nil {
			return res, fmt.Errorf("register %d targets: %w", len(chunk), err)
		}
		res.Registered += len(chunk)
	}
	if hc := p.HealthCheck; hc != nil {
		if _, err := c.api.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{
			TargetGroupArn:      aws.String(arn),
			HealthCheckProtocol: types.ProtocolEnum(hc.To.Protocol),
			HealthCheckPort:     aws.String(fmt.Sprint(hc.To.Port)),
			HealthCheckPath:     aws.String(hc.To.Path),
		}); err != nil {
			return res, fmt.Errorf("modify health check to %s: %w", hc.To, err)
		}
		res.HealthCheck = true
	}
	for _, chunk := range chunks(p.Deregister, MaxTargetsPerCall) {
		if _, err := c.api.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{
			TargetGroupArn: aws.String(arn),
			Targets:        descriptions(chunk),
		}); err != nil {
			return res, fmt.Errorf("deregister %d targets: %w", len(chunk), err)
		}
		res.Deregistered += len(chunk)
	}
	return res, nil
}

func descriptions(ts []Target) []types.TargetDescription {
	out := make([]types.TargetDescription, len(ts))
	for i, t := range ts {
		out[i] = types.TargetDescription{Id: aws.String(t.IP.String()), Port: aws.Int32(t.Port)}
	}
	return out
}

func chunks(ts []Target, size int) [][]Target {
	var out [][]Target
	for len(ts) > size {
		out = append(out, ts[:size:size])
		ts = ts[size:]
	}
	if len(ts) > 0 {
		out = append(out, ts)
	}
	return out
}

// Empty reports whether nothing was changed.
func (r Result) Empty() bool { return r.Registered == 0 && r.Deregistered == 0 && !r.HealthCheck }
