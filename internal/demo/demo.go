// Package demo shows targetsync's whole job on a cluster and an AWS that run on this machine:
// kube-apiserver and etcd (envtest, the binaries of hack/setup-envtest.sh) and moto_server
// behind internal/testenv's AWS double, all on 127.0.0.1 in one temporary directory.
// `targetsync bootstrap` and `targetsync run` run in this process, as main runs them, and a
// story plays against them. Each step's line is printed only once the demo has seen, through
// the AWS API, that targetsync did what the line says.
//
// `make demo` plays the story and stays up for the user to try things; `make demo
// DEMO_ARGS=--once` plays it and exits 0 when every step was observed, 1 otherwise.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/targetsync/targetsync/internal/testenv"
	"github.com/targetsync/targetsync/pkg/app"
)

// The demo cluster and what bootstrap names after it.
const (
	cluster      = "demo"
	namespace    = "ingress-nginx"
	ingressName  = "ingress-nginx-controller"
	hcService    = "ingress-nginx/ingress-nginx-healthcheck"
	vpcCIDR      = "10.0.0.0/16"
	httpPort     = 30080
	httpsPort    = 30443
	movedPort    = 30081
	hcPort       = 30200
	version      = "demo"
	window       = 5 * time.Second // --capacity-window
	initialFor   = 3 * time.Second // how long a new target reports initial in the mass cordon
	stepTimeout  = 30 * time.Second
	guardTimeout = 90 * time.Second
)

// Options is one run of the demo.
type Options struct {
	// Once plays the story and returns instead of staying up until ctx ends.
	Once bool
	// Out receives the narration; nil: os.Stdout.
	Out io.Writer
	// Ready, when set, is called once everything is up, before the story.
	Ready func(Info)
}

// Info is where the demo's parts listen.
type Info struct {
	Dir, Kubeconfig, KubeHost, MotoURL, ProxyURL, MetricsAddr string
}

// Main parses args (--once) and runs the demo; it returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("targetsync-demo", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	once := fs.Bool("once", false, "play the story and exit: 0 when every step was observed, 1 otherwise")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 1
	}
	return Run(ctx, Options{Once: *once, Out: stdout})
}

// demo is one running demo and what it has to undo.
type demo struct {
	out      io.Writer
	start    time.Time
	cleanups []func()

	dir     string
	kube    *testenv.Kube
	moto    *testenv.Moto
	proxy   *testenv.Proxy
	direct  *testenv.AWS // straight to moto: the world bootstrap starts from
	aws     *testenv.AWS // through the AWS double: every check
	vpcID   string
	sgID    string
	tgARN   string
	lbDNS   string
	metrics string
	logPath string
	run     *process
	steps   int
}

// Run plays the demo and returns the exit code.
func Run(ctx context.Context, o Options) int {
	d := &demo{out: o.Out, start: time.Now()}
	if d.out == nil {
		d.out = os.Stdout
	}
	defer d.teardown(!o.Once)
	if err := d.setup(ctx); err != nil {
		fmt.Fprintf(d.out, "demo: setup failed: %v\n", err)
		return 1
	}
	if o.Ready != nil {
		o.Ready(Info{Dir: d.dir, Kubeconfig: d.kube.Kubeconfig, KubeHost: d.kube.Config.Host,
			MotoURL: d.moto.URL, ProxyURL: d.proxy.URL, MetricsAddr: d.metrics})
	}
	if err := d.story(ctx); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(d.out, "\ninterrupted")
			return 1
		}
		fmt.Fprintf(d.out, "\n✗ %v\n", err)
		d.logTail(30)
		return 1
	}
	if o.Once {
		fmt.Fprintf(d.out, "\nall %d steps observed in %s\n", d.steps, d.since())
		return 0
	}
	d.tryThis()
	<-ctx.Done()
	fmt.Fprintf(d.out, "\nstopping targetsync, moto, kube-apiserver and etcd; removing %s\n", d.dir)
	return 0
}

// onExit registers f to run at teardown, in reverse order of registration.
func (d *demo) onExit(f func()) { d.cleanups = append(d.cleanups, f) }

func (d *demo) teardown(say bool) {
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		d.cleanups[i]()
	}
	d.cleanups = nil
	if say && d.dir != "" {
		fmt.Fprintln(d.out, "stopped; removed", d.dir)
	}
}

// setenv sets an environment variable for the demo's run and restores it at teardown.
func (d *demo) setenv(k, v string) {
	old, had := os.LookupEnv(k)
	_ = os.Setenv(k, v)
	d.onExit(func() {
		if had {
			_ = os.Setenv(k, old)
		} else {
			_ = os.Unsetenv(k)
		}
	})
}

func (d *demo) since() string { return time.Since(d.start).Round(100 * time.Millisecond).String() }

// say prints one narrated line, stamped with the time since the demo started.
func (d *demo) say(format string, a ...any) {
	fmt.Fprintf(d.out, "[%6.1fs] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, a...))
}

// indent prints text under the narration, indented.
func (d *demo) indent(text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(d.out, "           %s\n", l)
	}
}

// await polls cond until it holds, ctx ends or timeout passes; cond says what it saw. The
// error names the step and the last thing seen.
func (d *demo) await(ctx context.Context, step string, timeout time.Duration, cond func() (bool, string)) (string, error) {
	deadline := time.Now().Add(timeout)
	var seen string
	for {
		ok, s := cond()
		seen = s
		if ok {
			return seen, nil
		}
		if d.run != nil {
			if code, done := d.run.exited(); done {
				return seen, fmt.Errorf("step %q: targetsync run exited %d; last saw %s", step, code, seen)
			}
		}
		if time.Now().After(deadline) {
			return seen, fmt.Errorf("step %q: not observed within %s; last saw %s", step, timeout, seen)
		}
		select {
		case <-ctx.Done():
			return seen, ctx.Err()
		case <-time.After(100 * time.Millisecond): // polling AWS, not waiting for an event
		}
	}
}

// process is `targetsync run` in this process.
type process struct {
	cancel context.CancelFunc
	done   chan int
	mu     sync.Mutex
	code   int
	ended  bool
}

func startProcess(ctx context.Context, log io.Writer, args ...string) *process {
	ctx, cancel := context.WithCancel(ctx)
	p := &process{cancel: cancel, done: make(chan int, 1)}
	go func() { p.done <- app.Main(ctx, args, log, log, version) }()
	return p
}

func (p *process) exited() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return p.code, true
	}
	select {
	case p.code = <-p.done:
		p.ended = true
	default:
	}
	return p.code, p.ended
}

func (p *process) stop() int {
	p.cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ended {
		p.code, p.ended = <-p.done, true
	}
	return p.code
}

// logTail prints the end of targetsync run's log, for a failed step.
func (d *demo) logTail(n int) {
	b, err := os.ReadFile(d.logPath)
	if err != nil || len(b) == 0 {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	fmt.Fprintf(d.out, "last lines of targetsync run's log (%s):\n", d.logPath)
	for _, l := range lines[max(0, len(lines)-n):] {
		fmt.Fprintln(d.out, "  "+l)
	}
}

// exec runs a targetsync command to completion in this process.
func exec(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := app.Main(ctx, args, &out, &errOut, version)
	return code, out.String(), errOut.String()
}

var arnLine = regexp.MustCompile(`(?m)^target group ARN:\s+(arn:\S+)`)
var dnsLine = regexp.MustCompile(`(?m)^load balancer DNS name:\s+(\S+)`)

// relative shortens path to one relative to the working directory when it lies below it.
func relative(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if r, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}
