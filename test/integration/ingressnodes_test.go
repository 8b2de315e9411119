package integration

import (
	"slices"
	"strings"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/targetsync/targetsync/internal/testenv"
)

// podEndpoint is one ingress controller pod as its EndpointSlice lists it.
type podEndpoint struct {
	node, ip    string
	terminating bool
}

// setEndpoints writes the ingress controller Service's EndpointSlice, as the EndpointSlice
// controller would (the test API server runs no controllers).
func (f *fixture) setEndpoints(eps ...podEndpoint) {
	f.t.Helper()
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "ingress-nginx-controller-abcde",
			Labels: map[string]string{discoveryv1.LabelServiceName: "ingress-nginx-controller"}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, e := range eps {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{e.ip},
			NodeName:  ptr.To(e.node),
			Conditions: discoveryv1.EndpointConditions{
				Ready: ptr.To(!e.terminating), Serving: ptr.To(true), Terminating: ptr.To(e.terminating),
			},
		})
	}
	api := kube.Client.DiscoveryV1().EndpointSlices(f.ns)
	old, err := api.Get(f.ctx, s.Name, metav1.GetOptions{})
	if err == nil {
		s.ResourceVersion = old.ResourceVersion
		_, err = api.Update(f.ctx, s, metav1.UpdateOptions{})
	} else {
		_, err = api.Create(f.ctx, s, metav1.CreateOptions{})
	}
	if err != nil {
		f.t.Fatal(err)
	}
}

// TestIngressNodesOnlyRegistersNodesRunningTheController: with --targets=ingress-nodes only the
// nodes that run a serving ingress controller pod are targets. When a pod moves, its new node is
// registered while the old one is still serving, and the old one leaves once its pod is gone.
func TestIngressNodesOnlyRegistersNodesRunningTheController(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.221")
	f.node("w2", "10.0.1.222")
	f.node("w3", "10.0.1.223")
	f.node("w4", "10.0.1.224")
	f.setEndpoints(podEndpoint{node: "w1", ip: "192.168.0.1"}, podEndpoint{node: "w2", ip: "192.168.0.2"})
	f.start("--targets", "ingress-nodes", "--min-sync-interval", "100ms")
	f.waitTargets(testenv.Expect(30080, "10.0.1.221", "10.0.1.222"))

	// The pod on w1 moves to w3: the new pod is ready while the old one drains.
	proxy.ResetAll()
	f.setEndpoints(podEndpoint{node: "w1", ip: "192.168.0.1", terminating: true}, podEndpoint{node: "w2", ip: "192.168.0.2"},
		podEndpoint{node: "w3", ip: "192.168.0.3"})
	f.waitTargets(testenv.Expect(30080, "10.0.1.221", "10.0.1.222", "10.0.1.223"))
	f.setEndpoints(podEndpoint{node: "w2", ip: "192.168.0.2"}, podEndpoint{node: "w3", ip: "192.168.0.3"})
	f.waitTargets(testenv.Expect(30080, "10.0.1.222", "10.0.1.223"))

	registered, deregistered := proxy.Registered(), proxy.Deregistered()
	if !slices.Contains(registered, "10.0.1.223:30080") || !slices.Equal(deregistered, []string{"10.0.1.221:30080"}) {
		t.Errorf("registered %v, deregistered %v; want w3 in and only w1 out", registered, deregistered)
	}
	if slices.ContainsFunc(append(registered, deregistered...), func(s string) bool { return strings.HasPrefix(s, "10.0.1.224:") }) {
		t.Errorf("w4, which runs no ingress pod, was touched")
	}
}

// TestIngressNodesWithoutEndpointsKeepsTheTargetGroup: a Service with no serving endpoint at all
// (all pods restarting at once) would leave no target; the target group is never emptied.
func TestIngressNodesWithoutEndpointsKeepsTheTargetGroup(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.231")
	f.node("w2", "10.0.1.232")
	f.setEndpoints(podEndpoint{node: "w1", ip: "192.168.1.1"}, podEndpoint{node: "w2", ip: "192.168.1.2"})
	_, addr := f.startMetered("--targets", "ingress-nodes", "--resync-period", "1s", "--min-sync-interval", "100ms")
	f.waitTargets(testenv.Expect(30080, "10.0.1.231", "10.0.1.232"))

	f.setEndpoints()
	f.waitSyncs(addr, syncs(scrape(t, addr), "web-http")+2)
	got, err := f.aws.Targets(f.ctx, f.nlb.TargetGroupARN)
	if err != nil || len(got) == 0 {
		t.Errorf("targets = %v (%v), want the group never emptied", got, err)
	}
}
