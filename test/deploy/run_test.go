package deploy

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/targetsync/targetsync/internal/testenv"
)

// world is one test's cluster and AWS: a fresh set of nodes, the ingress Service in its own
// namespace, and an NLB with a target group in moto.
type world struct {
	ctx   context.Context
	cp    *controlPlane
	aws   *testenv.AWS
	nlb   *testenv.NLB
	ns    string
	ips   []string
	port  int32
	nodes int
}

// newWorld builds the world for a test named name; nodePort must be unique among the tests,
// since NodePorts are allocated cluster-wide.
func newWorld(t *testing.T, name string, nodePort int32) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	cp := controlPlaneFor(t)
	_, clients := motoFor(t)
	w := &world{ctx: ctx, cp: cp, aws: clients, ns: "ingress-" + name, port: nodePort}
	var err error
	if w.nlb, err = clients.CreateNLB(ctx, name, nodePort); err != nil {
		t.Fatal(err)
	}
	if err := testenv.DeleteAllNodes(ctx, cp.client); err != nil {
		t.Fatal(err)
	}
	if err := testenv.CreateNamespace(ctx, cp.client, w.ns); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.client.CoreV1().Services(w.ns).Create(ctx, testenv.IngressService(w.ns, nodePort), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := testenv.DeleteServices(context.Background(), cp.client, w.ns); err != nil {
			t.Error(err)
		}
	})
	for i := 1; i <= 3; i++ {
		ip := fmt.Sprintf("10.0.1.%d", i)
		if err := testenv.CreateNode(ctx, cp.client, fmt.Sprintf("%s-node-%d", name, i), ip); err != nil {
			t.Fatal(err)
		}
		w.ips = append(w.ips, ip)
	}
	return w
}

// args are the flags of a run bound to this world's target group.
func (w *world) args(kubeconfig string, extra ...string) []string {
	return append([]string{"run",
		"--kubeconfig", kubeconfig,
		"--target-group-arn", w.nlb.TargetGroupARN,
		"--service", w.ns + "/ingress-nginx-controller",
		"--service-port", "http",
	}, extra...)
}

// waitTargets waits until the target group holds exactly the world's nodes.
func (w *world) waitTargets(t *testing.T, p *testenv.Process) {
	t.Helper()
	want := testenv.Expect(w.port, w.ips...)
	poll(t, time.Minute, fmt.Sprintf("targets %v", want), p, func() (bool, string) {
		got, err := w.aws.Targets(w.ctx, w.nlb.TargetGroupARN)
		if err != nil {
			return false, err.Error()
		}
		return slices.Equal(got, want), fmt.Sprint(got)
	})
}

// poll checks cond until it holds or the deadline passes; it fails at once if p has exited.
func poll(t *testing.T, timeout time.Duration, what string, p *testenv.Process, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if code, exited := p.Exited(); exited {
			t.Fatalf("%s: targetsync exited %d first:\n%s", what, code, p.Output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s; last saw %s\ntargetsync output:\n%s", what, timeout, seen, p.Output())
		}
		<-tick.C
	}
}

// start runs targetsync in this process and stops it when the test ends, failing the test if
// it did not exit cleanly.
func start(t *testing.T, args ...string) *testenv.Process {
	t.Helper()
	p := testenv.Start(args...)
	t.Cleanup(func() {
		if code := p.Stop(); code != 0 {
			t.Errorf("targetsync exited %d:\n%s", code, p.Output())
		}
	})
	return p
}

// metricNameRE finds metric names in PromQL and in runbook text alike.
var metricNameRE = regexp.MustCompile(`\b(?:targetsync|process|go)_[a-z0-9_]+\b`)

// usedMetricNames returns every metric name the alerts and the dashboard refer to.
func usedMetricNames(t *testing.T) []string {
	t.Helper()
	alerts, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	text := string(alerts)
	for _, p := range readDashboard(t).Panels {
		for _, q := range p.Targets {
			text += "\n" + q.Expr
		}
	}
	names := metricNameRE.FindAllString(text, -1)
	sort.Strings(names)
	return slices.Compact(names)
}

// exported returns the sample names of a Prometheus text exposition, with the label sets of
// each as strings.
func exported(body string) map[string][]string {
	out := map[string][]string{}
	for _, l := range strings.Split(body, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		end := strings.IndexAny(l, "{ ")
		if end < 0 {
			continue
		}
		labels := ""
		if l[end] == '{' {
			labels = l[end : strings.Index(l, "}")+1]
		}
		out[l[:end]] = append(out[l[:end]], labels)
	}
	return out
}

func scrape(addr string) (string, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return string(b), err
}

