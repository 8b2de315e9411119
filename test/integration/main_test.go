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
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/targetsync/targetsync/internal/testenv"
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
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
