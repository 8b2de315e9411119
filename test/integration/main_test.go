// Package integration runs targetsync, as its main runs it, against a real kube-apiserver and
// etcd and against moto_server, which speaks the real ELBv2 protocol, all on 127.0.0.1.
//
// Every AWS call the controller makes goes through a recording proxy: it counts calls, and it
// can report a target as unhealthy or draining, which moto never does.
package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/targetsync/targetsync/internal/testenv"
)

// clusterName is the --cluster-name every test runs with.
const clusterName = "test"

// Target group tags targetsync reads and writes, spelled out: they are an interface to
// operators, so the tests pin them rather than follow the code's constants.
const (
	tagCluster         = "targetsync.io/cluster"
	tagHealthCheckPort = "targetsync.io/health-check-port"
)

var (
	kube  *testenv.Kube
	moto  *testenv.Moto
	proxy *testenv.Proxy
	seq   atomic.Int32
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "targetsync-integration")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if kube, err = testenv.StartKube(dir); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer kube.Stop()
	if moto, err = testenv.StartMoto(); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer moto.Stop()
	if proxy, err = testenv.StartProxy(moto.URL); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer proxy.Close()
	testenv.SetAWSEnv(func(k, v string) { os.Setenv(k, v) }, proxy.URL)
	return m.Run()
}

// fixture is one test's world: an empty cluster but for its namespace and Services, and a
// fresh moto with the seed's NLB, listener and target group.
type fixture struct {
	t   testing.TB
	ctx context.Context
	ns  string
	aws *testenv.AWS
	nlb *testenv.NLB
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	if err := moto.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := testenv.DeleteAllNodes(ctx, kube.Client); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: ctx, ns: fmt.Sprintf("ingress-%d", seq.Add(1))}
	if err := testenv.CreateNamespace(ctx, kube.Client, f.ns); err != nil {
		t.Fatal(err)
	}
	// NodePorts are allocated cluster-wide: free this test's for the next one.
	t.Cleanup(func() {
		if err := testenv.DeleteServices(context.Background(), kube.Client, f.ns); err != nil {
			t.Error(err)
		}
	})
	var err error
	if f.aws, err = testenv.NewAWS(ctx, moto.URL); err != nil {
		t.Fatal(err)
	}
	if f.nlb, err = f.aws.CreateNLB(ctx, "web-http", 30080); err != nil {
		t.Fatal(err)
	}
	proxy.ResetCounts()
	return f
}

// args are the flags of the one-binding case against this fixture, plus extra.
func (f *fixture) args(cmd string, extra ...string) []string {
	a := []string{cmd,
		"--kubeconfig", kube.Kubeconfig,
		"--cluster-name", clusterName,
		"--target-group-arn", f.nlb.TargetGroupARN,
		"--service", f.ns + "/ingress-nginx-controller",
		"--service-port", "http",
	}
	if cmd == "run" {
		a = append(a, "--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--log-level", "warn")
	}
	return append(a, extra...)
}

// start runs the controller and stops it when the test ends.
func (f *fixture) start(extra ...string) *testenv.Process {
	f.t.Helper()
	p := testenv.Start(f.args("run", extra...)...)
	f.t.Cleanup(func() {
		if code := p.Stop(); code != 0 {
			f.t.Errorf("targetsync run exited %d:\n%s", code, p.Output())
		}
	})
	return p
}

func (f *fixture) node(name, ip string, opts ...testenv.NodeOption) {
	f.t.Helper()
	if err := testenv.CreateNode(f.ctx, kube.Client, name, ip, opts...); err != nil {
		f.t.Fatal(err)
	}
}

// eventually polls cond until it holds or the deadline passes; cond says what it saw.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var seen string
	for {
		ok, s := cond()
		if ok {
			return
		}
		seen = s
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s; last saw %s", what, timeout, seen)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for an event
	}
}

// waitTargets waits until the target group holds exactly want (ip:port, sorted).
func (f *fixture) waitTargets(want []string) {
	f.t.Helper()
	eventually(f.t, 30*time.Second, fmt.Sprintf("targets %v", want), func() (bool, string) {
		got, err := f.aws.Targets(f.ctx, f.nlb.TargetGroupARN)
		if err != nil {
			return false, err.Error()
		}
		return strings.Join(got, ",") == strings.Join(want, ","), fmt.Sprint(got)
	})
}

