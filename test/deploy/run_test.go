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

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/targetsync/targetsync/internal/testenv"
)

// world is one test's cluster and AWS: a fresh set of nodes, the ingress Service in its own
// namespace, and an NLB with a target group in moto.
type world struct {
	ctx   context.Context
	cp    *controlPlane
	moto  *testenv.Moto
	aws   *testenv.AWS
	nlb   *testenv.NLB
	ns    string
	ips   []string
	port  int32
	nodes int
}

// clusterName is the --cluster-name of every run here (required by targetsync).
const clusterName = "deploy-test"

// newWorld builds the world for a test named name; nodePort must be unique among the tests,
// since NodePorts are allocated cluster-wide.
func newWorld(t *testing.T, name string, nodePort int32) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	cp := controlPlaneFor(t)
	moto, clients := motoFor(t)
	w := &world{ctx: ctx, cp: cp, moto: moto, aws: clients, ns: "ingress-" + name, port: nodePort}
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
		"--cluster-name", clusterName,
		"--target-group-arn", w.nlb.TargetGroupARN,
		"--service", w.ns + "/ingress-nginx-controller",
		"--service-port", "http",
	}, extra...)
}

// throughProxy sends this test's AWS calls through a fault-injecting proxy in front of moto, for
// the AWS behaviours moto lacks (rejected targets, errors), and returns it.
func (w *world) throughProxy(t *testing.T) *testenv.Proxy {
	t.Helper()
	p, err := testenv.StartProxy(w.moto.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	testenv.SetAWSEnv(t.Setenv, p.URL)
	return p
}

// securityGroup creates a worker security group in the world's VPC, untagged (which targetsync
// writes), and returns its ID.
func (w *world) securityGroup(t *testing.T) string {
	t.Helper()
	out, err := w.aws.EC2.CreateSecurityGroup(w.ctx, &ec2.CreateSecurityGroupInput{
		GroupName: awssdk.String("workers"), Description: awssdk.String("worker nodes"), VpcId: awssdk.String(w.nlb.VpcID),
	})
	if err != nil {
		t.Fatal(err)
	}
	return awssdk.ToString(out.GroupId)
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
//
// Some series exist only once something happened: the security-group metrics once the rules are
// managed, targetsync_rejected_targets once AWS rejected a target. So the run manages a worker
// security group, and one node's address is rejected by AWS (through the proxy, as AWS answers
// InvalidTarget); the rejection must be reported on that Node and must not hold up the others.
// Only samples count, never a HELP line: what the alerts need is series the code really sets.
func TestRunningInstanceExportsEveryMetricTheAlertsAndDashboardUse(t *testing.T) {
	w := newWorld(t, "metrics", 30181)
	proxy := w.throughProxy(t)
	group := w.securityGroup(t)
	const rejectedIP, rejectedNode = "10.0.1.200", "metrics-node-rejected"
	proxy.RejectTarget(rejectedIP, "InvalidTarget", "The following targets are not valid: "+rejectedIP)
	if err := testenv.CreateNode(w.ctx, w.cp.client, rejectedNode, rejectedIP); err != nil {
		t.Fatal(err)
	}
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, w.args(w.cp.kubeconfig, "--security-group-id", group,
		"--metrics-bind-address", addr, "--health-probe-bind-address", "0", "--log-level", "warn")...)
	w.waitTargets(t, p)

	used := usedMetricNames(t)
	if len(used) < 10 {
		t.Errorf("found only %d metric names in the alerts and the dashboard: %q", len(used), used)
	}
	var samples map[string][]string
	missing := func() []string {
		var out []string
		for _, name := range used {
			if _, ok := samples[name]; !ok {
				out = append(out, name)
			}
		}
		return out
	}
	deadline := time.Now().Add(time.Minute)
	for {
		body, err := scrape(addr)
		if err != nil {
			t.Fatal(err)
		}
		samples = exported(body)
		if len(missing()) == 0 || time.Now().After(deadline) {
			break
		}
		if code, exited := p.Exited(); exited {
			t.Fatalf("targetsync exited %d:\n%s", code, p.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, name := range missing() {
		t.Errorf("%s is used by the alerts or the dashboard but not exported", name)
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
	// The label values the alerts select on, exported by a real sync.
	for metric, want := range map[string][]string{
		"targetsync_pending_registrations": {
			fmt.Sprintf(`{reason="quota",target_group=%q}`, tg),
			fmt.Sprintf(`{reason="security_group_rule",target_group=%q}`, tg),
		},
		"targetsync_rejected_targets":           {fmt.Sprintf(`{reason="InvalidTarget",target_group=%q}`, tg)},
		"targetsync_deferred_deregistrations":   {fmt.Sprintf(`{target_group=%q}`, tg)},
		"targetsync_capacity_floor_targets":     {fmt.Sprintf(`{target_group=%q}`, tg)},
		"targetsync_syncs_total":                {fmt.Sprintf(`{result="success",target_group=%q}`, tg)},
		"targetsync_security_group_syncs_total": {`{result="success"}`},
	} {
		for _, l := range want {
			if !slices.Contains(samples[metric], l) {
				t.Errorf("%s%s is not exported; have %q", metric, l, samples[metric])
			}
		}
	}
	var elbCalls bool
	for _, l := range samples["targetsync_aws_api_calls_total"] {
		elbCalls = elbCalls || strings.Contains(l, `service="elasticloadbalancingv2"`) && strings.Contains(l, `code="OK"`)
	}
	if !elbCalls {
		t.Errorf(`no targetsync_aws_api_calls_total{service="elasticloadbalancingv2",code="OK"}; have %q`, samples["targetsync_aws_api_calls_total"])
	}

	// The TargetsyncTargetsRejected runbook finds the reason with this field selector.
	poll(t, time.Minute, "a TargetRejected Event on the rejected Node", p, func() (bool, string) {
		evs, err := w.cp.client.CoreV1().Events("").List(w.ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.kind=Node,reason=TargetRejected"})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == rejectedNode && strings.Contains(e.Message, "InvalidTarget") {
				return true, ""
			}
			seen = append(seen, e.InvolvedObject.Name+": "+e.Message)
		}
		return false, fmt.Sprint(seen)
	})
	t.Logf("%d metric names checked: %s", len(used), strings.Join(used, " "))
}

// TestReadinessIgnoresAWSFailures: the PodDisruptionBudget lets unready replicas be evicted, and
// the README promises that AWS trouble never makes a replica unready. A leader whose every AWS
// call is denied must stay ready while its syncs fail, and say so in its metrics. A sync that
// AccessDenied ends is not retried before the next resync, hence the short resync period.
func TestReadinessIgnoresAWSFailures(t *testing.T) {
	w := newWorld(t, "readiness", 30183)
	proxy := w.throughProxy(t)
	for _, action := range []string{"DescribeTargetGroups", "DescribeTargetHealth", "DescribeTags", "RegisterTargets", "DeregisterTargets"} {
		proxy.Fail(action, "AccessDenied")
	}
	metricsAddr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	probeAddr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, w.args(w.cp.kubeconfig, "--leader-elect", "--leader-election-namespace", w.ns,
		"--leader-election-id", "targetsync-readiness", "--resync-period", "2s", "--metrics-bind-address", metricsAddr,
		"--health-probe-bind-address", probeAddr, "--log-level", "error")...)

	// Once it leads (its caches are synced by then), it must answer ready at every look while
	// its syncs keep failing, for longer than three resync periods: the old rule (a successful
	// sync within three resync periods) would have made it unready by then.
	var unready []string
	ready := func() {
		resp, err := http.Get("http://" + probeAddr + "/readyz")
		if err != nil {
			unready = append(unready, err.Error())
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			unready = append(unready, fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body))))
		}
	}
	var since time.Time
	poll(t, time.Minute, "syncs failing on the leader for over three resync periods", p, func() (bool, string) {
		body, err := scrape(metricsAddr)
		if err != nil {
			return false, err.Error()
		}
		var failed float64
		leader := false
		for _, l := range strings.Split(body, "\n") {
			leader = leader || l == "targetsync_is_leader 1"
			if strings.HasPrefix(l, "targetsync_syncs_total{") && !strings.Contains(l, `result="success"`) {
				var v float64
				if _, err := fmt.Sscan(l[strings.LastIndexByte(l, ' ')+1:], &v); err == nil {
					failed += v
				}
			}
		}
		if !leader {
			return false, "not leading yet"
		}
		ready()
		if failed > 0 && since.IsZero() {
			since = time.Now()
		}
		return failed >= 4 && !since.IsZero() && time.Since(since) > 7*time.Second,
			fmt.Sprintf("%.0f failed syncs, failing since %v", failed, since)
	})
	ready()
	if len(unready) > 0 {
		t.Errorf("/readyz of a leader whose AWS calls fail answered %d times not ready, first %s; AWS failures must not make it unready", len(unready), unready[0])
	}
	if n := proxy.Count("RegisterTargets") + proxy.Count("DeregisterTargets"); n != 0 {
		t.Errorf("%d target changes attempted without a successful read", n)
	}
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
