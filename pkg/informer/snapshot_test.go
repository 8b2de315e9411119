package informer_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/targetsync/targetsync/pkg/config"
	"github.com/targetsync/targetsync/pkg/informer"
)

var (
	ingress = types.NamespacedName{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"}
	hcSvc   = types.NamespacedName{Namespace: "ingress-nginx", Name: "ingress-nginx-health"}
)

// service returns a NodePort Service with http/80 → 30080 and https/443 → 30443, changed by opts.
func service(n types.NamespacedName, opts ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: n.Namespace, Name: n.Name, ResourceVersion: "1"},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeNodePort,
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, NodePort: 30080},
				{Name: "https", Port: 443, NodePort: 30443},
			},
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster,
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func local(healthCheckNodePort int32) func(*corev1.Service) {
	return func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = healthCheckNodePort
	}
}

func clusterIP(s *corev1.Service) {
	s.Spec.Type = corev1.ServiceTypeClusterIP
	for i := range s.Spec.Ports {
		s.Spec.Ports[i].NodePort = 0
	}
}

func healthPorts(s *corev1.Service) {
	s.Spec.Ports = []corev1.ServicePort{{Name: "health", Port: 10254, NodePort: 30254}}
}

// source returns a Source over listers backed by plain indexers, holding objs.
func source(t *testing.T, objs ...any) *informer.Source {
	t.Helper()
	nodes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	services := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.Node:
			err = nodes.Add(o)
		case *corev1.Service:
			err = services.Add(o)
		default:
			t.Fatalf("unexpected object %T", o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return informer.NewSource(nodes, corelisters.NewServiceLister(services))
}

func ref(n types.NamespacedName, port intstr.IntOrString) informer.PortRef {
	return informer.PortRef{Service: n, Port: port}
}

func TestSnapshotPorts(t *testing.T) {
	tests := []struct {
		name  string
		objs  []any
		query informer.Query
		// wantTraffic and wantHC are the expected ports when the snapshot succeeds.
		wantTraffic, wantHC int32
		// wantErr lists parts of the error message; empty means no error.
		wantErr []string
		// wantHCErr are parts of the expected HealthCheckErr; the snapshot itself succeeds.
		wantHCErr []string
		// wantServiceErr says the error must satisfy errors.Is(err, informer.ErrService).
		wantServiceErr bool
	}{
		{
			name:        "port by name",
			objs:        []any{service(ingress)},
			query:       informer.Query{Traffic: ref(ingress, intstr.FromString("https"))},
			wantTraffic: 30443,
		},
		{
			name:        "port by number",
			objs:        []any{service(ingress)},
			query:       informer.Query{Traffic: ref(ingress, intstr.FromInt32(80))},
			wantTraffic: 30080,
		},
		{
			name: "port number is the Service port, not the NodePort",
			objs: []any{service(ingress)},
			query: informer.Query{
				Traffic: ref(ingress, intstr.FromInt32(30443)),
			},
			wantErr:        []string{"no such port", "http/80, https/443"},
			wantServiceErr: true,
		},
		{
			name:           "missing Service",
			objs:           []any{service(hcSvc)},
			query:          informer.Query{Traffic: ref(ingress, intstr.FromString("https"))},
			wantErr:        []string{"ingress-nginx/ingress-nginx-controller", "not found"},
			wantServiceErr: true,
		},
		{
			name:           "Service of the same name in another namespace does not count",
			objs:           []any{service(types.NamespacedName{Namespace: "default", Name: ingress.Name})},
			query:          informer.Query{Traffic: ref(ingress, intstr.FromString("https"))},
			wantErr:        []string{"ingress-nginx/ingress-nginx-controller", "not found"},
			wantServiceErr: true,
		},
		{
			name:           "missing port lists the ports",
			objs:           []any{service(ingress)},
			query:          informer.Query{Traffic: ref(ingress, intstr.FromString("websocket"))},
			wantErr:        []string{"ingress-nginx/ingress-nginx-controller", "websocket", "no such port", "http/80, https/443"},
			wantServiceErr: true,
		},
		{
			name:           "ClusterIP Service has no NodePort",
			objs:           []any{service(ingress, clusterIP)},
			query:          informer.Query{Traffic: ref(ingress, intstr.FromString("https"))},
			wantErr:        []string{"ingress-nginx/ingress-nginx-controller", "no NodePort", "ClusterIP"},
			wantServiceErr: true,
		},
		{
			name: "health check from a separate Service",
			objs: []any{service(ingress, local(32000)), service(hcSvc, healthPorts)},
			query: informer.Query{
				Traffic:     ref(ingress, intstr.FromString("https")),
				HealthCheck: &informer.PortRef{Service: hcSvc, Port: intstr.FromString("health")},
			},
			// The separate Service wins over healthCheckNodePort.
			wantTraffic: 30443,
			wantHC:      30254,
		},
		{
			name: "health check from a separate Service by number",
			objs: []any{service(ingress), service(hcSvc, healthPorts)},
			query: informer.Query{
				Traffic:     ref(ingress, intstr.FromString("https")),
				HealthCheck: &informer.PortRef{Service: hcSvc, Port: intstr.FromInt32(10254)},
			},
			wantTraffic: 30443,
			wantHC:      30254,
		},
		{
			name: "missing health-check Service",
			objs: []any{service(ingress)},
			query: informer.Query{
				Traffic:     ref(ingress, intstr.FromString("https")),
				HealthCheck: &informer.PortRef{Service: hcSvc, Port: intstr.FromString("health")},
			},
			// The targets are still synced; the health check is unknown and left alone.
			wantTraffic: 30443,
			wantHCErr:   []string{"ingress-nginx/ingress-nginx-health", "not found"},
		},
		{
			name: "missing health-check port",
			objs: []any{service(ingress), service(hcSvc, healthPorts)},
			query: informer.Query{
				Traffic:     ref(ingress, intstr.FromString("https")),
				HealthCheck: &informer.PortRef{Service: hcSvc, Port: intstr.FromString("healthz")},
			},
			wantTraffic: 30443,
			wantHCErr:   []string{"ingress-nginx/ingress-nginx-health", "healthz", "health/10254"},
		},
		{
			name:        "healthCheckNodePort with externalTrafficPolicy Local",
			objs:        []any{service(ingress, local(32000))},
			query:       informer.Query{Traffic: ref(ingress, intstr.FromString("https"))},
			wantTraffic: 30443,
			wantHC:      32000,
		},
		{
			name: "healthCheckNodePort ignored with externalTrafficPolicy Cluster",
			objs: []any{service(ingress, func(s *corev1.Service) {
				s.Spec.HealthCheckNodePort = 32000
			})},
			query:       informer.Query{Traffic: ref(ingress, intstr.FromString("https"))},
			wantTraffic: 30443,
			wantHC:      0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := source(t, append(tt.objs, node("w1", "10.0.1.1"))...)
			got, err := src.Snapshot(tt.query)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Snapshot() error = nil, want one containing %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Snapshot() error = %q, want it to contain %q", err, w)
					}
				}
				if got := errors.Is(err, informer.ErrService); got != tt.wantServiceErr {
					t.Errorf("errors.Is(err, ErrService) = %v, want %v", got, tt.wantServiceErr)
				}
				// Nothing may be planned from a failed snapshot.
				if len(got.Targets) != 0 {
					t.Errorf("failed Snapshot() returned %d targets", len(got.Targets))
				}
				return
			}
			if err != nil {
				t.Fatalf("Snapshot() error = %v", err)
			}
			if len(got.Targets) != 1 {
				t.Errorf("Snapshot() has %d targets, want 1", len(got.Targets))
			}
			for _, w := range tt.wantHCErr {
				if got.HealthCheckErr == nil || !strings.Contains(got.HealthCheckErr.Error(), w) {
					t.Errorf("HealthCheckErr = %v, want it to contain %q", got.HealthCheckErr, w)
				}
			}
			if len(tt.wantHCErr) == 0 && got.HealthCheckErr != nil {
				t.Errorf("HealthCheckErr = %v, want nil", got.HealthCheckErr)
			}
			if got.TrafficPort != tt.wantTraffic || got.HealthCheckPort != tt.wantHC {
				t.Errorf("ports = traffic %d, health check %d; want %d, %d", got.TrafficPort, got.HealthCheckPort, tt.wantTraffic, tt.wantHC)
			}
		})
	}
}

