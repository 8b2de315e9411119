package informer

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

var watched = types.NamespacedName{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"}

// testInformers returns Informers wired only for its event handlers, and the number of
// triggers they fired.
func testInformers(t *testing.T, rules Rules) (*Informers, *int) {
	t.Helper()
	n := 0
	return &Informers{
		rules:    []Rules{rules},
		services: map[types.NamespacedName]struct{}{watched: {}},
		trigger:  func() { n++ },
	}, &n
}

func testNode(rv, ip string, opts ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "w1", ResourceVersion: rv, Labels: map[string]string{"kubernetes.io/os": "linux"}},
		Status: corev1.NodeStatus{
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}},
			Conditions: []corev1.NodeCondition{{
				Type:              corev1.NodeReady,
				Status:            corev1.ConditionTrue,
				LastHeartbeatTime: metav1.NewTime(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)),
			}},
		},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

func heartbeat(n *corev1.Node) {
	n.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(time.Date(2024, 5, 1, 12, 0, 40, 0, time.UTC))
}

func unschedulable(n *corev1.Node) { n.Spec.Unschedulable = true }

func notReady(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }

func controlPlane(n *corev1.Node) { n.Labels["node-role.kubernetes.io/control-plane"] = "" }

func label(k, v string) func(*corev1.Node) {
	return func(n *corev1.Node) { n.Labels[k] = v }
}

func TestOnNode(t *testing.T) {
	sel, err := labels.Parse("!node-role.kubernetes.io/control-plane")
	if err != nil {
		t.Fatal(err)
	}
	rules := Rules{Selector: sel, DeregisterCordoned: true}

	tests := []struct {
		name string
		// rules replaces the default rules when set.
		rules *Rules
		old   any
		new   any
		want  int
	}{
		{
			name: "eligible node added",
			new:  testNode("1", "10.0.1.1"),
			want: 1,
		},
		{
			name: "ineligible node added",
			new:  testNode("1", "10.0.1.1", controlPlane),
			want: 0,
		},
		{
			name: "heartbeat-only update",
			old:  testNode("1", "10.0.1.1"),
			new:  testNode("2", "10.0.1.1", heartbeat),
			want: 0,
		},
		{
			name: "resync with the same resource version",
			old:  testNode("1", "10.0.1.1"),
			new:  testNode("1", "10.0.1.1"),
			want: 0,
		},
		{
			name: "label that decides nothing",
			old:  testNode("1", "10.0.1.1"),
			new:  testNode("2", "10.0.1.1", label("topology.kubernetes.io/zone", "eu-west-1a")),
			want: 0,
		},
		{
			name: "cordon",
			old:  testNode("1", "10.0.1.1"),
			new:  testNode("2", "10.0.1.1", unschedulable),
			want: 1,
		},
		{
			name: "uncordon",
			old:  testNode("1", "10.0.1.1", unschedulable),
			new:  testNode("2", "10.0.1.1"),
			want: 1,
		},
		{
			name:  "cordon when cordoned nodes stay registered",
			rules: &Rules{Selector: sel},
			old:   testNode("1", "10.0.1.1"),
			new:   testNode("2", "10.0.1.1", unschedulable),
			want:  0,
		},
		{
			name: "InternalIP change",
			old:  testNode("1", "10.0.1.1"),
			new:  testNode("2", "10.0.1.2"),
			want: 1,
		},
		{
			name: "InternalIP change of a node that is not a target",
			old:  testNode("1", "10.0.1.1", controlPlane),
			new:  testNode("2", "10.0.1.2", controlPlane),
			want: 0,
		},
		{
			name: "exclude label added",
			old:  testNode("1", "10.0.1.1"),
			new:  testNode("2", "10.0.1.1", label(LabelExcludeFromLB, "true")),
			want: 1,
		},
		{
			name: "removal taint added",
			old:  testNode("1", "10.0.1.1"),
			new: testNode("2", "10.0.1.1", func(n *corev1.Node) {
				n.Spec.Taints = []corev1.Taint{{Key: TaintKarpenterDisrupted, Effect: corev1.TaintEffectNoSchedule}}
			}),
			want: 1,
		},
		{
			name: "NotReady while the health check decides",
			old:  testNode("1", "10.0.1.1"),
			new:  testNode("2", "10.0.1.1", notReady),
			want: 0,
		},
		{
			name:  "NotReady when NotReady nodes are removed",
			rules: &Rules{Selector: sel, RemoveNotReady: true},
			old:   testNode("1", "10.0.1.1"),
			new:   testNode("2", "10.0.1.1", notReady),
			want:  1,
		},
		{
			name: "eligible node deleted",
			old:  testNode("1", "10.0.1.1"),
			want: 1,
		},
		{
			name: "eligible node deleted, seen as a tombstone",
			old:  cache.DeletedFinalStateUnknown{Key: "w1", Obj: testNode("1", "10.0.1.1")},
			want: 1,
		},
		{
			name: "ineligible node deleted",
			old:  testNode("1", "10.0.1.1", controlPlane),
			want: 0,
		},
		{
			name: "tombstone without a node",
			old:  cache.DeletedFinalStateUnknown{Key: "w1", Obj: "not a node"},
			want: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rules
			if tt.rules != nil {
				r = *tt.rules
			}
			i, got := testInformers(t, r)
			i.onNode(tt.old, tt.new)
			if *got != tt.want {
				t.Errorf("onNode() triggered %d times, want %d", *got, tt.want)
			}
		})
	}
}