// TestRunningInstanceExportsEveryMetricTheAlertsAndDashboardUse scrapes a running targetsync
// after it has synced: an alert on a metric that is never exported would stay silent forever.
func TestRunningInstanceExportsEveryMetricTheAlertsAndDashboardUse(t *testing.T) {
	w := newWorld(t, "metrics", 30181)
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, w.args(w.cp.kubeconfig, "--metrics-bind-address", addr, "--health-probe-bind-address", "0", "--log-level", "warn")...)
	w.waitTargets(t, p)

	var body string
	poll(t, time.Minute, "a successful sync in the metrics", p, func() (bool, string) {
		var err error
		if body, err = scrape(addr); err != nil {
			return false, err.Error()
		}
		return strings.Contains(body, "targetsync_last_successful_sync_timestamp_seconds{"), "no last successful sync yet"
	})
	samples := exported(body)
	used := usedMetricNames(t)
	for _, name := range used {
		if _, ok := samples[name]; !ok {
			t.Errorf("%s is used by the alerts or the dashboard but not exported", name)
		}
	}
	if len(used) < 10 {
		t.Errorf("found only %d metric names in the alerts and the dashboard: %q", len(used), used)
	}

	// The alerts compare states against zero, so every state must be exported even when no
	// target is in it; and they name the services by the label values the SDK middleware uses.
	tg := w.nlb.TargetGroupName
	for _, state := range []string{"initial", "healthy", "unhealthy", "unused", "draining", "unavailable"} {
		want := fmt.Sprintf(`{state=%q,target_group=%q}`, state, tg)
		if !slices.Contains(samples["targetsync_target_group_targets"], want) {
			t.Errorf("targetsync_target_group_targets%s is not exported; have %q", want, samples["targetsync_target_group_targets"])
		}
	}
	var elbCalls bool
	for _, l := range samples["targetsync_aws_api_calls_total"] {
		elbCalls = elbCalls || strings.Contains(l, `service="elasticloadbalancingv2"`) && strings.Contains(l, `code="OK"`)
	}
	if !elbCalls {
		t.Errorf(`no targetsync_aws_api_calls_total{service="elasticloadbalancingv2",code="OK"}; have %q`, samples["targetsync_aws_api_calls_total"])
	}
	t.Logf("%d metric names checked: %s", len(used), strings.Join(used, " "))
}

// TestShippedRBACIsEnoughToSyncAndLead runs targetsync as the ServiceAccount of the manifests,
// with only the ClusterRole and Role they ship: it must sync a target group, record its Event
// and take and renew the Lease, and the API server's audit log must show no request of that
// ServiceAccount refused. The same run as a ServiceAccount without those bindings is refused,
// which shows the API server really enforces RBAC here.
func TestShippedRBACIsEnoughToSyncAndLead(t *testing.T) {
	w := newWorld(t, "rbac", 30182)
	if ns := kubectlAt(t, w.cp, "apply", "-f", "deploy/manifests/namespace.yaml"); ns.err != nil {
		t.Fatalf("kubectl apply -f deploy/manifests/namespace.yaml:\n%s", ns)
	}
	if r := kubectlAt(t, w.cp, "apply", "-k", "deploy/manifests"); r.err != nil {
		t.Fatalf("kubectl apply -k deploy/manifests:\n%s", r)
	}
	// The Deployment takes the Lease's namespace from POD_NAMESPACE; so does this run.
	t.Setenv("POD_NAMESPACE", namespace)

	t.Run("unbound ServiceAccount is refused", func(t *testing.T) {
		unbound := "system:serviceaccount:" + namespace + ":unbound"
		since := time.Now()
		p := testenv.Start(w.args(w.cp.kubeconfigAs(t, unbound),
			"--leader-elect", "--metrics-bind-address", "0", "--health-probe-bind-address", "0")...)
		defer p.Stop()
		poll(t, time.Minute, "a refused list of nodes", p, func() (bool, string) {
			reqs := w.cp.requestsAs(t, unbound, since)
			for _, e := range reqs {
				if e.ObjectRef != nil && e.ObjectRef.Resource == "nodes" && e.ResponseStatus != nil && e.ResponseStatus.Code == 403 {
					return true, ""
				}
			}
			return false, fmt.Sprint(reqs)
		})
	})

	since := time.Now()
	p := start(t, w.args(w.cp.kubeconfigAs(t, saUser),
		"--leader-elect", "--metrics-bind-address", "0", "--health-probe-bind-address", "0")...)
	w.waitTargets(t, p)

	// A refused request fails the test at once rather than at a deadline.
	refused := func() {
		t.Helper()
		for _, e := range w.cp.requestsAs(t, saUser, since) {
			if e.ResponseStatus != nil && e.ResponseStatus.Code == 403 {
				t.Fatalf("refused as %s: %s", saUser, e)
			}
		}
	}
	poll(t, time.Minute, "the Lease taken and renewed by this run", p, func() (bool, string) {
		refused()
		l, err := w.cp.client.CoordinationV1().Leases(namespace).Get(w.ctx, "targetsync", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		holder := ""
		if l.Spec.HolderIdentity != nil {
			holder = *l.Spec.HolderIdentity
		}
		renewed := l.Spec.RenewTime != nil && l.Spec.RenewTime.After(since) && l.Spec.AcquireTime != nil &&
			l.Spec.RenewTime.After(l.Spec.AcquireTime.Time)
		return holder != "" && renewed, fmt.Sprintf("holder %q acquired %v renewed %v", holder, l.Spec.AcquireTime, l.Spec.RenewTime)
	})
	poll(t, time.Minute, "a TargetsRegistered Event on the Service", p, func() (bool, string) {
		refused()
		evs, err := w.cp.client.CoreV1().Events(w.ns).List(w.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var reasons []string
		for _, e := range evs.Items {
			if e.Reason == "TargetsRegistered" && e.InvolvedObject.Name == "ingress-nginx-controller" {
				return true, ""
			}
			reasons = append(reasons, e.Reason)
		}
		return false, fmt.Sprint(reasons)
	})

	// Every kind of request the controller makes went through as the ServiceAccount.
	reqs := w.cp.requestsAs(t, saUser, since)
	seen := map[string]bool{}
	for _, e := range reqs {
		if e.ResponseStatus != nil && e.ResponseStatus.Code == 403 {
			t.Errorf("refused as %s: %s", saUser, e)
		}
		if e.ObjectRef != nil {
			seen[e.Verb+" "+e.ObjectRef.Resource] = true
		}
	}
	// Informers may list first or stream the list in their watch; either way they watch.
	for _, want := range []string{"watch nodes", "watch services", "create events", "get leases", "update leases"} {
		if !seen[want] {
			t.Errorf("no %q request as %s; saw %v", want, saUser, slices.Sorted(maps.Keys(seen)))
		}
	}
}
