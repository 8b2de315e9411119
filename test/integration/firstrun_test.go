package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/targetsync/targetsync/internal/testenv"
)

// What a first run shows: a cluster that cannot be reached, a plan with nothing to do, missing
// AWS credentials, and the first changes run makes.

// deadKubeconfig writes a kubeconfig whose server is addr, context "first-run".
func deadKubeconfig(t *testing.T, addr string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: dead
  cluster:
    server: https://%s
    insecure-skip-tls-verify: true
contexts:
- name: first-run
  context: {cluster: dead, user: someone}
current-context: first-run
users:
- name: someone
  user: {token: not-a-token}
`, addr)
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// linesWith are the lines of text that contain s.
func linesWith(text, s string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// An API server nobody listens on is said at once, with its real cause, in one line; before,
// plan and run waited until they were stopped and then said "context canceled".
func TestFirstRunUnreachableAPIServerIsOneLineWithTheCause(t *testing.T) {
	f := newFixture(t)
	closed, err := testenv.FreeAddr() // free: nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	// Accepts connections and never answers, as a server behind a black-holing firewall or a
	// hung one does.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()

	const timeout = 3 * time.Second
	for _, tt := range []struct {
		name, addr, want string
	}{
		{"refused", closed, "dial tcp " + closed + ": connect: connection refused"},
		{"silent", silent.Addr().String(), "no answer within --request-timeout 3s"},
	} {
		for _, cmd := range []string{"plan", "run"} {
			t.Run(tt.name+"/"+cmd, func(t *testing.T) {
				args := f.argsWith(cmd, "--kubeconfig", deadKubeconfig(t, tt.addr), "--request-timeout", timeout.String())
				// Bounded well beyond the timeout, so a command that hangs fails the test rather
				// than stalling it.
				ctx, cancel := context.WithTimeout(f.ctx, 4*timeout)
				defer cancel()
				start := time.Now()
				code, out, errOut := testenv.Exec(ctx, args...)
				took := time.Since(start)
				all := out + errOut
				if code != 1 {
					t.Errorf("exit code = %d, want 1\n%s", code, all)
				}
				if took > timeout+2*time.Second {
					t.Errorf("took %s, want the answer within --request-timeout %s", took.Round(time.Millisecond), timeout)
				}
				if got := linesWith(all, tt.want); len(got) != 1 {
					t.Errorf("%d lines say %q, want exactly one:\n%s", len(got), tt.want, all)
				}
				lines := strings.Split(strings.TrimSpace(errOut), "\n")
				if last := lines[len(lines)-1]; !strings.HasPrefix(last, "targetsync "+cmd+": cannot reach the API server https://"+tt.addr+" (context first-run): ") {
					t.Errorf("last stderr line = %q, want the error naming the server and context", last)
				}
				if strings.Contains(all, "context canceled") {
					t.Errorf("output says context canceled:\n%s", all)
				}
			})
		}
	}
}

// A plan with nothing to do is one line per binding: no empty table. Which cluster it compared
// is said on stderr; --log-level is honoured.
func TestFirstRunInSyncPlanIsOneLine(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.161")
	f.start()
	f.waitTargets(testenv.Expect(30080, "10.0.1.161"))

	code, out, errOut := testenv.Exec(f.ctx, f.args("plan")...)
	if code != 0 {
		t.Fatalf("plan in sync exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if want := "web-http: in sync, 1 targets on port 30080\n"; out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	server := regexp.MustCompile(`(?m)^targetsync plan: comparing cluster https://127\.0\.0\.1:\d+ \(context \S+\) with target group web-http$`)
	if !server.MatchString(errOut) {
		t.Errorf("stderr does not say which cluster was compared:\n%s", errOut)
	}
	if strings.Contains(errOut, `"msg":"sync done"`) {
		t.Errorf("plan at --log-level info logged debug lines:\n%s", errOut)
	}

	// --log-level debug shows the controller's own lines; the plan on stdout is the same.
	code, out, errOut = testenv.Exec(f.ctx, f.args("plan", "--log-level", "debug")...)
	if code != 0 || out != "web-http: in sync, 1 targets on port 30080\n" {
		t.Errorf("plan --log-level debug exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, `"msg":"sync done"`) {
		t.Errorf("plan --log-level debug did not log the sync:\n%s", errOut)
	}

	// With a change to show, the table is there.
	f.node("w2", "10.0.1.162")
	eventually(t, 30*time.Second, "plan shows the new node", func() (bool, string) {
		code, out, errOut := testenv.Exec(f.ctx, f.args("plan")...)
		ok := code == 2 && strings.HasPrefix(out, "TARGET GROUP") &&
			regexp.MustCompile(`(?m)^web-http\s+register\s+10\.0\.1\.162:30080\s+w2\s+eligible node$`).MatchString(out)
		return ok, fmt.Sprintf("exit %d\n%s%s", code, out, errOut)
	})
}

// A plan that is refused prints no row as if it would happen, and its error once.
func TestFirstRunRefusedPlanPrintsItsErrorOnceAndNoRows(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.171")
	p := f.start()
	f.waitTargets(testenv.Expect(30080, "10.0.1.171"))
	if code := p.Stop(); code != 0 {
		t.Fatalf("run exited %d:\n%s", code, p.Output())
	}
	proxy.ResetCounts()
	// The only node goes: deregistering its target would empty the target group.
	if err := kube.Client.CoreV1().Nodes().Delete(f.ctx, "w1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "plan refused", func() (bool, string) {
		code, out, errOut := testenv.Exec(f.ctx, f.args("plan")...)
		return code == 1, fmt.Sprintf("exit %d\n%s%s", code, out, errOut)
	})
	code, out, errOut := testenv.Exec(f.ctx, f.args("plan")...)
	if code != 1 {
		t.Fatalf("plan that would empty the target group exited %d, want 1\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "deregister") || strings.Contains(out, "TARGET GROUP") {
		t.Errorf("refused plan printed rows:\n%s", out)
	}
	const why = "plan would leave the target group with no target"
	if n := strings.Count(out+errOut, why); n != 1 {
		t.Errorf("the refusal is said %d times, want once\nstdout:\n%s\nstderr:\n%s", n, out, errOut)
	}
	if n := writes(); n != 0 {
		t.Errorf("plan made %d mutating calls", n)
	}
}

// Without credentials the SDK's account of every source it tried is replaced by one line that
// says what to set.
func TestFirstRunMissingAWSCredentialsIsAHint(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.181")
	// Tests in this package do not run in parallel; t.Setenv puts the values back at the end.
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	const hint = "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an IAM role is available"
	for _, cmd := range []string{"plan", "run"} {
		t.Run(cmd, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
			defer cancel()
			code, out, errOut := testenv.Exec(ctx, f.args(cmd)...)
			if code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if last, want := lines[len(lines)-1], "targetsync "+cmd+": "+hint; last != want {
				t.Errorf("last stderr line = %q, want %q", last, want)
			}
			if n := strings.Count(out+errOut, "no AWS credentials"); n != 1 {
				t.Errorf("the hint is said %d times, want once:\n%s%s", n, out, errOut)
			}
			if strings.Contains(out+errOut, "IMDS") {
				t.Errorf("output still has the SDK's credential chain:\n%s%s", out, errOut)
			}
		})
	}
	if n := writes(); n != 0 {
		t.Errorf("runs without credentials made %d mutating calls", n)
	}
}