func TestSnapshotNodes(t *testing.T) {
	rules := informer.Rules{Selector: mustSelector(t, config.DefaultNodeSelector), DeregisterCordoned: true}
	src := source(t,
		service(ingress),
		node("w-c", "10.0.0.10"),
		node("w-a", "10.0.0.9", withReady(corev1.ConditionFalse)),
		node("w-b", "10.0.1.1"),
		node("w-d", "9.255.255.255"),
		node("cp-1", "10.0.0.2", withLabel("node-role.kubernetes.io/control-plane", "")),
		node("w-e", "10.0.0.3", cordoned),
		node("v6", "fd00::1"),
	)

	got, err := src.Snapshot(informer.Query{Traffic: ref(ingress, intstr.FromString("http")), Rules: rules})
	if err != nil {
		t.Fatalf("Snapshot() error = %v", err)
	}

	want := informer.Snapshot{
		// Sorted by address as a number: 10.0.0.9 before 10.0.0.10.
		Targets: []informer.Node{
			{Name: "w-d", IP: netip.MustParseAddr("9.255.255.255"), Ready: true},
			{Name: "w-a", IP: netip.MustParseAddr("10.0.0.9"), Ready: false},
			{Name: "w-c", IP: netip.MustParseAddr("10.0.0.10"), Ready: true},
			{Name: "w-b", IP: netip.MustParseAddr("10.0.1.1"), Ready: true},
		},
		Skipped: []informer.Node{
			{Name: "cp-1", IP: netip.MustParseAddr("10.0.0.2"), Reason: informer.ReasonSelector, Ready: true},
			{Name: "v6", Reason: informer.ReasonNoIPv4, Ready: true},
			{Name: "w-e", IP: netip.MustParseAddr("10.0.0.3"), Reason: informer.ReasonCordoned, Ready: true},
		},
		TrafficPort: 30080,
	}
	if diff := cmp.Diff(want, got, addrCmp); diff != "" {
		t.Errorf("Snapshot() mismatch (-want +got):\n%s", diff)
	}
}

