package bootstrap

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/targetsync/targetsync/pkg/elb"
)

// Values bootstrap creates with, as the ELB API spells them.
const (
	typeNetwork  = "network"
	protocolTCP  = "TCP"
	protocolHTTP = "HTTP"
	targetTypeIP = "ip"
)

// planAWS plans the load balancer, the target group, their attributes and the listener.
func (p *Plan) planAWS(cur Current) {
	spec := p.Spec
	lb, lbStep := decideLoadBalancer(spec, cur.LoadBalancers)
	lbUsable := lbStep.Action == ActionFound || lbStep.Action == ActionCreate
	p.VPCID = decideVPC(spec, lb, lbUsable, cur.Subnets)
	if lbStep.Action == ActionCreate {
		if len(cur.Subnets) == 0 {
			lbStep.Action, lbStep.Problem, lbUsable = ActionSkipped, true, false
			lbStep.Why = "cannot create it: " + cur.SubnetsErr
		} else {
			p.Subnets = cur.Subnets
			lbStep.Why = fmt.Sprintf("%s, %s, in %s", typeNetwork, spec.Scheme, subnetList(cur.Subnets, spec.EIPAllocations))
		}
	}
	p.LoadBalancer = Ref{Name: lbStep.Name}
	if lb != nil {
		p.LoadBalancer = Ref{ARN: lb.ARN, Name: lb.Name, DNSName: lb.DNSName}
	}
	p.Steps = append(p.Steps, lbStep)
	if lbUsable {
		p.Steps = append(p.Steps, attributeStep(KindLoadBalancerAttribute, AttrDeletionProtection,
			strconv.FormatBool(spec.DeletionProtection), lb.attributes(), true))
	}

	tg, tgStep, tgOurs := p.decideTargetGroup(cur.TargetGroups)
	tgUsable := tgStep.Action == ActionFound || tgStep.Action == ActionCreate
	p.TargetGroup = Ref{Name: tgStep.Name}
	if tg != nil {
		p.TargetGroup = Ref{ARN: tg.ARN, Name: tg.Name}
	}
	p.Steps = append(p.Steps, tgStep)
	if tgUsable {
		p.Steps = append(p.Steps, attributeStep(KindTargetGroupAttribute, AttrDeregistrationDelay,
			strconv.Itoa(int(spec.DeregistrationDelay.Seconds())), tg.attributes(), tgOurs))
	}

	p.Steps = append(p.Steps, listenerStep(spec, lb, lbUsable, tg, tgUsable, p.TargetGroup.Name))
}

// owner is the cluster a resource is tagged for, "" when untagged.
func owner(tags map[string]string) string { return tags[TagCluster] }

// decideLoadBalancer picks the load balancer: the one tagged for the cluster and the ingress
// Service, else the one with the wanted name. The step says whether it is found, to be
// created, or left alone; lb is nil when it is to be created.
func decideLoadBalancer(spec Spec, lbs []LoadBalancer) (*LoadBalancer, Step) {
	s := Step{Kind: KindLoadBalancer, Name: spec.LoadBalancerName}
	var tagged []*LoadBalancer
	var named *LoadBalancer
	for i := range lbs {
		lb := &lbs[i]
		if owner(lb.Tags) == spec.Cluster && lb.Tags[TagService] == spec.Service.String() {
			tagged = append(tagged, lb)
		}
		if lb.Name == spec.LoadBalancerName {
			named = lb
		}
	}
	var lb *LoadBalancer
	how := ""
	switch {
	case len(tagged) > 1:
		var names []string
		for _, t := range tagged {
			names = append(names, t.Name)
		}
		slices.Sort(names)
		s.Action, s.Problem = ActionLeftAlone, true
		s.Why = fmt.Sprintf("several load balancers are tagged %s=%s, %s=%s: %s; keep one", TagCluster, spec.Cluster, TagService, spec.Service, strings.Join(names, ", "))
		return nil, s
	case len(tagged) == 1:
		lb, how = tagged[0], "found by tags"
		if lb.Name != spec.LoadBalancerName {
			how += fmt.Sprintf(" (not named %s)", spec.LoadBalancerName)
		}
	case named != nil:
		lb, how = named, "found by name"
		if why := notOurs(spec, lb.Tags, false); why != "" {
			s.Action, s.Problem, s.Why = ActionLeftAlone, true, why+"; or set --load-balancer-name"
			return lb, s
		}
	default:
		s.Action = ActionCreate
		return nil, s
	}
	s.Name = lb.Name
	var bad []string
	if lb.Type != typeNetwork {
		bad = append(bad, fmt.Sprintf("type %s (want %s)", lb.Type, typeNetwork))
	}
	if lb.Scheme != spec.Scheme {
		bad = append(bad, fmt.Sprintf("scheme %s (want %s)", lb.Scheme, spec.Scheme))
	}
	if spec.VPCID != "" && lb.VPCID != spec.VPCID {
		bad = append(bad, fmt.Sprintf("VPC %s (want --vpc-id %s)", lb.VPCID, spec.VPCID))
	}
	if len(bad) > 0 {
		s.Action, s.Problem = ActionLeftAlone, true
		s.Why = strings.Join(bad, "; ") + ": cannot change in place"
		return lb, s
	}
	s.Action, s.Why = ActionFound, fmt.Sprintf("%s, %s, %s", lb.Type, lb.Scheme, how)
	return lb, s
}

