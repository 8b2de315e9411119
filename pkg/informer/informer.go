package informer

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// Informers watches Nodes and the Services the bindings name, and calls a trigger whenever
// something a sync reads has changed.
type Informers struct {
	factories []informers.SharedInformerFactory
	synced    []cache.InformerSynced
	source    *Source
	// rules are every binding's node rules: a node event matters when it changes the verdict
	// of any of them.
	rules    []Rules
	services map[types.NamespacedName]struct{}
	// servingOf are the Services whose serving nodes are the targets (--targets=ingress-nodes).
	servingOf map[types.NamespacedName]struct{}
	trigger   func()
	stop      context.CancelFunc
}

// New sets up the informers for the bindings' queries. trigger is called from event handlers
// and must not block.
//
// Nodes are watched cluster-wide. Each Service a binding names is watched on its own, by
// namespace and a metadata.name field selector, so the cache holds those few Services and not
// every Service in the cluster.
func New(client kubernetes.Interface, queries []Query, trigger func()) (*Informers, error) {
	rules := make([]Rules, len(queries))
	var services []types.NamespacedName
	for k, q := range queries {
		rules[k] = q.Rules
		services = append(services, q.Traffic.Service)
		if q.HealthCheck != nil {
			services = append(services, q.HealthCheck.Service)
		}
	}
	f := informers.NewSharedInformerFactoryWithOptions(client, resyncNever, informers.WithTransform(stripper(rules...)))
	nodes := f.InformerFor(&corev1.Node{}, func(c kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
		// Without the factory's namespace index: Nodes have no namespace, so it would be one
		// set of every node's key, half a megabyte at 5,000 nodes.
		return coreinformers.NewNodeInformer(c, resync, cache.Indexers{})
	})
	i := &Informers{
		factories: []informers.SharedInformerFactory{f},
		rules:     rules,
		services:  map[types.NamespacedName]struct{}{},
		trigger:   trigger,
	}
	listers := serviceListers{}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { i.onService(nil, obj) },
		UpdateFunc: i.onService,
		DeleteFunc: func(obj any) { i.onService(obj, nil) },
	}
	for _, s := range services {
		if _, seen := i.services[s]; seen {
			continue
		}
		i.services[s] = struct{}{}
		sf := informers.NewSharedInformerFactoryWithOptions(client, resyncNever, informers.WithTransform(strip),
			informers.WithNamespace(s.Namespace), informers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.FieldSelector = fields.OneTermEqualSelector("metadata.name", s.Name).String()
			}))
		svc := sf.Core().V1().Services()
		h, err := svc.Informer().AddEventHandler(handler)
		if err != nil {
			return nil, fmt.Errorf("watch service %s: %w", s, err)
		}
		listers[s] = svc.Lister()
		i.factories = append(i.factories, sf)
		i.synced = append(i.synced, h.HasSynced)
	}
	nh, err := nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { i.onNode(nil, obj) },
		UpdateFunc: i.onNode,
		DeleteFunc: func(obj any) { i.onNode(obj, nil) },
	})
	if err != nil {
		return nil, fmt.Errorf("watch nodes: %w", err)
	}
	i.synced = append(i.synced, nh.HasSynced)
	i.source = NewSource(nodes.GetStore(), listers)
	if err := i.watchEndpoints(client, queries); err != nil {
		return nil, err
	}
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
		i.factories = append(i.factories, f)
	}
	return nil
}

// Source returns the snapshot source backed by these informers' caches.
func (i *Informers) Source() *Source { return i.source }

// Start starts watching until ctx ends or Shutdown is called; it returns at once.
func (i *Informers) Start(ctx context.Context) {
	ctx, i.stop = context.WithCancel(ctx)
	for _, f := range i.factories {
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
	for _, f := range i.factories {
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
			before = r.evaluate(old)
		}
		if nu != nil {
			after = r.evaluate(nu)
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

func asService(obj any) *corev1.Service {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, _ := obj.(*corev1.Service)
	return s
}

// stripper is the node cache's transform: it keeps of each Node what the rules read
// (cachedNode). Of the labels, that is the keys rules.Selector names, LabelExcludeFromLB and the
// zone label (for the per-zone quota check), in maps shared between nodes with the same ones
// (labelSets): a cloud node carries a dozen or more. Anything that evaluates another selector
// against cached nodes must add that selector's keys here.
func stripper(rules ...Rules) cache.TransformFunc {
	keep := map[string]bool{LabelExcludeFromLB: true, corev1.LabelTopologyZone: true}
	for _, r := range rules {
		if r.Selector == nil {
			continue
		}
		if reqs, ok := r.Selector.Requirements(); ok {
			for _, req := range reqs {
				keep[req.Key()] = true
			}
		}
	}
	sets := newLabelSets()
	return func(obj any) (any, error) {
		// Anything else, a cachedNode included (a transform must be idempotent), passes as it is.
		if n, ok := obj.(*corev1.Node); ok {
			return compact(n, sets.kept(n.Labels, keep)), nil
		}
		return obj, nil
	}
}

// strip drops what targetsync never reads of a Service before it enters the cache.
func strip(obj any) (any, error) {
	if s, ok := obj.(*corev1.Service); ok {
		s.ManagedFields = nil
		s.Annotations = nil
	}
	return obj, nil
}

// resyncNever documents that informers never resync on their own: the controller's own
// periodic resync compares with AWS, which is where drift happens.
const resyncNever time.Duration = 0