func testService(n types.NamespacedName, rv string, opts ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: n.Namespace, Name: n.Name, ResourceVersion: rv},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeNodePort,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster,
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, NodePort: 30080},
				{Name: "https", Port: 443, NodePort: 30443},
			},
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func TestOnService(t *testing.T) {
	other := types.NamespacedName{Namespace: "default", Name: "web"}
	sameNameElsewhere := types.NamespacedName{Namespace: "default", Name: watched.Name}
	movePort := func(s *corev1.Service) { s.Spec.Ports[1].NodePort = 31443 }

	tests := []struct {
		name string
		old  any
		new  any
		want int
	}{
		{name: "unwatched Service added", new: testService(other, "1"), want: 0},
		{name: "unwatched Service NodePort change", old: testService(other, "1"), new: testService(other, "2", movePort), want: 0},
		{name: "unwatched Service deleted", old: testService(other, "1"), want: 0},
		{name: "Service of a watched name in another namespace", new: testService(sameNameElsewhere, "1"), want: 0},
		{name: "watched Service added", new: testService(watched, "1"), want: 1},
		{name: "watched Service deleted", old: testService(watched, "1"), want: 1},
		{
			name: "watched Service deleted, seen as a tombstone",
			old:  cache.DeletedFinalStateUnknown{Key: "ingress-nginx/ingress-nginx-controller", Obj: testService(watched, "1")},
			want: 1,
		},
		{name: "watched Service NodePort change", old: testService(watched, "1"), new: testService(watched, "2", movePort), want: 1},
		{
			name: "watched Service label-only change",
			old:  testService(watched, "1"),
			new:  testService(watched, "2", func(s *corev1.Service) { s.Labels = map[string]string{"team": "edge"} }),
			want: 0,
		},
		{name: "watched Service resync", old: testService(watched, "1"), new: testService(watched, "1"), want: 0},
		{
			name: "watched Service port renamed",
			old:  testService(watched, "1"),
			new:  testService(watched, "2", func(s *corev1.Service) { s.Spec.Ports[1].Name = "tls" }),
			want: 1,
		},
		{
			name: "watched Service port added",
			old:  testService(watched, "1"),
			new: testService(watched, "2", func(s *corev1.Service) {
				s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "metrics", Port: 10254, NodePort: 30254})
			}),
			want: 1,
		},
		{
			name: "watched Service switched to externalTrafficPolicy Local",
			old:  testService(watched, "1"),
			new: testService(watched, "2", func(s *corev1.Service) {
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
				s.Spec.HealthCheckNodePort = 32000
			}),
			want: 1,
		},
		{
			name: "watched Service healthCheckNodePort change",
			old:  testService(watched, "1", func(s *corev1.Service) { s.Spec.HealthCheckNodePort = 32000 }),
			new:  testService(watched, "2", func(s *corev1.Service) { s.Spec.HealthCheckNodePort = 32001 }),
			want: 1,
		},
		{name: "tombstone without a Service", old: cache.DeletedFinalStateUnknown{Key: "x", Obj: 42}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, got := testInformers(t, Rules{})
			i.onService(tt.old, tt.new)
			if *got != tt.want {
				t.Errorf("onService() triggered %d times, want %d", *got, tt.want)
			}
		})
	}
}