// run says for each change which node and why, in its log and in an Event on the Node, and
// carries its version in its start-up line and in targetsync_build_info.
func TestFirstRunLogsAndEventsNameTheNodeAndReason(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("worker-1", "10.0.1.191")
	f.node("worker-2", "10.0.1.192")
	// The guard is off so that the one cordon is deregistered at once.
	p, addr := f.startMetered("--log-level", "info", "--max-deregister-fraction", "1", "--min-sync-interval", "100ms")
	f.waitTargets(testenv.Expect(30080, "10.0.1.191", "10.0.1.192"))
	f.patchNode("worker-2", `{"spec":{"unschedulable":true}}`)
	f.waitTargets(testenv.Expect(30080, "10.0.1.191"))

	eventually(t, 30*time.Second, "log lines naming node and reason", func() (bool, string) {
		out := p.Output()
		ok := strings.Contains(out, `"change":"registered 10.0.1.191:30080 (worker-1: eligible node)"`) &&
			strings.Contains(out, `"change":"deregistered 10.0.1.192:30080 (worker-2: cordoned)"`)
		return ok, out
	})
	out := p.Output()
	for _, l := range linesWith(out, `"change":"deregistered 10.0.1.192:30080`) {
		for _, want := range []string{`"msg":"target group changed"`, `"node":"worker-2"`, `"reason":"cordoned"`, `"op":"deregister"`} {
			if !strings.Contains(l, want) {
				t.Errorf("log line lacks %s: %s", want, l)
			}
		}
	}
	start := linesWith(out, `"msg":"starting targetsync"`)
	if len(start) != 1 || !strings.Contains(start[0], `"version":"test"`) || !strings.Contains(start[0], `"server":"https://127.0.0.1:`) {
		t.Errorf("start-up lines = %q, want one carrying the version and the server", start)
	}

	eventually(t, 30*time.Second, "Events on the Nodes", func() (bool, string) {
		evs, err := kube.Client.CoreV1().Events("").List(f.ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Node"})
		if err != nil {
			return false, err.Error()
		}
		var reg, dereg bool
		var seen []string
		for _, e := range evs.Items {
			seen = append(seen, e.InvolvedObject.Name+" "+e.Reason+": "+e.Message)
			switch {
			case e.InvolvedObject.Name == "worker-1" && e.Reason == "TargetsRegistered" &&
				e.Message == "Registered 10.0.1.191:30080 in target group web-http: eligible node":
				reg = true
			case e.InvolvedObject.Name == "worker-2" && e.Reason == "TargetsDeregistered" &&
				e.Message == "Deregistered 10.0.1.192:30080 from target group web-http: cordoned":
				dereg = true
			}
		}
		return reg && dereg, strings.Join(seen, "\n")
	})

	m := scrape(t, addr)
	if v := metric(m, "targetsync_build_info", `version="test"`, `goversion="`+runtime.Version()+`"`); v != 1 {
		t.Errorf("targetsync_build_info{version=\"test\",goversion=%q} = %v, want 1\n%s", runtime.Version(), v, linesWith(m, "build_info"))
	}
}
