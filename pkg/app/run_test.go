package app

import (
	"context"
	"fmt"
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
// wants more targets than a target group holds is a warning naming the numbers and the fix.
func TestCheckBindings(t *testing.T) {
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
	for k := range targetQuota + 1 {
		n := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w%d", k)},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.0.%d.%d", k/250, k%250+1)}}},
		}
		if _, err := kube.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	parse := func(service string) config.Config {
		cfg, err := config.Parse(config.CommandRun, []string{"--cluster-name", "prod", "--service", service, "--service-port", "http",
			"--target-group-arn", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-http/0123456789abcdef"})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	check := func(cfg config.Config) (*observer.ObservedLogs, error) {
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

	logs, err := check(parse("ingress-nginx/ingress-nginx-controller"))
	if err != nil {
		t.Fatalf("checkBindings() error = %v", err)
	}
	warned := logs.FilterMessageSnippet("more nodes are targets than a target group holds").All()
	if len(warned) != 1 || warned[0].ContextMap()["desiredTargets"] != int64(targetQuota+1) ||
		!strings.Contains(fmt.Sprint(warned[0].ContextMap()["fix"]), "--targets=ingress-nodes") {
		t.Errorf("warnings = %+v, want one naming %d desired targets and the fix", warned, targetQuota+1)
	}

	_, err = check(parse("ingress-nginx/missing"))
	if err == nil || err.Error() != "service ingress-nginx/missing port http: service not found" {
		t.Errorf("checkBindings() error = %v, want the missing Service named", err)
	}
}
