package bootstrap

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/targetsync/targetsync/pkg/sg"
)

// Kind is the kind of thing a Step is about, as printed in the KIND column.
type Kind string

// Kinds, in the order a plan creates them.
const (
	KindNamespace             Kind = "Namespace"
	KindService               Kind = "Service"
	KindLoadBalancer          Kind = "LoadBalancer"
	KindLoadBalancerAttribute Kind = "LoadBalancerAttribute"
	KindTargetGroup           Kind = "TargetGroup"
	KindTargetGroupAttribute  Kind = "TargetGroupAttribute"
	KindListener              Kind = "Listener"
	KindSecurityGroupRule     Kind = "SecurityGroupRule"
)

// Action is what a Step does.
type Action string

// Actions. Only ActionCreate and ActionSet write anything.
const (
	// ActionFound: it exists as wanted.
	ActionFound Action = "found"
	// ActionCreate: it is missing and is created.
	ActionCreate Action = "create"
	// ActionSet: an attribute of a resource tagged for this cluster is set.
	ActionSet Action = "set"
	// ActionLeftAlone: it exists and is not touched, as wanted or not (see Step.Problem).
	ActionLeftAlone Action = "left alone"
	// ActionAbsent: it is missing and is not bootstrap's to create (the ingress controller's
	// Service, which its Helm chart creates).
	ActionAbsent Action = "absent"
	// ActionSkipped: it cannot be created because something it needs is left alone or failed.
	ActionSkipped Action = "skipped"
)

// Step is one row of a plan: one resource, what happens to it, and why.
type Step struct {
	Kind   Kind
	Name   string
	Action Action
	Why    string
	// Problem marks what a person must look at: a conflict left alone, or a step skipped.
	Problem bool

	// What to create or set.
	Namespace *corev1.Namespace
	Service   *corev1.Service
	Attribute Attribute
	Rule      sg.Rule
	GroupID   string

	// Set by Apply.
	Done bool
	Err  error
}

// Attribute is one load balancer or target group attribute.
type Attribute struct{ Key, Value string }

// Ref names an AWS resource; ARN is empty until it exists.
type Ref struct {
	ARN, Name, DNSName string
}

// Plan is what bootstrap will do, step by step, in the order it does it. It is a pure value:
// computing it calls nothing, and printing it changes nothing.
type Plan struct {
	Spec  Spec
	Steps []Step
	// TrafficPort and HealthCheckPort are the NodePorts the target group uses: the Services'
	// when they exist, the flags' otherwise.
	TrafficPort     int32
	HealthCheckPort int32
	VPCID           string
	// Subnets are where a new load balancer goes.
	Subnets      []Subnet
	LoadBalancer Ref
	TargetGroup  Ref
	// Rules is the security-group part, nil when none is managed.
	Rules *RulesState
}

// Empty reports whether the plan writes nothing.
func (p Plan) Empty() bool {
	return !slices.ContainsFunc(p.Steps, func(s Step) bool { return s.Action == ActionCreate || s.Action == ActionSet })
}

// ComputePlan compares spec with what exists and returns the steps that complete the setup,
// in dependency order: namespaces, the health-check Service, the load balancer and its
// attribute, the target group and its attribute, the listener, the security-group rules.
func ComputePlan(spec Spec, cur Current) Plan {
	p := Plan{Spec: spec, Rules: cur.Rules}
	p.planCluster(cur)
	p.planAWS(cur)
	p.planRules(cur)
	return p
}

