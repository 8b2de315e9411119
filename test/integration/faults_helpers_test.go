package integration

// Helpers of the fault scenarios in faults_test.go: a world that keeps the invariant, the real
// binary as a subprocess, target health read through the AWS double, metrics and Events.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"

	"github.com/targetsync/targetsync/internal/testenv"
)

// faultCluster is the --cluster-name of every controller the fault scenarios run.
const faultCluster = "faults"

// faultIngressName and faultHealthCheckName are the Services testenv creates.
const (
	faultIngressName     = "ingress-nginx-controller"
	faultHealthCheckName = "ingress-nginx-healthcheck"
)

// faultMutations are the AWS operations that change something.
var faultMutations = []string{"RegisterTargets", "DeregisterTargets", "ModifyTargetGroup", "AddTags",
	"AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress", "CreateTags", "DeleteTags"}

// faultResetProxy puts the behaviours of the AWS double the fault scenarios set back to moto's:
// no faults or rejections, no quota, no VPC check, no initial or draining window.
func faultResetProxy() {
	proxy.ClearFaults()
	proxy.SetTargetQuota(0)
	proxy.SetVPCCIDRs()
	proxy.SetInitialFor(0)
	proxy.SetDeregistrationDelay(0)
}

// faultWorld is one scenario's cluster and target group with the invariant kept over them:
// no target of a node that stayed eligible is ever deregistered. It knows which nodes are
// eligible because the scenario changes them only through it, and it judges every entry of
// the double's DeregisterTargets journal when it is first seen: the target ip:port of an
// eligible node on the current traffic NodePort is a wrongful deregistration. Targets of
// nodes that left (deleted, cordoned), of strangers and on an old NodePort are legitimate.
type faultWorld struct {
	*fixture
	t    *testing.T
	port int32 // the traffic NodePort

	mu       sync.Mutex
	eligible map[string]string // IP -> node name
	judged   int               // journal entries already judged
	wrongful []string
}

