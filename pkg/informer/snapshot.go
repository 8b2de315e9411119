package informer

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// PortRef names one port of one Service, by port name or port number.
type PortRef struct {
	Service types.NamespacedName
	Port    intstr.IntOrString
}

func (r PortRef) String() string { return r.Service.String() + ":" + r.Port.String() }

// Query says what a binding reads from the cluster.
type Query struct {
	// Traffic is the ingress controller Service port whose NodePort receives traffic.
	Traffic PortRef
	// HealthCheck, when set, is a separate Service port whose NodePort serves the health check.
	// When nil, the traffic Service's healthCheckNodePort is used if externalTrafficPolicy is
	// Local, and the health check is not managed otherwise.
	HealthCheck *PortRef
	// Rules decide which nodes are this binding's targets.
	Rules Rules
	// ServingNodesOnly makes only the nodes that run a serving endpoint of the traffic Service
	// targets (--targets=ingress-nodes): under externalTrafficPolicy Local the only ones that
	// pass the health check, and the way to stay under the target group quota.
	ServingNodesOnly bool
}

// Node is one node as a sync sees it.
type Node struct {
	Name string
	IP   netip.Addr
	// Reason is empty for targets and says why the node is not one otherwise.
	Reason string
	Ready  bool
	// Zone is the node's topology.kubernetes.io/zone label: the Availability Zone its target
	// counts against in AWS's per-zone target quota. Empty if unlabelled.
	Zone string
}

// Snapshot is what the cluster says one target group should look like.
type Snapshot struct {
	// Targets are the eligible nodes, sorted by IP.
	Targets []Node
	// Skipped are the nodes that are not targets, sorted by name, with their reasons.
	Skipped []Node
	// TrafficPort is the NodePort that receives traffic.
	TrafficPort int32
	// HealthCheckPort is the NodePort of the health check; 0 means it is not managed from a
	// Service (the target group's own setting applies) or, with HealthCheckErr set, unknown.
	HealthCheckPort int32
	// HealthCheckErr says why the health-check Service's NodePort is unknown: the Service or
	// its port is missing. The health check is then left exactly as it is, and the targets
	// are still synced.
	HealthCheckErr error
}

// ErrService marks a snapshot that could not be taken because a Service or port is missing
// or unusable. Such a snapshot is not trustworthy and nothing may be planned from it.
var ErrService = errors.New("service not usable")

// ServiceError says which Service or port is missing or unusable.
type ServiceError struct {
	Ref     PortRef
	Problem string
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("service %s port %s: %s", e.Ref.Service, e.Ref.Port.String(), e.Problem)
}

// Unwrap lets callers test for ErrService.
func (e *ServiceError) Unwrap() error { return ErrService }

// Source takes snapshots from informer caches.
type Source struct {
	// nodes holds cachedNodes, as the node informer's transform makes them.
	nodes    cache.Store
	services corelisters.ServiceLister
	// endpoints has the EndpointSlices of the Services whose queries want serving nodes only,
	// by namespace.
	endpoints map[string]discoverylisters.EndpointSliceLister
}

// NewSource returns a Source reading nodes from the node informer's store and Services from
// the lister. A store filled without the informer's transform may hold whole Nodes.
func NewSource(nodes cache.Store, services corelisters.ServiceLister) *Source {
	return &Source{nodes: nodes, services: services}
}

// Snapshot reads the nodes and Services q names from the caches.
func (s *Source) Snapshot(q Query) (Snapshot, error) {
	var snap Snapshot
	svc, err := s.service(q.Traffic)
	if err != nil {
		return snap, err
	}
	if snap.TrafficPort, err = nodePort(svc, q.Traffic); err != nil {
		return snap, err
	}
	switch {
	case q.HealthCheck != nil:
		snap.HealthCheckPort, snap.HealthCheckErr = s.healthCheckPort(*q.HealthCheck)
		if snap.HealthCheckErr != nil && !errors.Is(snap.HealthCheckErr, ErrService) {
			return snap, snap.HealthCheckErr
		}
	case svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal:
		snap.HealthCheckPort = svc.Spec.HealthCheckNodePort
	}

	var serving map[string]bool
	if q.ServingNodesOnly {
		lister, ok := s.endpoints[q.Traffic.Service.Namespace]
		if !ok {
			return snap, fmt.Errorf("endpointslices of %s are not watched", q.Traffic.Service)
		}
		if serving, err = servingNodes(lister, q.Traffic.Service); err != nil {
			return snap, err
		}
	}
	for _, obj := range s.nodes.List() {
		n := asNode(obj)
		if n == nil {
			// Never plan from a partial view: a node left out would be deregistered.
			return snap, fmt.Errorf("node cache holds a %T", obj)
		}
		v := q.Rules.evaluate(n)
		if v.Eligible() && serving != nil && !serving[n.Name] {
			v.Reason = ReasonNoIngressPod
		}
		node := Node{Name: n.Name, IP: v.IP, Reason: v.Reason, Ready: v.Ready, Zone: n.Labels[corev1.LabelTopologyZone]}
		if v.Eligible() {
			snap.Targets = append(snap.Targets, node)
		} else {
			snap.Skipped = append(snap.Skipped, node)
		}
	}
	slices.SortFunc(snap.Targets, func(a, b Node) int {
		if c := a.IP.Compare(b.IP); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	slices.SortFunc(snap.Skipped, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	return snap, nil
}

// healthCheckPort reads the NodePort of the separate health-check Service.
func (s *Source) healthCheckPort(ref PortRef) (int32, error) {
	svc, err := s.service(ref)
	if err != nil {
		return 0, err
	}
	return nodePort(svc, ref)
}

func (s *Source) service(ref PortRef) (*corev1.Service, error) {
	svc, err := s.services.Services(ref.Service.Namespace).Get(ref.Service.Name)
	if apierrors.IsNotFound(err) {
		return nil, &ServiceError{Ref: ref, Problem: "service not found"}
	}
	if err != nil {
		return nil, fmt.Errorf("get service %s: %w", ref.Service, err)
	}
	return svc, nil
}

// nodePort finds the NodePort of the port ref names, by name or by port number.
func nodePort(svc *corev1.Service, ref PortRef) (int32, error) {
	for _, p := range svc.Spec.Ports {
		match := (ref.Port.Type == intstr.String && p.Name == ref.Port.StrVal) ||
			(ref.Port.Type == intstr.Int && p.Port == ref.Port.IntVal)
		if !match {
			continue
		}
		if p.NodePort == 0 {
			return 0, &ServiceError{Ref: ref, Problem: fmt.Sprintf("port has no NodePort (service type %s)", svc.Spec.Type)}
		}
		return p.NodePort, nil
	}
	names := make([]string, 0, len(svc.Spec.Ports))
	for _, p := range svc.Spec.Ports {
		names = append(names, fmt.Sprintf("%s/%d", p.Name, p.Port))
	}
	return 0, &ServiceError{Ref: ref, Problem: fmt.Sprintf("no such port (the service has %s)", strings.Join(names, ", "))}
}