// A sync reads the nodes as the informer's transform caches them: the same snapshot.
func TestSnapshotOfCachedNodes(t *testing.T) {
	rules := informer.Rules{Selector: mustSelector(t, config.DefaultNodeSelector), DeregisterCordoned: true}
	nodes := []*corev1.Node{
		node("w-a", "10.0.0.9", withReady(corev1.ConditionFalse), withLabel("topology.kubernetes.io/zone", "us-east-1a")),
		node("w-b", "10.0.1.1", withTaint(informer.TaintKarpenterDisrupted)),
		node("cp-1", "10.0.0.2", withLabel("node-role.kubernetes.io/control-plane", "")),
		node("w-e", "10.0.0.3", cordoned),
		node("x", "10.0.0.4", withLabel(informer.LabelExcludeFromLB, "true")),
	}
	whole := []any{service(ingress)}
	for _, n := range nodes {
		whole = append(whole, n.DeepCopy())
	}
	cached := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	services := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := services.Add(service(ingress)); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		obj, err := informer.CacheNode(rules, n.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		if err := cached.Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	q := informer.Query{Traffic: ref(ingress, intstr.FromString("http")), Rules: rules}
	want, err := source(t, whole...).Snapshot(q)
	if err != nil {
		t.Fatal(err)
	}
	got, err := informer.NewSource(cached, corelisters.NewServiceLister(services)).Snapshot(q)
	if err != nil {
		t.Fatalf("Snapshot() error = %v", err)
	}
	if diff := cmp.Diff(want, got, addrCmp); diff != "" {
		t.Errorf("snapshot of cached nodes (-whole Nodes +cached):\n%s", diff)
	}
	if len(got.Targets) != 1 || got.Targets[0].Zone != "us-east-1a" {
		t.Errorf("targets = %+v, want w-a alone, in us-east-1a", got.Targets)
	}
}

// A node store holding anything but nodes gives no snapshot, rather than one that leaves
// nodes out, whose targets the plan would deregister.
func TestSnapshotRefusesAForeignObjectInTheNodeCache(t *testing.T) {
	nodes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	services := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, err := range []error{
		nodes.Add(node("w-a", "10.0.0.9")),
		nodes.Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}),
		services.Add(service(ingress)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := informer.NewSource(nodes, corelisters.NewServiceLister(services)).Snapshot(informer.Query{Traffic: ref(ingress, intstr.FromString("http"))})
	if err == nil || !strings.Contains(err.Error(), "node cache holds a *v1.Pod") {
		t.Errorf("Snapshot() = %+v, %v; want the error naming the object", got, err)
	}
}

func TestSnapshotNoNodes(t *testing.T) {
	got, err := source(t, service(ingress)).Snapshot(informer.Query{Traffic: ref(ingress, intstr.FromString("https"))})
	if err != nil {
		t.Fatalf("Snapshot() error = %v", err)
	}
	if len(got.Targets) != 0 || len(got.Skipped) != 0 || got.TrafficPort != 30443 {
		t.Errorf("Snapshot() = %+v, want no nodes and traffic port 30443", got)
	}
}

func TestServiceErrorMessage(t *testing.T) {
	err := error(&informer.ServiceError{Ref: ref(ingress, intstr.FromString("https")), Problem: "service not found"})
	want := "service ingress-nginx/ingress-nginx-controller port https: service not found"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	if !errors.Is(err, informer.ErrService) {
		t.Error("errors.Is(ServiceError, ErrService) = false")
	}
	var se *informer.ServiceError
	if !errors.As(err, &se) || se.Ref.Service != ingress {
		t.Errorf("errors.As(ServiceError) = %v", se)
	}
}

// TestSnapshotRulesPerBinding: two bindings over one cache, each with its own node selector
// and NotReady policy, see each its own targets.
func TestSnapshotRulesPerBinding(t *testing.T) {
	src := source(t,
		service(ingress),
		node("w-a", "10.0.0.1", withLabel("pool", "edge")),
		node("w-b", "10.0.0.2", withLabel("pool", "edge"), withReady(corev1.ConditionFalse)),
		node("w-c", "10.0.0.3", withLabel("pool", "general")),
	)
	names := func(q informer.Query) []string {
		snap, err := src.Snapshot(q)
		if err != nil {
			t.Fatalf("Snapshot() error = %v", err)
		}
		var out []string
		for _, n := range snap.Targets {
			out = append(out, n.Name)
		}
		return out
	}
	edge := informer.Query{Traffic: ref(ingress, intstr.FromString("http")), Rules: informer.Rules{Selector: mustSelector(t, "pool=edge"), RemoveNotReady: true}}
	general := informer.Query{Traffic: ref(ingress, intstr.FromString("https")), Rules: informer.Rules{Selector: mustSelector(t, "pool!=edge")}}
	if got, want := names(edge), []string{"w-a"}; !slices.Equal(got, want) {
		t.Errorf("edge binding targets = %v, want %v", got, want)
	}
	if got, want := names(general), []string{"w-c"}; !slices.Equal(got, want) {
		t.Errorf("general binding targets = %v, want %v", got, want)
	}
}
