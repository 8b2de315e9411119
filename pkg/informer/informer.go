package informer

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// Informers watches Nodes and the Services the bindings name, and calls a trigger whenever
// something a sync reads has changed.
type Informers struct {
	factory informers.SharedInformerFactory
	synced  []cache.InformerSynced
	source  *Source
	// rules are every binding's node rules: a node event matters when it changes the verdict
	// of any of them.
	rules    []Rules
	services map[types.NamespacedName]struct{}
	// servingOf are the Services whose serving nodes are the targets, and endpoints the
	// factories, one per namespace, that watch only their EndpointSlices.
	servingOf map[types.NamespacedName]struct{}
	endpoints []informers.SharedInformerFactory
	trigger   func()
	stop      context.CancelFunc
}

// New sets up the informers for the bindings' queries. trigger is called from event handlers
// and must not block.
func New(client kubernetes.Interface, queries []Query, trigger func()) (*Informers, error) {
	f := informers.NewSharedInformerFactoryWithOptions(client, resyncNever, informers.WithTransform(strip))
	nodes := f.Core().V1().Nodes()
	svcs := f.Core().V1().Services()
	i := &Informers{
		factory:  f,
		services: map[types.NamespacedName]struct{}{},
		trigger:  trigger,
		source:   NewSource(nodes.Lister(), svcs.Lister()),
	}
	for _, q := range queries {
		i.rules = append(i.rules, q.Rules)
		i.services[q.Traffic.Service] = struct{}{}
		if q.HealthCheck != nil {
			i.services[q.HealthCheck.Service] = struct{}{}
		}
	}
	if err := i.watchEndpoints(client, queries); err != nil {
		return nil, err
	}
	nh, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { i.onNode(nil, obj) },
		UpdateFunc: i.onNode,
		DeleteFunc: func(obj any) { i.onNode(obj, nil) },
	})
	if err != nil {
		return nil, fmt.Errorf("watch nodes: %w", err)
	}
	sh, err := svcs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { i.onService(nil, obj) },
		UpdateFunc: i.onService,
		DeleteFunc: func(obj any) { i.onService(obj, nil) },
	})
	if err != nil {
		return nil, fmt.Errorf("watch services: %w", err)
	}
	i.synced = append(i.synced, nh.HasSynced, sh.HasSynced)
	return i, nil
}

// watchEndpoints watches the EndpointSlices of the Services whose queries want serving nodes
// only: per namespace, and only those labelled with one of the Services' names.
func (i *Informers) watchEndpoints(client kubernetes.Interface, queries []Query) error {
	byNamespace := map[string][]string{}
	i.servingOf = map[types.NamespacedName]struct{}{}
	for _, q := range queries {
		if !q.ServingNodesOnly {
			continue
		}
		svc := q.Traffic.Service
		if _, dup := i.servingOf[svc]; !dup {
			byNamespace[svc.Namespace] = append(byNamespace[svc.Namespace], svc.Name)
		}
		i.servingOf[svc] = struct{}{}
	}
	i.source.endpoints = map[string]discoverylisters.EndpointSliceLister{}
	for ns, names := range byNamespace {
		selector, err := labels.NewRequirement(discoveryv1.LabelServiceName, selection.In, names)
		if err != nil {
			return fmt.Errorf("watch endpointslices: %w", err)
		}
		f := informers.NewSharedInformerFactoryWithOptions(client, resyncNever, informers.WithNamespace(ns),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector.String() }))
		slices := f.Discovery().V1().EndpointSlices()
		h, err := slices.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { i.onEndpointSlice(nil, obj) },
			UpdateFunc: i.onEndpointSlice,
			DeleteFunc: func(obj any) { i.onEndpointSlice(obj, nil) },
		})
		if err != nil {
			return fmt.Errorf("watch endpointslices: %w", err)
		}
		i.source.endpoints[ns] = slices.Lister()
		i.synced = append(i.synced, h.HasSynced)
		i.endpoints = append(i.endpoints, f)
	}
	return nil
}