// planCluster decides the NodePorts and plans the namespaces and the health-check Service.
func (p *Plan) planCluster(cur Current) {
	spec := p.Spec
	for _, ns := range slices.Sorted(maps.Keys(cur.Namespaces)) {
		s := Step{Kind: KindNamespace, Name: ns, Action: ActionFound, Why: "exists"}
		if !cur.Namespaces[ns] {
			s.Action = ActionCreate
			s.Namespace = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{ManagedByLabel: ManagedBy}}}
			switch {
			case ns == spec.Service.Namespace && ns == spec.HealthCheckService.Namespace:
				s.Why = "holds the ingress controller and the health-check Service"
			case ns == spec.Service.Namespace:
				s.Why = "holds the ingress controller"
			default:
				s.Why = "holds the health-check Service"
			}
		}
		p.Steps = append(p.Steps, s)
	}

	p.TrafficPort = spec.NodePort
	svc := Step{Kind: KindService, Name: spec.Service.String()}
	switch port, ok := nodePort(cur.Service, spec.ServicePort); {
	case cur.Service == nil:
		svc.Action = ActionAbsent
		svc.Why = fmt.Sprintf("ingress controller not installed yet (deploy/ingress-nginx/values.yaml): the target group uses --node-port %d", spec.NodePort)
	case !ok:
		svc.Action, svc.Problem = ActionFound, true
		svc.Why = fmt.Sprintf("port %s has no NodePort (type %s): make it a NodePort Service; the target group uses --node-port %d",
			spec.ServicePort.String(), cur.Service.Spec.Type, spec.NodePort)
	default:
		p.TrafficPort = port
		svc.Action = ActionFound
		svc.Why = fmt.Sprintf("NodePort %d of port %s is the target group's port", port, spec.ServicePort.String())
		if port != spec.NodePort {
			svc.Why += fmt.Sprintf(" (wins over --node-port %d)", spec.NodePort)
		}
	}
	p.Steps = append(p.Steps, svc)

	p.HealthCheckPort = spec.HealthCheckNodePort
	hc := Step{Kind: KindService, Name: spec.HealthCheckService.String()}
	if cur.HealthCheckService == nil {
		hc.Action = ActionCreate
		hc.Service = healthCheckService(spec)
		hc.Why = fmt.Sprintf("NodePort %d -> %d of the controller pods, externalTrafficPolicy Local", spec.HealthCheckNodePort, ControllerHealthPort)
	} else {
		hc.Action = ActionLeftAlone
		port, ok := nodePort(cur.HealthCheckService, intstr.FromString(spec.HealthCheckServicePort))
		if ok {
			p.HealthCheckPort = port
		}
		hc.Why = "exists"
		if d := serviceDiff(spec, cur.HealthCheckService, ok); len(d) > 0 {
			hc.Why = "differs: " + strings.Join(d, "; ")
			hc.Problem = !ok
		}
		if ok {
			hc.Why += fmt.Sprintf("; NodePort %d is the health-check port", port)
		}
	}
	p.Steps = append(p.Steps, hc)
}

// nodePort returns the NodePort of port (a name or a number) of svc.
func nodePort(svc *corev1.Service, port intstr.IntOrString) (int32, bool) {
	if svc == nil {
		return 0, false
	}
	for _, sp := range svc.Spec.Ports {
		match := (port.Type == intstr.String && sp.Name == port.StrVal) || (port.Type == intstr.Int && sp.Port == port.IntVal)
		if match && sp.NodePort != 0 {
			return sp.NodePort, true
		}
	}
	return 0, false
}

// healthCheckService is the Service the seed's setup uses for the NLB health check: a NodePort
// in front of the controller's /healthz, with externalTrafficPolicy Local so that only nodes
// running a controller pod pass.
func healthCheckService(spec Spec) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name:      spec.HealthCheckService.Name,
			Namespace: spec.HealthCheckService.Namespace,
			Labels: map[string]string{
				ManagedByLabel:              ManagedBy,
				"app.kubernetes.io/part-of": "ingress-nginx",
			},
		},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeNodePort,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			Selector:              maps.Clone(ControllerSelector),
			Ports: []corev1.ServicePort{{
				Name:       spec.HealthCheckServicePort,
				Protocol:   corev1.ProtocolTCP,
				Port:       ControllerHealthPort,
				TargetPort: intstr.FromInt32(ControllerHealthPort),
				NodePort:   spec.HealthCheckNodePort,
			}},
		},
	}
}

// serviceDiff lists how an existing health-check Service differs from the one bootstrap would
// create, in the terms that matter to the health check.
func serviceDiff(spec Spec, svc *corev1.Service, hasPort bool) []string {
	var d []string
	if svc.Spec.Type != corev1.ServiceTypeNodePort {
		d = append(d, fmt.Sprintf("type %s (want NodePort)", svc.Spec.Type))
	}
	if svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		d = append(d, fmt.Sprintf("externalTrafficPolicy %q (want Local)", svc.Spec.ExternalTrafficPolicy))
	}
	for k, v := range ControllerSelector {
		if svc.Spec.Selector[k] != v {
			d = append(d, fmt.Sprintf("selector %s=%q (want %q)", k, svc.Spec.Selector[k], v))
		}
	}
	if !hasPort {
		d = append(d, fmt.Sprintf("no NodePort named %s: the target group uses --health-check-node-port %d", spec.HealthCheckServicePort, spec.HealthCheckNodePort))
	} else if port, _ := nodePort(svc, intstr.FromString(spec.HealthCheckServicePort)); port != spec.HealthCheckNodePort {
		d = append(d, fmt.Sprintf("NodePort %d, not --health-check-node-port %d", port, spec.HealthCheckNodePort))
	}
	slices.Sort(d)
	return d
}
