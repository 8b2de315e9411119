package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/targetsync/targetsync/internal/testenv"
)

// runBootstrap starts `run --bootstrap` against the fixture, serving metrics on metrics (or "0"):
// the setup is named after the cluster (test-ingress, test-http) and lives in the fixture's
// subnets.
func (f *fixture) runBootstrap(metrics string) *testenv.Process {
	f.t.Helper()
	p := testenv.Start("run", "--bootstrap",
		"--kubeconfig", kube.Kubeconfig, "--cluster-name", clusterName,
		"--service", f.ns+"/ingress-nginx-controller", "--health-check-service", f.ns+"/ingress-nginx-healthcheck",
		"--subnet", f.nlb.SubnetIDs[0], "--subnet", f.nlb.SubnetIDs[1],
		"--metrics-bind-address", metrics, "--health-probe-bind-address", "0", "--log-level", "info")
	f.t.Cleanup(func() { p.Stop() })
	return p
}

// bootstrappedTargetGroup is the ARN of the target group `run --bootstrap` created, once it has.
func (f *fixture) bootstrappedTargetGroup() string {
	f.t.Helper()
	var arn string
	eventually(f.t, 60*time.Second, "target group test-http created", func() (bool, string) {
		out, err := f.aws.ELB.DescribeTargetGroups(f.ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{clusterName + "-http"}})
		if err != nil || len(out.TargetGroups) != 1 {
			return false, fmt.Sprint(err)
		}
		arn = aws.ToString(out.TargetGroups[0].TargetGroupArn)
		return true, ""
	})
	return arn
}

// TestRunBootstrapBuildsTheSetupThenKeepsItInSync: from an empty account and a cluster with only
// the ingress controller Service, `run --bootstrap` creates the load balancer, listener, target
// group and the health-check Service in the cluster, then registers the nodes in the target
// group it created. Started again, it finds everything and creates nothing.
func TestRunBootstrapBuildsTheSetupThenKeepsItInSync(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.211")
	f.node("w2", "10.0.1.212")

	p := f.runBootstrap("0")
	arn := f.bootstrappedTargetGroup()
	eventually(t, 60*time.Second, "nodes registered in the bootstrapped target group", func() (bool, string) {
		got, err := f.aws.Targets(f.ctx, arn)
		if err != nil {
			return false, err.Error()
		}
		want := testenv.Expect(30080, "10.0.1.211", "10.0.1.212")
		return strings.Join(got, ",") == strings.Join(want, ","), fmt.Sprint(got, "\n", p.Output())
	})
	if port, err := f.aws.HealthCheckPort(f.ctx, arn); err != nil || port != "30200" {
		t.Errorf("health-check port = %q (%v), want 30200, the health-check Service's NodePort", port, err)
	}
	hc, err := kube.Client.CoreV1().Services(f.ns).Get(f.ctx, "ingress-nginx-healthcheck", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("health-check Service: %v", err)
	}
	if hc.Spec.Type != corev1.ServiceTypeNodePort || hc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal ||
		len(hc.Spec.Ports) != 1 || hc.Spec.Ports[0].NodePort != 30200 {
		t.Errorf("health-check Service spec = %+v, want NodePort 30200 with externalTrafficPolicy Local", hc.Spec)
	}
	lbs, err := f.aws.ELB.DescribeLoadBalancers(f.ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{clusterName + "-ingress"}})
	if err != nil || len(lbs.LoadBalancers) != 1 {
		t.Fatalf("load balancer test-ingress: %v", err)
	}
	listeners, err := f.aws.ELB.DescribeListeners(f.ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lbs.LoadBalancers[0].LoadBalancerArn})
	if err != nil || len(listeners.Listeners) != 1 || aws.ToInt32(listeners.Listeners[0].Port) != 80 {
		t.Errorf("listeners = %+v (%v), want one on port 80", listeners, err)
	}
	if got := linesWith(p.Output(), `"action":"created"`); len(got) < 4 {
		t.Errorf("the log says created for %d resources, want the load balancer, target group, listener and Service:\n%s", len(got), p.Output())
	}
	if code := p.Stop(); code != 0 {
		t.Fatalf("run --bootstrap exited %d:\n%s", code, p.Output())
	}

	// Again: everything is found, nothing is created, and the targets stay. The counts are read
	// once a sync of the target group has ended, so a wrong deregistration would have landed.
	proxy.ResetCounts()
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	again := f.runBootstrap(addr)
	eventually(t, 60*time.Second, "a sync after the second start", func() (bool, string) {
		m, err := tryScrape(addr)
		if err != nil {
			return false, err.Error()
		}
		return syncs(m, clusterName+"-http") >= 1, again.Output()
	})
	for _, op := range []string{"CreateLoadBalancer", "CreateTargetGroup", "CreateListener", "DeregisterTargets"} {
		if n := proxy.Count(op); n != 0 {
			t.Errorf("second start made %d %s calls", n, op)
		}
	}
	if got := linesWith(again.Output(), `"action":"created"`); len(got) != 0 {
		t.Errorf("second start created resources:\n%s", strings.Join(got, "\n"))
	}
}

// TestRunBootstrapFlagsAreOneClearError: bootstrap's own flags mean nothing without --bootstrap,
// and --bootstrap finds its target group itself.
func TestRunBootstrapFlagsAreOneClearError(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{f.args("run", "--scheme", "internal"), "targetsync run: --scheme is only used with --bootstrap"},
		{[]string{"run", "--bootstrap", "--cluster-name", clusterName, "--target-group-arn", f.nlb.TargetGroupARN},
			"targetsync run: --target-group-arn cannot be combined with --bootstrap, which finds or creates the target group"},
	} {
		code, _, errOut := testenv.Exec(f.ctx, tt.args...)
		if code != 1 || strings.TrimSpace(errOut) != tt.want {
			t.Errorf("run %v: exit %d, stderr %q; want 1 and %q", tt.args, code, errOut, tt.want)
		}
	}
	if n := proxy.Mutations(); n != 0 {
		t.Errorf("refused commands made %d writes: %v", n, proxy.Counts())
	}
}
