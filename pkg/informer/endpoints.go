package informer

import (
	"fmt"
	"maps"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// ReasonNoIngressPod is why a node is not a target with --targets=ingress-nodes.
const ReasonNoIngressPod = "runs no serving endpoint of the Service"

// servingNodes are the nodes that run a serving endpoint of svc, from its EndpointSlices.
//
// An endpoint counts while it is ready, and also while it is terminating but still serving:
// a pod moving to another node keeps its old node a target until it has stopped serving, so
// the new node (registered as soon as its pod is ready) comes before the old one leaves.
func servingNodes(slices discoverylisters.EndpointSliceLister, svc types.NamespacedName) (map[string]bool, error) {
	list, err := slices.EndpointSlices(svc.Namespace).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc.Name}))
	if err != nil {
		return nil, fmt.Errorf("list endpointslices of %s: %w", svc, err)
	}
	nodes := map[string]bool{}
	for _, s := range list {
		maps.Copy(nodes, sliceNodes(s))
	}
	return nodes, nil
}

// sliceNodes are the nodes of one EndpointSlice's serving endpoints.
func sliceNodes(s *discoveryv1.EndpointSlice) map[string]bool {
	nodes := map[string]bool{}
	for _, e := range s.Endpoints {
		if e.NodeName == nil || *e.NodeName == "" {
			continue
		}
		c := e.Conditions
		ready := c.Ready == nil || *c.Ready // nil means ready, as the API documents
		draining := c.Terminating != nil && *c.Terminating && c.Serving != nil && *c.Serving
		if ready || draining {
			nodes[*e.NodeName] = true
		}
	}
	return nodes
}

// onEndpointSlice triggers a sync when the serving nodes of a watched Service change.
func (i *Informers) onEndpointSlice(oldObj, newObj any) {
	old, nu := asEndpointSlice(oldObj), asEndpointSlice(newObj)
	s := nu
	if s == nil {
		s = old
	}
	if s == nil {
		return
	}
	svc := types.NamespacedName{Namespace: s.Namespace, Name: s.Labels[discoveryv1.LabelServiceName]}
	if _, watched := i.servingOf[svc]; !watched {
		return
	}
	var before, after map[string]bool
	if old != nil {
		before = sliceNodes(old)
	}
	if nu != nil {
		after = sliceNodes(nu)
	}
	if !maps.Equal(before, after) {
		i.trigger()
	}
}

func asEndpointSlice(obj any) *discoveryv1.EndpointSlice {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, _ := obj.(*discoveryv1.EndpointSlice)
	return s
}
