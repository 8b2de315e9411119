package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/targetsync/targetsync/pkg/config"
	"github.com/targetsync/targetsync/pkg/controller"
)

// TestCheckBindings: at start-up a missing Service ends run with one error, and a binding that
// wants more targets than a target group holds, or than AWS allows in one Availability Zone, is
// a warning naming the numbers and the fix.
func TestCheckBindings(t *testing.T) {
	type warning struct {
		msg     string
		zone    string
		desired int64
	}
	const (
		groupFull = "more nodes are targets than a target group holds"
		zoneFull  = "more targets in one Availability Zone than a Network Load Balancer allows"
	)
	tests := []struct {
		name  string
		zones map[string]int // nodes per zone label ("": unlabelled)
		want  []warning
	}{
		{name: "within both quotas", zones: map[string]int{"us-east-1a": 400, "us-east-1b": 400}},
		{name: "over the group quota, spread over three zones", zones: map[string]int{"us-east-1a": 334, "us-east-1b": 334, "us-east-1c": 334},
			want: []warning{{msg: groupFull, desired: 1002}}},
		{name: "over the zone quota in one zone", zones: map[string]int{"us-east-1a": zoneTargetQuota + 1, "us-east-1b": 10},
			want: []warning{{msg: zoneFull, zone: "us-east-1a", desired: zoneTargetQuota + 1}}},
		{name: "over both", zones: map[string]int{"us-east-1a": 600, "us-east-1b": 600},
			want: []warning{{msg: groupFull, desired: 1200}, {msg: zoneFull, zone: "us-east-1a", desired: 600}, {msg: zoneFull, zone: "us-east-1b", desired: 600}}},
		{name: "unlabelled nodes count for the group only", zones: map[string]int{"": 600}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := clusterWithZones(t, tt.zones)
			logs, err := checkAtStartUp(t, kube, "ingress-nginx/ingress-nginx-controller")
			if err != nil {
				t.Fatalf("checkBindings() error = %v", err)
			}
			var got []warning
			for _, e := range logs.FilterLevelExact(zapcore.WarnLevel).All() {
				ctx := e.ContextMap()
				if !strings.Contains(fmt.Sprint(ctx["fix"]), "--targets=ingress-nodes") || ctx["binding"] != "http" {
					t.Errorf("warning %q names no fix or binding: %v", e.Message, ctx)
				}
				w := warning{desired: ctx["desiredTargets"].(int64)}
				w.zone, _ = ctx["zone"].(string)
				for _, m := range []string{groupFull, zoneFull} {
					if strings.HasPrefix(e.Message, m) {
						w.msg = m
					}
				}
				got = append(got, w)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("warnings = %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("missing Service", func(t *testing.T) {
		_, err := checkAtStartUp(t, clusterWithZones(t, map[string]int{"us-east-1a": 1}), "ingress-nginx/missing")
		if err == nil || err.Error() != "service ingress-nginx/missing port http: service not found" {
			t.Errorf("checkBindings() error = %v, want the missing Service named", err)
		}
	})
}

// clusterWithZones is a fake cluster with the ingress Service and, per zone label, that many
// nodes.
func clusterWithZones(t *testing.T, zones map[string]int) *fake.Clientset {
	t.Helper()
	ctx := context.Background()
	kube := fake.NewClientset()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}}},
	}
	if _, err := kube.CoreV1().Services("ingress-nginx").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k := 0
	for zone, n := range zones {
		for range n {
			node := &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w%d", k)},
				Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
					{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.0.%d.%d", k/250, k%250+1)}}},
			}
			if zone != "" {
				node.Labels = map[string]string{corev1.LabelTopologyZone: zone}
			}
			if _, err := kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			k++
		}
	}
	return kube
}

// checkAtStartUp runs run's start-up check of one binding to service against kube.
func checkAtStartUp(t *testing.T, kube *fake.Clientset, service string) (*observer.ObservedLogs, error) {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Parse(config.CommandRun, []string{"--cluster-name", "prod", "--service", service, "--service-port", "http",
		"--target-group-arn", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-http/0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.InfoLevel)
	w, err := newWiring(cfg, kube, nil, controller.Options{ClusterName: cfg.ClusterName, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	w.informers.Start(ctx)
	defer w.informers.Shutdown()
	if !w.informers.WaitForSync(ctx) {
		t.Fatal("caches did not sync")
	}
	return logs, checkBindings(w, cfg, zap.New(core))
}