// Source returns the snapshot source backed by these informers' caches.
func (i *Informers) Source() *Source { return i.source }

// Start starts watching until ctx ends or Shutdown is called; it returns at once.
func (i *Informers) Start(ctx context.Context) {
	ctx, i.stop = context.WithCancel(ctx)
	i.factory.Start(ctx.Done())
	for _, f := range i.endpoints {
		f.Start(ctx.Done())
	}
}

// WaitForSync blocks until the caches are filled and every handler has seen the initial list,
// or ctx ends. It reports whether the caches are synced.
func (i *Informers) WaitForSync(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), i.synced...)
}

// HasSynced reports whether the caches are filled.
func (i *Informers) HasSynced() bool {
	for _, s := range i.synced {
		if !s() {
			return false
		}
	}
	return true
}

// Shutdown stops the informers and waits for their goroutines.
func (i *Informers) Shutdown() {
	if i.stop != nil {
		i.stop()
	}
	i.factory.Shutdown()
	for _, f := range i.endpoints {
		f.Shutdown()
	}
}

// onNode triggers a sync when a node's verdict changes: it appears as a target, stops being
// one, or its IP changes. Status heartbeats and label churn that decide nothing are ignored.
func (i *Informers) onNode(oldObj, newObj any) {
	old, nu := asNode(oldObj), asNode(newObj)
	if old != nil && nu != nil && old.ResourceVersion == nu.ResourceVersion {
		return
	}
	for _, r := range i.rules {
		var before, after Verdict
		if old != nil {
			before = r.Evaluate(old)
		}
		if nu != nil {
			after = r.Evaluate(nu)
		}
		wasTarget := old != nil && before.Eligible()
		isTarget := nu != nil && after.Eligible()
		if wasTarget != isTarget || (isTarget && before.IP != after.IP) {
			i.trigger()
			return
		}
	}
}

// onService triggers a sync when a watched Service appears, goes, or changes its ports.
func (i *Informers) onService(oldObj, newObj any) {
	old, nu := asService(oldObj), asService(newObj)
	svc := nu
	if svc == nil {
		svc = old
	}
	if svc == nil {
		return
	}
	if _, watched := i.services[types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}]; !watched {
		return
	}
	if old != nil && nu != nil && (old.ResourceVersion == nu.ResourceVersion || sameNodePorts(old, nu)) {
		return
	}
	i.trigger()
}

func sameNodePorts(a, b *corev1.Service) bool {
	if a.Spec.ExternalTrafficPolicy != b.Spec.ExternalTrafficPolicy ||
		a.Spec.HealthCheckNodePort != b.Spec.HealthCheckNodePort ||
		len(a.Spec.Ports) != len(b.Spec.Ports) {
		return false
	}
	for k := range a.Spec.Ports {
		pa, pb := a.Spec.Ports[k], b.Spec.Ports[k]
		if pa.Name != pb.Name || pa.Port != pb.Port || pa.NodePort != pb.NodePort {
			return false
		}
	}
	return true
}

func asNode(obj any) *corev1.Node {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	n, _ := obj.(*corev1.Node)
	return n
}

func asService(obj any) *corev1.Service {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, _ := obj.(*corev1.Service)
	return s
}

// strip drops what targetsync never reads before objects enter the cache: on a large cluster
// node images and volumes are most of a Node's size.
func strip(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Node:
		o.ManagedFields = nil
		o.Annotations = nil
		o.Status.Images = nil
		o.Status.VolumesInUse = nil
		o.Status.VolumesAttached = nil
		o.Status.Capacity = nil
		o.Status.Allocatable = nil
		o.Status.NodeInfo = corev1.NodeSystemInfo{}
	case *corev1.Service:
		o.ManagedFields = nil
		o.Annotations = nil
	}
	return obj, nil
}

// resyncNever documents that informers never resync on their own: the controller's own
// periodic resync compares with AWS, which is where drift happens.
const resyncNever time.Duration = 0