// notOurs says why a resource found by name is not this cluster's to write, or "" when it is:
// tagged for another cluster, untagged (only when untaggedOK is false), or tagged for another
// role.
func notOurs(spec Spec, tags map[string]string, untaggedOK bool) string {
	switch c := owner(tags); {
	case c == "" && !untaggedOK:
		return fmt.Sprintf("exists without %s=%s: tag it to let bootstrap use it", TagCluster, spec.Cluster)
	case c == "":
		return ""
	case c != spec.Cluster:
		return fmt.Sprintf("tagged %s=%s: another cluster's", TagCluster, c)
	}
	if v, ok := tags[TagService]; ok && v != spec.Service.String() {
		return fmt.Sprintf("tagged %s=%s: serves another Service", TagService, v)
	}
	return ""
}

// decideTargetGroup picks the target group like decideLoadBalancer, then checks what cannot
// change in place. ours says whether it is tagged for this cluster (its attribute may be set).
func (p *Plan) decideTargetGroup(tgs []TargetGroup) (*TargetGroup, Step, bool) {
	spec := p.Spec
	s := Step{Kind: KindTargetGroup, Name: spec.TargetGroupName}
	var tagged []*TargetGroup
	var named *TargetGroup
	for i := range tgs {
		tg := &tgs[i]
		if owner(tg.Tags) == spec.Cluster && tg.Tags[TagService] == spec.Service.String() && tg.Tags[TagBinding] == spec.Binding {
			tagged = append(tagged, tg)
		}
		if tg.Name == spec.TargetGroupName {
			named = tg
		}
	}
	hc := elb.HealthCheck{Protocol: protocolHTTP, Port: p.HealthCheckPort, Path: spec.HealthCheckPath}
	var tg *TargetGroup
	how := ""
	switch {
	case len(tagged) > 1:
		var names []string
		for _, t := range tagged {
			names = append(names, t.Name)
		}
		slices.Sort(names)
		s.Action, s.Problem = ActionLeftAlone, true
		s.Why = fmt.Sprintf("several target groups are tagged for binding %s: %s; keep one", spec.Binding, strings.Join(names, ", "))
		return nil, s, false
	case len(tagged) == 1:
		tg, how = tagged[0], "found by tags"
	case named != nil:
		tg, how = named, "found by name"
		if why := notOurs(spec, tg.Tags, true); why != "" {
			s.Action, s.Problem, s.Why = ActionLeftAlone, true, why+"; or set --target-group-name"
			return tg, s, false
		}
		if b, ok := tg.Tags[TagBinding]; ok && b != spec.Binding {
			s.Action, s.Problem, s.Why = ActionLeftAlone, true, fmt.Sprintf("tagged %s=%s: another binding's; or set --target-group-name", TagBinding, b)
			return tg, s, false
		}
		if owner(tg.Tags) == "" {
			how += fmt.Sprintf(", not tagged %s=%s: used as it is", TagCluster, spec.Cluster)
		}
	case p.VPCID == "":
		s.Action, s.Problem = ActionSkipped, true
		s.Why = "cannot create it without a VPC: set --vpc-id or --subnet"
		return nil, s, false
	default:
		s.Action = ActionCreate
		s.Why = fmt.Sprintf("%s %s:%d in %s, health check %s", targetTypeIP, protocolTCP, p.TrafficPort, p.VPCID, hc)
		return nil, s, true
	}
	s.Name = tg.Name
	var bad []string
	if tg.TargetType != targetTypeIP {
		bad = append(bad, fmt.Sprintf("target type %s (want %s)", tg.TargetType, targetTypeIP))
	}
	if tg.Protocol != protocolTCP {
		bad = append(bad, fmt.Sprintf("protocol %s (want %s)", tg.Protocol, protocolTCP))
	}
	if p.VPCID != "" && tg.VPCID != p.VPCID {
		bad = append(bad, fmt.Sprintf("VPC %s (want %s)", tg.VPCID, p.VPCID))
	}
	if tg.Port != p.TrafficPort {
		bad = append(bad, fmt.Sprintf("port %d (want NodePort %d)", tg.Port, p.TrafficPort))
	}
	if len(bad) > 0 {
		s.Action, s.Problem = ActionLeftAlone, true
		s.Why = strings.Join(bad, "; ") + ": cannot change in place; create the target group under another --target-group-name"
		return tg, s, false
	}
	s.Action = ActionFound
	s.Why = fmt.Sprintf("%s %s:%d, health check %s, %s", tg.TargetType, tg.Protocol, tg.Port, tg.HealthCheck, how)
	if tg.HealthCheck != hc {
		s.Why = fmt.Sprintf("%s %s:%d, %s; health check %s differs from %s: run keeps it in line", tg.TargetType, tg.Protocol, tg.Port, how, tg.HealthCheck, hc)
	}
	return tg, s, owner(tg.Tags) == spec.Cluster
}

