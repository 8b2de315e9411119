package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/targetsync/targetsync/internal/testenv"
)

func TestOneProcessKeepsSeveralTargetGroupsFromAConfigFile(t *testing.T) {
	f := newFixture(t)
	svc := testenv.IngressService(f.ns, 30080)
	svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: "https", Port: 443, TargetPort: intstr.FromString("https"), NodePort: 30443, Protocol: corev1.ProtocolTCP})
	if _, err := kube.Client.CoreV1().Services(f.ns).Create(f.ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	https, err := f.aws.CreateTargetGroup(f.ctx, "web-https", f.nlb.VpcID, 30443)
	if err != nil {
		t.Fatal(err)
	}
	f.node("w1", "10.0.1.181")
	f.node("w2", "10.0.1.182", func(n *corev1.Node) { n.Labels = map[string]string{"pool": "edge"} })

	// The https binding has its own node selector; the http one takes the top-level default.
	file := filepath.Join(t.TempDir(), "targetsync.yaml")
	cfg := fmt.Sprintf(`apiVersion: targetsync.io/v1alpha1
kind: Config
kubeconfig: %s
clusterName: test
metricsBindAddress: "0"
healthProbeBindAddress: "0"
logLevel: warn
bindings:
  - bindingName: http
    targetGroupArn: %s
    service: %s/ingress-nginx-controller
    servicePort: http
  - bindingName: https
    targetGroupArn: %s
    service: %s/ingress-nginx-controller
    servicePort: "443"
    nodeSelector: pool=edge
`, kube.Kubeconfig, f.nlb.TargetGroupARN, f.ns, https, f.ns)
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := testenv.Start("run", "--config", file)
	t.Cleanup(func() {
		if code := p.Stop(); code != 0 {
			t.Errorf("run exited %d: %s", code, p.Output())
		}
	})
	f.waitTargets(testenv.Expect(30080, "10.0.1.181", "10.0.1.182"))
	eventually(t, 30*time.Second, "https targets", func() (bool, string) {
		got, err := f.aws.Targets(f.ctx, https)
		if err != nil {
			return false, err.Error()
		}
		want := testenv.Expect(30443, "10.0.1.182")
		return strings.Join(got, ",") == strings.Join(want, ","), fmt.Sprint(got)
	})
}

func TestConfigFileTypoIsOneClearError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "targetsync.yaml")
	if err := os.WriteFile(file, []byte("apiVersion: targetsync.io/v1alpha1\nkind: Config\nbindings:\n  - targetGroupArn: x\n    servicPort: http\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := testenv.Exec(t.Context(), "run", "--config", file)
	if code != 1 || !strings.Contains(errOut, file+`: unknown key servicPort in bindings[0]`) {
		t.Errorf("exit %d, stderr %q; want 1 and the unknown field named", code, errOut)
	}
	if n := strings.Count(strings.TrimSpace(errOut), "\n"); n != 0 {
		t.Errorf("stderr has %d lines, want one: %q", n+1, errOut)
	}
}

func TestDryRunLogsThePlanAndChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.191")
	p, addr := f.startMetered("--dry-run", "--log-level", "info", "--resync-period", "1s", "--min-sync-interval", "100ms")
	eventually(t, 30*time.Second, "dry-run plan logged", func() (bool, string) {
		out := p.Output()
		return strings.Contains(out, "planned change (dry run)") && strings.Contains(out, `"ip":"10.0.1.191"`), out
	})
	// The sync that logged the plan and the resync after it have ended, both successfully: had
	// either applied anything, the proxy would have seen it by now.
	f.waitSyncs(addr, 2)
	if n := metric(scrape(t, addr), "targetsync_syncs_total", `result="success"`, `target_group="web-http"`); n < 2 {
		t.Fatalf("successful dry-run syncs = %v, want >= 2: a failing sync writes nothing either", n)
	}
	if n := writes(); n != 0 || proxy.Mutations() != 0 {
		t.Errorf("dry run made %d mutating calls: %v", n, proxy.Counts())
	}
	if got, err := f.aws.Targets(f.ctx, f.nlb.TargetGroupARN); err != nil || len(got) != 0 {
		t.Errorf("targets after a dry run = %v, %v; want none", got, err)
	}
}
