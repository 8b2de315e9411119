package informer

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/targetsync/targetsync/internal/fakenode"
)

const benchNodes = 5000

func benchRules(b *testing.B) Rules {
	b.Helper()
	sel, err := labels.Parse("!node-role.kubernetes.io/control-plane")
	if err != nil {
		b.Fatal(err)
	}
	return Rules{Selector: sel, DeregisterCordoned: true}
}

// stripped is node i as the informer's cache holds it.
func stripped(b *testing.B, i int) *cachedNode {
	b.Helper()
	obj, err := stripper(benchRules(b))(fakenode.Real(i))
	if err != nil {
		b.Fatal(err)
	}
	return obj.(*cachedNode)
}

// BenchmarkSnapshot5000 is a sync's read of the cluster at 5,000 nodes: every node through the
// rules, sorted.
func BenchmarkSnapshot5000(b *testing.B) {
	nodes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	services := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for i := range benchNodes {
		if err := nodes.Add(stripped(b, i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := services.Add(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}}},
	}); err != nil {
		b.Fatal(err)
	}
	src := NewSource(nodes, corelisters.NewServiceLister(services))
	q := Query{Traffic: PortRef{Service: types.NamespacedName{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"}, Port: intstr.FromString("http")},
		Rules: benchRules(b)}
	b.ReportAllocs()
	for b.Loop() {
		snap, err := src.Snapshot(q)
		if err != nil || len(snap.Targets) != benchNodes {
			b.Fatalf("%d targets, %v", len(snap.Targets), err)
		}
	}
}

// BenchmarkOnNodeHeartbeat is the event handler on a status heartbeat, the event a cluster of
// 5,000 nodes sends 500 times a second: it must decide "nothing changed" cheaply.
func BenchmarkOnNodeHeartbeat(b *testing.B) {
	old := stripped(b, 1)
	nu := old.DeepCopyObject().(*cachedNode)
	nu.ResourceVersion = "2"
	i := &Informers{rules: []Rules{benchRules(b)}, trigger: func() { b.Fatal("a heartbeat triggered a sync") }}
	b.ReportAllocs()
	for b.Loop() {
		i.onNode(old, nu)
	}
}

// BenchmarkStrip is the transform every Node passes through before it enters the cache.
func BenchmarkStrip(b *testing.B) {
	nodes := make([]*corev1.Node, 0, 64)
	for k := range 64 {
		nodes = append(nodes, fakenode.Real(k))
	}
	transform := stripper(benchRules(b))
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		b.StopTimer()
		n := nodes[k%len(nodes)].DeepCopy()
		k++
		b.StartTimer()
		if _, err := transform(n); err != nil {
			b.Fatal(err)
		}
	}
}