// faultNewWorld starts a scenario: a fresh fixture (empty cluster, fresh moto) with the ingress
// Service on NodePort 30080, and the double back to moto's behaviour now and at the end.
func faultNewWorld(t *testing.T) *faultWorld {
	t.Helper()
	faultResetProxy()
	t.Cleanup(faultResetProxy)
	w := &faultWorld{fixture: newFixture(t), t: t, port: 30080, eligible: map[string]string{}}
	if _, err := kube.Client.CoreV1().Services(w.ns).Create(w.ctx, testenv.IngressService(w.ns, w.port), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return w
}

// healthCheckService adds the separate health-check Service on nodePort.
func (w *faultWorld) healthCheckService(nodePort int32) {
	w.t.Helper()
	if _, err := kube.Client.CoreV1().Services(w.ns).Create(w.ctx, testenv.HealthCheckService(w.ns, nodePort), metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

// setNodePort moves the first port of Service name to port.
func (w *faultWorld) setNodePort(name string, port int32) {
	w.t.Helper()
	svc, err := kube.Client.CoreV1().Services(w.ns).Get(w.ctx, name, metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	svc.Spec.Ports[0].NodePort = port
	if _, err := kube.Client.CoreV1().Services(w.ns).Update(w.ctx, svc, metav1.UpdateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

// args are the flags of `targetsync run` for this world, plus extra (later flags win).
func (w *faultWorld) args(extra ...string) []string {
	a := []string{"run",
		"--cluster-name", faultCluster,
		"--kubeconfig", kube.Kubeconfig,
		"--target-group-arn", w.nlb.TargetGroupARN,
		"--service", w.ns + "/" + faultIngressName,
		"--service-port", "http",
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", "0",
		"--log-level", "info",
	}
	return append(a, extra...)
}

// start runs the controller in this test process, as main runs it, until the test ends.
func (w *faultWorld) start(extra ...string) *testenv.Process {
	w.t.Helper()
	p := testenv.Start(w.args(extra...)...)
	w.t.Cleanup(func() {
		code := p.Stop()
		if code != 0 || w.t.Failed() {
			w.t.Logf("targetsync run exited %d; its output:\n%s", code, faultTail(p.Output(), 200))
		}
		if code != 0 {
			w.t.Errorf("targetsync run exited %d", code)
		}
	})
	return p
}

// join creates a Ready worker node, which is eligible from now on.
func (w *faultWorld) join(name, ip string, opts ...testenv.NodeOption) {
	w.t.Helper()
	w.check()
	if err := testenv.CreateNode(w.ctx, kube.Client, name, ip, opts...); err != nil {
		w.t.Fatal(err)
	}
	w.mu.Lock()
	w.eligible[ip] = name
	w.mu.Unlock()
}

// leave marks the node with ip as no longer eligible: its target may be deregistered from now
// on. Every deregistration seen before is judged first, while it was still eligible.
func (w *faultWorld) leave(ip string) string {
	w.t.Helper()
	w.check()
	w.mu.Lock()
	defer w.mu.Unlock()
	name, ok := w.eligible[ip]
	if !ok {
		w.t.Fatalf("no eligible node has IP %s", ip)
	}
	delete(w.eligible, ip)
	return name
}

// remove deletes the node with ip.
func (w *faultWorld) remove(ip string) {
	w.t.Helper()
	name := w.leave(ip)
	if err := kube.Client.CoreV1().Nodes().Delete(w.ctx, name, metav1.DeleteOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

// cordon marks the node with ip unschedulable, as kubectl cordon does.
func (w *faultWorld) cordon(ip string) {
	w.t.Helper()
	name := w.leave(ip)
	if _, err := kube.Client.CoreV1().Nodes().Patch(w.ctx, name, types.StrategicMergePatchType,
		[]byte(`{"spec":{"unschedulable":true}}`), metav1.PatchOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

// check judges the DeregisterTargets journal entries not judged yet.
func (w *faultWorld) check() {
	journal := proxy.Deregistered()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, k := range journal[min(w.judged, len(journal)):] {
		ap, err := netip.ParseAddrPort(k)
		if err != nil {
			continue // a target without a port: not one targetsync writes
		}
		if _, ok := w.eligible[ap.Addr().String()]; ok && int32(ap.Port()) == w.port {
			w.wrongful = append(w.wrongful, k)
			w.t.Errorf("invariant broken: target %s of eligible node %s was deregistered", k, w.eligible[ap.Addr().String()])
		}
	}
	w.judged = len(journal)
}

// wrongfulCount is the number of wrongful deregistrations seen so far.
func (w *faultWorld) wrongfulCount() int {
	w.check()
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.wrongful)
}

// want is the target group that matches the eligible nodes: ip:port, sorted.
func (w *faultWorld) want() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	ips := make([]string, 0, len(w.eligible))
	for ip := range w.eligible {
		ips = append(ips, ip)
	}
	return testenv.Expect(w.port, ips...)
}

// targets is the target group as moto holds it.
func (w *faultWorld) targets() ([]string, error) {
	return w.aws.Targets(w.ctx, w.nlb.TargetGroupARN)
}

// has reports whether the target group holds ip on the traffic port.
func (w *faultWorld) has(ip string) bool {
	got, err := w.targets()
	return err == nil && slices.Contains(got, testenv.Expect(w.port, ip)[0])
}

// deregistered reports whether the journal holds a deregistration of ip on the traffic port.
func (w *faultWorld) deregistered(ip string) bool {
	return slices.Contains(proxy.Deregistered(), testenv.Expect(w.port, ip)[0])
}

// converge waits until the target group holds exactly the eligible nodes and, if extra is not
// nil, until extra holds too; the invariant is checked at every poll. It returns how long that
// took.
func (w *faultWorld) converge(timeout time.Duration, extra func() (bool, string)) time.Duration {
	w.t.Helper()
	start := time.Now()
	eventually(w.t, timeout, "target group converges to the eligible nodes", func() (bool, string) {
		w.check()
		want := w.want()
		got, err := w.targets()
		if err != nil {
			return false, err.Error()
		}
		if !slices.Equal(got, want) {
			return false, fmt.Sprintf("targets %v, want %v", got, want)
		}
		if extra != nil {
			return extra()
		}
		return true, ""
	})
	return time.Since(start)
}

// hold polls cond, checking the invariant, until it holds and at least least has passed.
func (w *faultWorld) hold(least, timeout time.Duration, what string, cond func() (bool, string)) {
	w.t.Helper()
	start := time.Now()
	eventually(w.t, timeout, what, func() (bool, string) {
		w.check()
		ok, seen := cond()
		if !ok {
			return false, seen
		}
		if d := time.Since(start); d < least {
			return false, fmt.Sprintf("held %s of %s", d.Round(time.Millisecond), least)
		}
		return true, seen
	})
}

// report logs the scenario's one parseable result line. A wrongful deregistration has failed
// the test already, when check first saw it.
func (w *faultWorld) report(scenario string, converge time.Duration, extra ...string) {
	w.t.Helper()
	n := w.wrongfulCount()
	line := fmt.Sprintf("reliability: scenario=%s converge=%s wrongful_deregistrations=%d", scenario, converge.Round(time.Millisecond), n)
	for _, e := range extra {
		line += " " + e
	}
	w.t.Log(line)
}

// healthCheckPort is the target group's health-check port as moto holds it.
func (w *faultWorld) healthCheckPort() string {
	got, err := w.aws.HealthCheckPort(w.ctx, w.nlb.TargetGroupARN)
	if err != nil {
		return err.Error()
	}
	return got
}

// faultAWS returns SDK clients that talk to the AWS double, not to moto: what the controller
// sees (initial and draining states, AvailabilityZones, injected faults included).
func faultAWS(t testing.TB) *testenv.AWS {
	t.Helper()
	a, err := testenv.NewAWS(context.Background(), proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// faultHealth is one DescribeTargetHealth answer of the double: state by ip:port, and zones.
type faultHealth struct {
	state map[string]string
	zone  map[string]string
}

func (h faultHealth) count(state string) int {
	n := 0
	for _, s := range h.state {
		if s == state {
			n++
		}
	}
	return n
}

func faultDescribeHealth(ctx context.Context, a *testenv.AWS, arn string) (faultHealth, error) {
	out, err := a.ELB.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		return faultHealth{}, err
	}
	h := faultHealth{state: map[string]string{}, zone: map[string]string{}}
	for _, d := range out.TargetHealthDescriptions {
		if d.Target == nil || d.TargetHealth == nil {
			continue
		}
		k := net.JoinHostPort(aws.ToString(d.Target.Id), strconv.Itoa(int(aws.ToInt32(d.Target.Port))))
		h.state[k] = string(d.TargetHealth.State)
		h.zone[k] = aws.ToString(d.Target.AvailabilityZone)
	}
	return h, nil
}

// faultFloor is the least healthy count the capacity guard keeps for the high-water mark high
// with the default --max-deregister-fraction 0.34: ⌈0.66 × high⌉.
func faultFloor(high int) int {
	return int(math.Ceil(math.Round(0.66*float64(high)*1e6) / 1e6))
}

// faultMetric reads one sample of a Prometheus text scrape: the first line of name whose labels
// include every key=value pair of labels. -1 when there is none.
func faultMetric(text, name string, labels ...string) float64 {
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		set := ""
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				continue
			}
			set, rest = rest[1:end], rest[end+1:]
		}
		have := map[string]string{}
		for _, kv := range strings.Split(set, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				have[k] = strings.Trim(v, `"`)
			}
		}
		match := true
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			if have[k] != strings.Trim(v, `"`) {
				match = false
			}
		}
		if !match {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); err == nil {
			return v
		}
	}
	return -1
}

// faultMutatingCalls lists the mutating operations in a scrape's targetsync_aws_api_calls_total.
func faultMutatingCalls(text string) []string {
	var out []string
	for _, op := range faultMutations {
		if v := faultMetric(text, "targetsync_aws_api_calls_total", "operation="+op); v > 0 {
			out = append(out, fmt.Sprintf("%s=%v", op, v))
		}
	}
	return out
}

// faultScrape is scrape without failing the test: a process that is starting or gone answers
// with an error.
func faultScrape(addr string) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// faultGet returns the status code of GET http://addr+path, 0 when it cannot be reached.
func faultGet(addr, path string) int {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// faultAddr is a free 127.0.0.1 address.
func faultAddr(t testing.TB) string {
	t.Helper()
	a, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// faultEvent looks for an Event with reason on the object named name (a Service in ns, or a
// Node when ns is "") whose message contains msg.
func faultEvent(ctx context.Context, ns, kind, name, reason, msg string) (bool, string) {
	sel := fields.Set{"involvedObject.kind": kind, "involvedObject.name": name, "reason": reason}
	evs, err := kube.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel.AsSelector().String()})
	if err != nil {
		return false, err.Error()
	}
	var seen []string
	for _, e := range evs.Items {
		if strings.Contains(e.Message, msg) {
			return true, e.Message
		}
		seen = append(seen, e.Message)
	}
	return false, fmt.Sprintf("%d %s Events on %s %s: %q", len(evs.Items), reason, kind, name, seen)
}

// faultCount is how often v occurs in s.
func faultCount(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// faultTail is the last n lines of s.
func faultTail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// faultBinary builds the real targetsync command once per test binary, with the flags of
// `make build` so that its build cache serves, into the directory TestMain removes at the end
// (the one holding the kubeconfig), and returns its path.
func faultBinary(t *testing.T) string {
	t.Helper()
	faultBuild.Do(func() {
		start := time.Now()
		faultBuild.path = filepath.Join(filepath.Dir(kube.Kubeconfig), "targetsync")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", faultBuild.path, "./cmd/targetsync")
		cmd.Dir = testenv.RepoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			faultBuild.err = fmt.Errorf("go build ./cmd/targetsync: %v\n%s", err, out)
			return
		}
		t.Logf("built %s in %s", faultBuild.path, time.Since(start).Round(time.Millisecond))
	})
	if faultBuild.err != nil {
		t.Fatal(faultBuild.err)
	}
	return faultBuild.path
}

var faultBuild struct {
	sync.Once
	path string
	err  error
}

// faultProc is the real binary running as a subprocess.
type faultProc struct {
	name string
	cmd  *exec.Cmd
	out  *faultBuffer
	done chan struct{}
	err  error
}

type faultBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *faultBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *faultBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// faultExec starts bin with args, pointed at the AWS double with test credentials. It is
// stopped with SIGTERM when the test ends, if it still runs.
func faultExec(t *testing.T, name, bin string, args ...string) *faultProc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	env := os.Environ()
	testenv.SetAWSEnv(func(k, v string) { env = append(env, k+"="+v) }, proxy.URL)
	cmd.Env = env
	p := &faultProc{name: name, cmd: cmd, out: &faultBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-p.done
			}
			var exit *exec.ExitError
			if p.err != nil && !errors.As(p.err, &exit) {
				t.Errorf("%s: %v", name, p.err)
			} else if p.err != nil {
				t.Errorf("%s exited with %v after SIGTERM", name, p.err)
			}
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, faultTail(p.out.String(), 200))
		}
	})
	return p
}

// kill sends SIGKILL, as the kernel's OOM killer or a node failure would: no cleanup, no Lease
// release, a request in flight is abandoned. It returns once the process is gone.
func (p *faultProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still runs 10s after SIGKILL", p.name)
	}
}