// TestStripKeepsWhatRulesRead checks that the cache transforms drop bulk but nothing the
// eligibility rules or the handlers read.
func TestStripKeepsWhatRulesRead(t *testing.T) {
	full := testNode("7", "10.0.1.1", unschedulable, label(LabelExcludeFromLB, "false"), func(n *corev1.Node) {
		n.Annotations = map[string]string{"node.alpha.kubernetes.io/ttl": "0"}
		n.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}
		n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Effect: corev1.TaintEffectNoSchedule}, {Key: TaintKarpenterDisrupted}}
		n.Status.Addresses = append([]corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "w1"}, {Type: corev1.NodeInternalIP, Address: "fd00::1"}}, n.Status.Addresses...)
		n.Status.Images = []corev1.ContainerImage{{Names: []string{"registry.k8s.io/pause:3.9"}, SizeBytes: 1 << 20}}
		n.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}
		n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3800m")}
		n.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: "v1.31.0"}
		n.Status.VolumesInUse = []corev1.UniqueVolumeName{"kubernetes.io/csi/ebs^vol-1"}
	})
	want := &cachedNode{
		ObjectMeta:    metav1.ObjectMeta{Name: "w1", ResourceVersion: "7", Labels: map[string]string{LabelExcludeFromLB: "false"}},
		ip:            netip.MustParseAddr("10.0.1.1"),
		removalTaint:  TaintKarpenterDisrupted,
		unschedulable: true,
		ready:         true,
	}
	got, err := stripper(Rules{})(full)
	if err != nil {
		t.Fatalf("stripper() error = %v", err)
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(cachedNode{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("stripper() mismatch (-want +got):\n%s", diff)
	}
	// Transforms must be idempotent: client-go may pass a cached object through again.
	again, err := stripper(Rules{})(got)
	if err != nil || again != got {
		t.Errorf("stripper(cached node) = %v, %v; want the same node back", again, err)
	}

	svc := testService(watched, "3", func(s *corev1.Service) {
		s.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"}
		s.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	})
	gotSvc, err := strip(svc)
	if err != nil {
		t.Fatalf("strip() error = %v", err)
	}
	if diff := cmp.Diff(testService(watched, "3"), gotSvc); diff != "" {
		t.Errorf("strip(Service) mismatch (-want +got):\n%s", diff)
	}
}

// TestOnNodeAnyBinding: a node change that matters to only one of several bindings' rules
// still triggers a sync, and one that matters to none does not.
func TestOnNodeAnyBinding(t *testing.T) {
	edge, err := labels.Parse("pool=edge")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	i := &Informers{rules: []Rules{{}, {Selector: edge}}, trigger: func() { n++ }}
	i.onNode(testNode("1", "10.0.0.1"), testNode("2", "10.0.0.1", label("pool", "edge")))
	if n != 1 {
		t.Errorf("joining the edge pool fired %d triggers, want 1", n)
	}
	i.onNode(testNode("2", "10.0.0.1", label("pool", "edge")), testNode("3", "10.0.0.1", label("pool", "edge"), heartbeat))
	if n != 1 {
		t.Errorf("a heartbeat fired a trigger")
	}
}

// The cache keeps the labels the rules read and the zone (for the per-zone quota check), and
// nothing else of a node's labels.
func TestStripperKeepsTheLabelsTheRulesRead(t *testing.T) {
	sel, err := labels.Parse("!node-role.kubernetes.io/control-plane,pool in (web)")
	if err != nil {
		t.Fatal(err)
	}
	rules := Rules{Selector: sel}
	n := testNode("1", "10.0.1.1", label("pool", "web"), label("topology.kubernetes.io/zone", "us-east-1a"),
		label("topology.kubernetes.io/region", "us-east-1"), label("node.kubernetes.io/instance-type", "m5.large"),
		label(LabelExcludeFromLB, "true"))
	n.Status.Conditions = append([]corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}}, n.Status.Conditions...)
	before := rules.Evaluate(n)
	obj, err := stripper(rules)(n)
	if err != nil {
		t.Fatal(err)
	}
	got := obj.(*cachedNode)
	want := map[string]string{"pool": "web", LabelExcludeFromLB: "true", "topology.kubernetes.io/zone": "us-east-1a"}
	if diff := cmp.Diff(want, got.Labels); diff != "" {
		t.Errorf("labels kept (-want +got):\n%s", diff)
	}
	if after := rules.evaluate(got); after != before {
		t.Errorf("verdict after strip = %+v, before %+v", after, before)
	}
}

// With several bindings, the cache keeps the labels every binding's selector reads.
func TestStripperKeepsEveryBindingsLabels(t *testing.T) {
	edge, err := labels.Parse("pool=edge")
	if err != nil {
		t.Fatal(err)
	}
	zone, err := labels.Parse("topology.kubernetes.io/zone=us-east-1a")
	if err != nil {
		t.Fatal(err)
	}
	n := testNode("1", "10.0.1.1", label("pool", "edge"), label("topology.kubernetes.io/zone", "us-east-1a"), label("team", "a"))
	obj, err := stripper(Rules{Selector: edge}, Rules{Selector: zone})(n)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"pool": "edge", "topology.kubernetes.io/zone": "us-east-1a"}
	if diff := cmp.Diff(want, obj.(*cachedNode).Labels); diff != "" {
		t.Errorf("labels kept (-want +got):\n%s", diff)
	}
}
