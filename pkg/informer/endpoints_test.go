package informer

import (
	"maps"
	"slices"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

type endpoint struct {
	node                        string
	ready, serving, terminating *bool
}

func slice(name string, eps ...endpoint) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{
		Namespace: watched.Namespace, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: watched.Name},
	}}
	for _, e := range eps {
		ep := discoveryv1.Endpoint{Conditions: discoveryv1.EndpointConditions{Ready: e.ready, Serving: e.serving, Terminating: e.terminating}}
		if e.node != "" {
			ep.NodeName = ptr.To(e.node)
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	return s
}

func TestSliceNodes(t *testing.T) {
	yes, no := ptr.To(true), ptr.To(false)
	tests := []struct {
		name string
		ep   endpoint
		want bool
	}{
		{"ready", endpoint{node: "w1", ready: yes}, true},
		{"ready unset means ready", endpoint{node: "w1"}, true},
		{"not ready", endpoint{node: "w1", ready: no, serving: no}, false},
		{"starting: serving is not enough without terminating", endpoint{node: "w1", ready: no, serving: yes}, false},
		{"terminating and still serving keeps its node", endpoint{node: "w1", ready: no, serving: yes, terminating: yes}, true},
		{"terminating and no longer serving", endpoint{node: "w1", ready: no, serving: no, terminating: yes}, false},
		{"no node name", endpoint{ready: yes}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sliceNodes(slice("s", tt.ep))["w1"]; got != tt.want {
				t.Errorf("node counted = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestOnEndpointSlice: a sync is triggered when the nodes serving a watched Service change, not
// when an endpoint changes in a way that moves no node, and not for other Services.
func TestOnEndpointSlice(t *testing.T) {
	yes, no := ptr.To(true), ptr.To(false)
	n := 0
	i := &Informers{servingOf: map[types.NamespacedName]struct{}{watched: {}}, trigger: func() { n++ }}
	a := slice("a", endpoint{node: "w1", ready: yes})
	i.onEndpointSlice(nil, a)
	if n != 1 {
		t.Fatalf("a new serving node fired %d triggers, want 1", n)
	}
	i.onEndpointSlice(a, slice("a", endpoint{node: "w1", ready: no, serving: yes, terminating: yes}))
	if n != 1 {
		t.Errorf("a draining endpoint on the same node fired a trigger")
	}
	i.onEndpointSlice(a, slice("a", endpoint{node: "w2", ready: yes}))
	if n != 2 {
		t.Errorf("a pod moving to another node fired %d triggers in all, want 2", n)
	}
	other := slice("b", endpoint{node: "w9", ready: yes})
	other.Labels[discoveryv1.LabelServiceName] = "something-else"
	i.onEndpointSlice(nil, other)
	if n != 2 {
		t.Errorf("another Service's EndpointSlice fired a trigger")
	}
	i.onEndpointSlice(a, nil)
	if n != 3 {
		t.Errorf("deleting the slice fired %d triggers in all, want 3", n)
	}
	got := slices.Sorted(maps.Keys(sliceNodes(slice("c", endpoint{node: "w2", ready: yes}, endpoint{node: "w1", ready: yes}))))
	if !slices.Equal(got, []string{"w1", "w2"}) {
		t.Errorf("nodes = %v", got)
	}
}
