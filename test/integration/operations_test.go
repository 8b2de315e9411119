package integration

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/targetsync/targetsync/internal/testenv"
)

func TestBurstOf200NodesIsRegisteredInAtMostTwoCalls(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	// The interval is wider than the default 1s so that creating 200 nodes through a loaded
	// API server fits in it on a slow machine; the property is the same: one sync at the
	// leading edge, one for everything that arrived while it was held.
	_, addr := f.startMetered("--min-sync-interval", "5s")
	f.waitSyncs(addr, 1) // the start-up sync has ended; the burst is all that is left

	var want []string
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	sem := make(chan struct{}, 16)
	start := time.Now()
	for i := range 200 {
		ip := fmt.Sprintf("10.0.%d.%d", 10+i/200, 10+i%200)
		want = append(want, ip)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := testenv.CreateNode(f.ctx, kube.Client, fmt.Sprintf("burst-%03d", i), ip); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("created 200 nodes in %s", time.Since(start).Round(time.Millisecond))

	f.waitTargets(testenv.Expect(30080, want...))
	// Count once a sync after the last registration has found nothing to do, so a third call
	// on its way would be counted.
	f.waitSettled(addr)
	if n := proxy.Count("RegisterTargets"); n > 2 {
		t.Errorf("200 nodes joining took %d RegisterTargets calls, want at most 2", n)
	}
	t.Logf("AWS calls for the burst: %v", proxy.Counts())
}

func TestTargetHealthIsExportedAndDrainingTargetsAreRegisteredAgain(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.91")
	f.node("w2", "10.0.1.92")
	f.node("w3", "10.0.1.93")
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	f.start("--metrics-bind-address", addr, "--resync-period", "1s", "--min-sync-interval", "100ms")
	f.waitTargets(testenv.Expect(30080, "10.0.1.91", "10.0.1.92", "10.0.1.93"))

	proxy.SetHealth("10.0.1.92", "unhealthy")
	proxy.SetHealth("10.0.1.93", "draining")
	t.Cleanup(func() {
		proxy.SetHealth("10.0.1.92", "")
		proxy.SetHealth("10.0.1.93", "")
	})
	proxy.ResetCounts()
	eventually(t, 30*time.Second, "health states exported", func() (bool, string) {
		m := scrape(t, addr)
		ok := metric(m, "targetsync_target_group_targets", `state="unhealthy"`, `target_group="web-http"`) == 1 &&
			metric(m, "targetsync_target_group_targets", `state="healthy"`, `target_group="web-http"`) == 1 &&
			metric(m, "targetsync_target_group_targets", `state="draining"`, `target_group="web-http"`) == 1 &&
			metric(m, "targetsync_target_group_desired_targets", `target_group="web-http"`) == 3
		return ok, m
	})
	// client-go's own metrics are exported under the names controller-runtime controllers use,
	// so existing dashboards work.
	m := scrape(t, addr)
	if metric(m, "workqueue_adds_total", `name="targetsync"`) < 1 || metricSum(m, "rest_client_requests_total", `method="GET"`) < 1 ||
		metricSum(m, "rest_client_request_duration_seconds_count", `verb="GET"`) < 1 {
		t.Errorf("client-go metrics missing: want workqueue_adds_total{name=\"targetsync\"}, rest_client_requests_total and rest_client_request_duration_seconds")
	}
	// A draining target is on its way out; the node is still eligible, so it is registered again.
	eventually(t, 30*time.Second, "draining target registered again", func() (bool, string) {
		return proxy.Count("RegisterTargets") >= 1, fmt.Sprint(proxy.Counts())
	})
	// A sync deregisters after it registers: let the one that registered end before looking.
	f.waitSyncs(addr, syncs(scrape(t, addr), "web-http")+1)
	if n := proxy.Count("DeregisterTargets"); n != 0 {
		t.Errorf("an unhealthy or draining target of an eligible node was deregistered (%d calls)", n)
	}
}

func TestMissingServiceIsReportedAndTargetsAreLeftAlone(t *testing.T) {
	f := newFixture(t)
	svc := f.ingress(30080)
	f.node("w1", "10.0.1.101")
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	f.start("--metrics-bind-address", addr, "--resync-period", "1s", "--min-sync-interval", "100ms")
	f.waitTargets(testenv.Expect(30080, "10.0.1.101"))

	if err := kube.Client.CoreV1().Services(f.ns).Delete(f.ctx, svc.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "SyncRefused event on the Service", func() (bool, string) {
		evs, err := kube.Client.CoreV1().Events(f.ns).List(f.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, e := range evs.Items {
			if e.Reason == "SyncRefused" && e.InvolvedObject.Name == svc.Name && strings.Contains(e.Message, "service not found") {
				return true, ""
			}
		}
		return false, fmt.Sprint(len(evs.Items), " events")
	})
	eventually(t, 30*time.Second, "refused sync counted", func() (bool, string) {
		m := scrape(t, addr)
		return metric(m, "targetsync_syncs_total", `result="refused"`, `target_group="web-http"`) >= 1, m
	})
	got, err := f.aws.Targets(f.ctx, f.nlb.TargetGroupARN)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "10.0.1.101:30080" {
		t.Errorf("targets after the Service went away = %v, want them left alone", got)
	}
	if n := proxy.Count("DeregisterTargets"); n != 0 {
		t.Errorf("DeregisterTargets called %d times while the Service was missing", n)
	}
}

// Readiness is caches synced, never AWS health: an unready replica blocks every node drain in
// the cluster through its PodDisruptionBudget. Before the change (f3af150) /readyz failed once
// no sync had succeeded for three resync periods, and no sync was counted no_retry.
func TestProbes(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.111")
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	const resync = time.Second
	_, metricsAddr := f.startMetered("--health-probe-bind-address", addr, "--resync-period", resync.String(), "--min-sync-interval", "100ms")
	get := func(path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	eventually(t, 30*time.Second, "/readyz ok once the caches are synced", func() (bool, string) {
		c := get("/readyz")
		return c == http.StatusOK, strconv.Itoa(c)
	})
	if c := get("/healthz"); c != http.StatusOK {
		t.Errorf("/healthz = %d, want 200", c)
	}
	f.waitTargets(testenv.Expect(30080, "10.0.1.111"))
	noRetry := func() float64 {
		return metricSum(scrape(t, metricsAddr), "targetsync_syncs_total", `result="no_retry"`, `target_group="web-http"`)
	}
	before := noRetry()

	// AWS refuses every read, for good (AccessDenied is terminal): syncs fail, and keep failing
	// for more than three resync periods; the replica stays ready and live all along.
	proxy.Fail("DescribeTargetGroups", "AccessDenied")
	t.Cleanup(func() { proxy.Fail("DescribeTargetGroups", "") })
	failing := time.Now()
	eventually(t, 30*time.Second, "syncs failing no_retry for over three resync periods", func() (bool, string) {
		r, h := get("/readyz"), get("/healthz")
		if r != http.StatusOK || h != http.StatusOK {
			t.Fatalf("/readyz = %d, /healthz = %d after AWS failed for %s; want both 200", r, h, time.Since(failing).Round(time.Millisecond))
		}
		n := noRetry()
		return n >= before+3 && time.Since(failing) > 3*resync+resync/2, fmt.Sprintf("%v no_retry syncs after %s", n-before, time.Since(failing).Round(time.Millisecond))
	})
	if c := get("/readyz"); c != http.StatusOK {
		t.Errorf("/readyz = %d after AWS failed for %s, want 200", c, time.Since(failing).Round(time.Millisecond))
	}
}

func TestLeaderElectionLetsOneOfTwoReplicasWrite(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.121")
	addrs := make([]string, 2)
	procs := make([]*testenv.Process, 2)
	for i := range procs {
		a, err := testenv.FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = a
		procs[i] = testenv.Start(f.args("run", "--leader-elect", "--leader-election-namespace", f.ns,
			"--metrics-bind-address", a, "--health-probe-bind-address", "0", "--log-level", "warn")...)
	}
	t.Cleanup(func() {
		for _, p := range procs {
			if p != nil {
				p.Stop()
			}
		}
	})
	f.waitTargets(testenv.Expect(30080, "10.0.1.121"))
	leaders := func() (int, int) {
		n, leader := 0, -1
		for i, a := range addrs {
			if procs[i] == nil {
				continue
			}
			if metric(scrape(t, a), "targetsync_is_leader") == 1 {
				n++
				leader = i
			}
		}
		return n, leader
	}
	var leader int
	eventually(t, 30*time.Second, "exactly one leader", func() (bool, string) {
		n, l := leaders()
		leader = l
		return n == 1, fmt.Sprintf("%d leaders", n)
	})
	other := 1 - leader

	// A node joins while both run; once the leader has registered it and a later sync found
	// nothing to do, a standby that synced too would have written by now.
	f.node("w3", "10.0.1.123")
	f.waitTargets(testenv.Expect(30080, "10.0.1.121", "10.0.1.123"))
	f.waitSettled(addrs[leader])
	standby := scrape(t, addrs[other])
	if metric(standby, "targetsync_is_leader") != 0 {
		t.Fatalf("replica %d is not the leader but says it is:\n%s", other, standby)
	}
	// Its AWS calls are counted (the start-up ownership check reads the tags), so no write
	// sample means no write was made.
	if n := metricSum(standby, "targetsync_aws_api_calls_total", `operation="DescribeTags"`); n < 1 {
		t.Errorf("standby counted %v DescribeTags calls, want its start-up read counted", n)
	}
	for _, op := range writeOperations {
		if n := metricSum(standby, "targetsync_aws_api_calls_total", `operation="`+op+`"`); n != 0 {
			t.Errorf("standby made %v %s calls", n, op)
		}
	}
	if n := metricSum(standby, "targetsync_syncs_total"); n != 0 {
		t.Errorf("standby ran %v syncs, want none", n)
	}

	// The leader steps down (it releases the Lease); the other takes over and keeps syncing.
	if code := procs[leader].Stop(); code != 0 {
		t.Fatalf("leader exited %d: %s", code, procs[leader].Output())
	}
	procs[leader] = nil
	eventually(t, 40*time.Second, "the other replica leads", func() (bool, string) {
		return metric(scrape(t, addrs[other]), "targetsync_is_leader") == 1, ""
	})
	f.node("w2", "10.0.1.122")
	f.waitTargets(testenv.Expect(30080, "10.0.1.121", "10.0.1.122", "10.0.1.123"))
	// Once leading, the same counter shows its writes.
	if n := metricSum(scrape(t, addrs[other]), "targetsync_aws_api_calls_total", `operation="RegisterTargets"`); n < 1 {
		t.Errorf("new leader counted %v RegisterTargets calls after registering w2", n)
	}
}

// writeOperations are the AWS operations that change state, as targetsync_aws_api_calls_total
// names them.
var writeOperations = []string{"RegisterTargets", "DeregisterTargets", "ModifyTargetGroup", "AddTags",
	"AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"}

var planRow = regexp.MustCompile(`(?m)^web-http\s+register\s+10\.0\.1\.131:30080\s+w1\s+eligible node$`)

func TestPlanPrintsDriftAndExitsTwo(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.131")

	code, out, errOut := testenv.Exec(f.ctx, f.args("plan")...)
	if code != 2 {
		t.Fatalf("plan with drift exited %d, want 2\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !planRow.MatchString(out) || !strings.Contains(out, "web-http: 1 to register, 0 to deregister") {
		t.Errorf("plan output lacks the register row or summary:\n%s", out)
	}
	if n := proxy.Mutations(); n != 0 {
		t.Errorf("plan made %d mutating calls: %v", n, proxy.Counts())
	}

	f.start()
	f.waitTargets(testenv.Expect(30080, "10.0.1.131"))
	code, out, errOut = testenv.Exec(f.ctx, f.args("plan")...)
	if code != 0 || !strings.Contains(out, "web-http: in sync, 1 targets on port 30080") {
		t.Errorf("plan in sync exited %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

func TestBadInputEndsWithOneClearLineAndChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.141")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing service", f.argsWith("run", "--service", f.ns+"/nope"), "service " + f.ns + "/nope port http: service not found"},
		{"unknown port name", f.argsWith("run", "--service-port", "https"), "no such port (the service has http/80)"},
		{"unreadable kubeconfig", f.argsWith("run", "--kubeconfig", "/nonexistent/kubeconfig"), `invalid --kubeconfig "/nonexistent/kubeconfig"`},
		{"malformed ARN", f.argsWith("run", "--target-group-arn", "arn:aws:elasticloadbalancing:us-east-1:123:loadbalancer/net/x/y"), `invalid --target-group-arn`},
		{"missing service in plan", f.argsWith("plan", "--service", f.ns+"/nope"), "service not found"},
		{"no cluster name", without(f.args("run"), "--cluster-name"), `invalid --cluster-name "": required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy.ResetCounts()
			code, _, errOut := testenv.Exec(f.ctx, tt.args...)
			if code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if !strings.Contains(errOut, tt.want) || strings.Contains(errOut, "panic") || strings.Contains(errOut, "goroutine ") {
				t.Errorf("stderr = %q, want one clear line containing %q", errOut, tt.want)
			}
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "targetsync ") {
				t.Errorf("last stderr line = %q, want the error", last)
			}
			if n := proxy.Mutations(); n != 0 {
				t.Errorf("bad input made %d mutating AWS calls", n)
			}
		})
	}
	got, err := f.aws.Targets(f.ctx, f.nlb.TargetGroupARN)
	if err != nil || len(got) != 0 {
		t.Errorf("targets = %v, %v; want none registered by failed runs", got, err)
	}
}

// argsWith is args with some flags replaced.
func (f *fixture) argsWith(cmd string, kv ...string) []string {
	a := f.args(cmd)
	for i := 0; i+1 < len(kv); i += 2 {
		replaced := false
		for j := range a {
			if a[j] == kv[i] && j+1 < len(a) {
				a[j+1] = kv[i+1]
				replaced = true
			}
		}
		if !replaced {
			a = append(a, kv[i], kv[i+1])
		}
	}
	return a
}

// without is args less flag and its value.
func without(args []string, flag string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == flag {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// A target group tagged for another cluster is never written: run refuses to start, in one
// line that names the tag and the other cluster. Tagged for this cluster, it is synced. Before
// the change (f3af150) the tag was not read at all: run started, registered w1 and ran until
// the test's deadline, exiting 0.
func TestTargetGroupOfAnotherClusterIsNeverWritten(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.151")
	f.tagTargetGroup(tagCluster, "other-cluster")
	proxy.ResetCounts()

	// Bounded, so a run that does not refuse ends (exit 0) instead of hanging the test.
	ctx, cancel := context.WithTimeout(f.ctx, 20*time.Second)
	defer cancel()
	code, _, errOut := testenv.Exec(ctx, f.args("run")...)
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	last := lines[len(lines)-1]
	if code != 1 {
		t.Errorf("run against another cluster's target group exited %d, want 1\n%s", code, errOut)
	}
	if !strings.HasPrefix(last, "targetsync run: ") || !strings.Contains(last, tagCluster+"=other-cluster") ||
		!strings.Contains(last, clusterName) {
		t.Errorf("last stderr line = %q, want one line naming %s=other-cluster and this cluster", last, tagCluster)
	}
	if n := strings.Count(errOut, "other-cluster"); n != 1 {
		t.Errorf("stderr names the other cluster %d times, want once:\n%s", n, errOut)
	}
	if n := writes(); n != 0 {
		t.Errorf("refused run made %d mutating calls: %v", n, proxy.Counts())
	}
	if got, err := f.aws.Targets(f.ctx, f.nlb.TargetGroupARN); err != nil || len(got) != 0 {
		t.Errorf("targets = %v, %v; want none", got, err)
	}

	// Tagged for this cluster, it is ours.
	f.tagTargetGroup(tagCluster, clusterName)
	f.start()
	f.waitTargets(testenv.Expect(30080, "10.0.1.151"))
}

// tagTargetGroup sets a tag on the fixture's target group, directly in moto.
func (f *fixture) tagTargetGroup(key, value string) {
	f.t.Helper()
	if _, err := f.aws.ELB.AddTags(f.ctx, &elbv2.AddTagsInput{
		ResourceArns: []string{f.nlb.TargetGroupARN},
		Tags:         []elbtypes.Tag{{Key: aws.String(key), Value: aws.String(value)}},
	}); err != nil {
		f.t.Fatal(err)
	}
}