// attributeStep plans one attribute. current is nil for a resource still to be created.
// Only a resource tagged for this cluster (ours) is written.
func attributeStep(kind Kind, key, want string, current map[string]string, ours bool) Step {
	s := Step{Kind: kind, Name: key, Attribute: Attribute{Key: key, Value: want}}
	got, read := current[key]
	switch {
	case current == nil:
		s.Action, s.Why = ActionSet, want
	case read && got == want:
		s.Action, s.Why = ActionFound, want
	case !ours:
		s.Action, s.Why = ActionLeftAlone, fmt.Sprintf("%s (want %s): not tagged for this cluster", got, want)
	default:
		s.Action, s.Why = ActionSet, fmt.Sprintf("%s (was %s)", want, got)
	}
	return s
}

func (lb *LoadBalancer) attributes() map[string]string {
	if lb == nil {
		return nil
	}
	return nonNil(lb.Attributes)
}

func (tg *TargetGroup) attributes() map[string]string {
	if tg == nil {
		return nil
	}
	return nonNil(tg.Attributes)
}

// nonNil makes an existing resource's unread attributes an empty map, not "to be created".
func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// listenerStep plans the listener on the load balancer's listener port.
func listenerStep(spec Spec, lb *LoadBalancer, lbUsable bool, tg *TargetGroup, tgUsable bool, tgName string) Step {
	s := Step{Kind: KindListener, Name: fmt.Sprintf("%s %s:%d", spec.LoadBalancerName, protocolTCP, spec.ListenerPort)}
	if lb != nil {
		s.Name = fmt.Sprintf("%s %s:%d", lb.Name, protocolTCP, spec.ListenerPort)
	}
	switch {
	case !lbUsable:
		s.Action, s.Problem, s.Why = ActionSkipped, true, "needs the load balancer, which is not usable (see above)"
		return s
	case !tgUsable:
		s.Action, s.Problem, s.Why = ActionSkipped, true, "needs the target group, which is not usable (see above)"
		return s
	case tg != nil && len(tg.LoadBalancerARNs) > 0 && (lb == nil || !slices.Contains(tg.LoadBalancerARNs, lb.ARN)):
		s.Action, s.Problem = ActionSkipped, true
		s.Why = fmt.Sprintf("target group %s already serves %s, and a network load balancer's target group serves one load balancer", tg.Name, strings.Join(tg.LoadBalancerARNs, ", "))
		return s
	}
	s.Action, s.Why = ActionCreate, fmt.Sprintf("forwards to %s", tgName)
	if lb == nil {
		return s
	}
	for _, l := range lb.Listeners {
		if l.Port != spec.ListenerPort {
			continue
		}
		if l.Protocol == protocolTCP && tg != nil && slices.Equal(l.TargetGroupARNs, []string{tg.ARN}) {
			s.Action, s.Why = ActionFound, fmt.Sprintf("forwards to %s", tg.Name)
			return s
		}
		s.Action, s.Problem = ActionLeftAlone, true
		s.Why = fmt.Sprintf("%s:%d exists and forwards to %s, not %s: not changed; set --listener-port", l.Protocol, l.Port, orNone(l.TargetGroupARNs), tgName)
		return s
	}
	return s
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no target group"
	}
	return strings.Join(s, ", ")
}

// subnetList renders subnets as "subnet-a (us-east-1a, eipalloc-x), subnet-b (us-east-1b)".
func subnetList(subnets []Subnet, eips map[string]string) string {
	var parts []string
	for _, s := range subnets {
		extra := s.Zone
		if a, ok := eips[s.ID]; ok {
			extra += ", " + a
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", s.ID, extra))
	}
	return strings.Join(parts, ", ")
}