// scrape returns the metrics text of a running instance.
func scrape(t testing.TB, addr string) string {
	t.Helper()
	m, err := tryScrape(addr)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// tryScrape is scrape for an instance that may not be serving yet.
func tryScrape(addr string) (string, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// startMetered is start with the metrics endpoint on a free loopback address, which it returns.
func (f *fixture) startMetered(extra ...string) (*testenv.Process, string) {
	f.t.Helper()
	addr, err := testenv.FreeAddr()
	if err != nil {
		f.t.Fatal(err)
	}
	return f.start(append([]string{"--metrics-bind-address", addr}, extra...)...), addr
}

// metric reads one sample's value from a scrape; -1 when absent.
func metric(text, name string, labels ...string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := sample(line, name, labels); ok {
			return v
		}
	}
	return -1
}

// metricSum adds up every sample of name that carries all labels; 0 when there is none.
func metricSum(text, name string, labels ...string) float64 {
	sum := 0.0
	for _, line := range strings.Split(text, "\n") {
		if v, ok := sample(line, name, labels); ok {
			sum += v
		}
	}
	return sum
}

func sample(line, name string, labels []string) (float64, bool) {
	if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
		return 0, false
	}
	for _, l := range labels {
		if !strings.Contains(line, l) {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
	return v, err == nil
}

// syncs is targetsync_syncs_total of target group tg, summed over results. A sync is counted
// when it has ended: after every AWS call it made.
func syncs(text, tg string) float64 {
	return metricSum(text, "targetsync_syncs_total", `target_group="`+tg+`"`)
}

// waitSyncs waits until the instance serving metrics on addr has ended at least n syncs of the
// fixture's target group, whatever their result.
func (f *fixture) waitSyncs(addr string, n float64) {
	f.t.Helper()
	eventually(f.t, 30*time.Second, fmt.Sprintf("%v syncs of %s ended", n, f.nlb.TargetGroupName), func() (bool, string) {
		m, err := tryScrape(addr)
		if err != nil {
			return false, err.Error() // not serving yet
		}
		got := syncs(m, f.nlb.TargetGroupName)
		return got >= n, fmt.Sprintf("%v syncs", got)
	})
}

// waitSettled waits until a sync of the fixture's target group that started after every target
// change recorded so far has ended without changing anything: whatever the instance on addr was
// going to write for the state it has seen, it has written.
func (f *fixture) waitSettled(addr string) {
	f.t.Helper()
	tg := f.nlb.TargetGroupName
	waitQuiet(f.t, addr, "a sync of "+tg+" that changed nothing", func(m string) (float64, float64) {
		return syncs(m, tg), metricSum(m, "targetsync_target_changes_total", `target_group="`+tg+`"`)
	})
}

// waitRulesSettled is waitSettled for the security-group reconcile.
func waitRulesSettled(t testing.TB, addr string) {
	t.Helper()
	waitQuiet(t, addr, "a security-group reconcile that changed nothing", func(m string) (float64, float64) {
		return metricSum(m, "targetsync_security_group_syncs_total"), metricSum(m, "targetsync_security_group_rule_changes_total")
	})
}

// waitQuiet waits until the counts read from addr's metrics show a run (a sync, a reconcile)
// that ended after a scrape and changed nothing since it. Runs of one kind go one at a time, so
// the first one counted after a scrape started after every one that scrape counted had ended;
// a run records its changes together with its count.
func waitQuiet(t testing.TB, addr, what string, counts func(metrics string) (runs, changes float64)) {
	t.Helper()
	baseRuns, baseChanges := -1.0, -1.0
	eventually(t, 30*time.Second, what, func() (bool, string) {
		m, err := tryScrape(addr)
		if err != nil {
			return false, err.Error() // not serving yet
		}
		r, c := counts(m)
		if baseRuns >= 0 && r > baseRuns && c == baseChanges {
			// The count goes up a moment before the changes are added: look once more.
			if m, err = tryScrape(addr); err != nil {
				return false, err.Error()
			}
			_, c = counts(m)
		}
		seen := fmt.Sprintf("%v runs, %v changes", r, c)
		if baseRuns < 0 || c != baseChanges {
			baseRuns, baseChanges = r, c // a new start: wait for a run after this scrape
			return false, seen
		}
		return r > baseRuns, seen
	})
}

// writes counts the calls through the proxy that change AWS state: proxy.Mutations and the ELB
// tag writes it does not count. Compare it with 0 only.
func writes() int {
	return proxy.Mutations() + proxy.Count("AddTags") + proxy.Count("RemoveTags")
}
