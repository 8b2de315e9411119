package bootstrap

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/targetsync/targetsync/pkg/elb"
)

// Result is a plan as applied, or as previewed in a dry run.
type Result struct {
	Plan
	// Applied is false for a dry run: nothing was written.
	Applied bool
}

// Preview returns the result of a dry run of p: every step as planned, nothing written.
func Preview(p Plan) Result { return Result{Plan: p} }

// OK reports whether the setup is complete (or, in a dry run, would be): no step is a
// problem and none failed.
func (r Result) OK() bool {
	return !slices.ContainsFunc(r.Steps, func(s Step) bool { return s.Problem || s.Err != nil })
}

// Apply carries out p's steps in order. A step that fails is marked with its error and what
// depends on it is skipped; steps that do not depend on it still run. Apply never deletes,
// never retries a create, and never writes outside p's steps.
func (b *Bootstrapper) Apply(ctx context.Context, p Plan) Result {
	r := Result{Plan: p, Applied: true}
	r.Steps = slices.Clone(p.Steps)
	for i := 0; i < len(r.Steps); i++ {
		s := &r.Steps[i]
		if s.Action != ActionCreate && s.Action != ActionSet {
			continue
		}
		switch s.Kind {
		case KindNamespace:
			b.applyNamespace(ctx, s)
		case KindService:
			b.applyService(ctx, s)
		case KindLoadBalancer:
			b.createLoadBalancer(ctx, p, s, &r.LoadBalancer)
		case KindLoadBalancerAttribute:
			if needs(s, r.LoadBalancer.ARN, "load balancer") {
				_, err := b.c.ELB.ModifyLoadBalancerAttributes(ctx, &elbv2.ModifyLoadBalancerAttributesInput{
					LoadBalancerArn: aws.String(r.LoadBalancer.ARN), Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String(s.Attribute.Key), Value: aws.String(s.Attribute.Value)}},
				})
				done(s, err, "set %s on load balancer %s", s.Attribute.Key, r.LoadBalancer.Name)
			}
		case KindTargetGroup:
			b.createTargetGroup(ctx, p, s, &r.TargetGroup)
		case KindTargetGroupAttribute:
			if needs(s, r.TargetGroup.ARN, "target group") {
				_, err := b.c.ELB.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{
					TargetGroupArn: aws.String(r.TargetGroup.ARN), Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String(s.Attribute.Key), Value: aws.String(s.Attribute.Value)}},
				})
				done(s, err, "set %s on target group %s", s.Attribute.Key, r.TargetGroup.Name)
			}
		case KindListener:
			if needs(s, r.LoadBalancer.ARN, "load balancer") && needs(s, r.TargetGroup.ARN, "target group") {
				_, err := b.c.ELB.CreateListener(ctx, &elbv2.CreateListenerInput{
					LoadBalancerArn: aws.String(r.LoadBalancer.ARN),
					Protocol:        elbtypes.ProtocolEnumTcp,
					Port:            aws.Int32(p.Spec.ListenerPort),
					DefaultActions:  []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(r.TargetGroup.ARN)}},
					Tags:            elbTags(p.Spec.tags(true)),
				})
				done(s, err, "create listener %s", s.Name)
			}
		case KindSecurityGroupRule:
			// The rules are applied together, group by group, and are the plan's last steps.
			first := slices.IndexFunc(r.Steps, func(s Step) bool { return s.Kind == KindSecurityGroupRule })
			r.Steps = append(r.Steps[:first], b.applyRules(ctx, p, r.LoadBalancer.ARN)...)
			return r
		}
	}
	return r
}

// needs skips s when the resource it needs has no ARN (it failed or was skipped), and reports
// whether s can go ahead.
func needs(s *Step, arn, what string) bool {
	if arn != "" {
		return true
	}
	s.Action, s.Problem, s.Why = ActionSkipped, true, fmt.Sprintf("needs the %s, which was not created", what)
	return false
}

// done marks s done, or failed with err.
func done(s *Step, err error, format string, args ...any) {
	if err != nil {
		s.Err = fmt.Errorf(format+": %w", append(args, err)...)
		return
	}
	s.Done = true
}

func (b *Bootstrapper) createLoadBalancer(ctx context.Context, p Plan, s *Step, ref *Ref) {
	spec := p.Spec
	in := &elbv2.CreateLoadBalancerInput{
		Name:          aws.String(spec.LoadBalancerName),
		Type:          elbtypes.LoadBalancerTypeEnumNetwork,
		Scheme:        elbtypes.LoadBalancerSchemeEnum(spec.Scheme),
		IpAddressType: elbtypes.IpAddressTypeIpv4,
		Tags:          elbTags(spec.tags(false)),
	}
	if len(spec.EIPAllocations) > 0 {
		for _, sn := range p.Subnets {
			m := elbtypes.SubnetMapping{SubnetId: aws.String(sn.ID)}
			if a, ok := spec.EIPAllocations[sn.ID]; ok {
				m.AllocationId = aws.String(a)
			}
			in.SubnetMappings = append(in.SubnetMappings, m)
		}
	} else {
		for _, sn := range p.Subnets {
			in.Subnets = append(in.Subnets, sn.ID)
		}
	}
	out, err := b.c.ELB.CreateLoadBalancer(ctx, in)
	if err == nil && len(out.LoadBalancers) != 1 {
		err = fmt.Errorf("%d load balancers returned", len(out.LoadBalancers))
	}
	done(s, err, "create load balancer %s", spec.LoadBalancerName)
	if err == nil {
		lb := out.LoadBalancers[0]
		*ref = Ref{ARN: aws.ToString(lb.LoadBalancerArn), Name: aws.ToString(lb.LoadBalancerName), DNSName: aws.ToString(lb.DNSName)}
	}
}

func (b *Bootstrapper) createTargetGroup(ctx context.Context, p Plan, s *Step, ref *Ref) {
	spec := p.Spec
	tags := spec.tags(true)
	// The health-check port is recorded the way run records the ports it sets, so run may
	// give it back to traffic-port if the health check later stops being managed.
	tags[elb.TagHealthCheckPort] = strconv.Itoa(int(p.HealthCheckPort))
	out, err := b.c.ELB.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name:                aws.String(spec.TargetGroupName),
		TargetType:          elbtypes.TargetTypeEnumIp,
		Protocol:            elbtypes.ProtocolEnumTcp,
		Port:                aws.Int32(p.TrafficPort),
		VpcId:               aws.String(p.VPCID),
		IpAddressType:       elbtypes.TargetGroupIpAddressTypeEnumIpv4,
		HealthCheckEnabled:  aws.Bool(true),
		HealthCheckProtocol: elbtypes.ProtocolEnumHttp,
		HealthCheckPort:     aws.String(strconv.Itoa(int(p.HealthCheckPort))),
		HealthCheckPath:     aws.String(spec.HealthCheckPath),
		Tags:                elbTags(tags),
	})
	if err == nil && len(out.TargetGroups) != 1 {
		err = fmt.Errorf("%d target groups returned", len(out.TargetGroups))
	}
	done(s, err, "create target group %s", spec.TargetGroupName)
	if err == nil {
		tg := out.TargetGroups[0]
		*ref = Ref{ARN: aws.ToString(tg.TargetGroupArn), Name: aws.ToString(tg.TargetGroupName)}
	}
}

// elbTags renders tags for the API, sorted by key so requests are stable.
func elbTags(tags map[string]string) []elbtypes.Tag {
	out := make([]elbtypes.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, elbtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
