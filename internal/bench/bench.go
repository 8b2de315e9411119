package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/targetsync/targetsync/internal/testenv"
)

// Options say what to run. Zero values take the defaults of `make bench`.
type Options struct {
	// Binary is the targetsync binary to measure.
	Binary string
	// Nodes is how many nodes the cluster has before targetsync starts (default 1,000).
	Nodes int
	// Lone is how many lone joins, and as many leaves, are timed (default 20).
	Lone int
	// Burst is how many nodes join at once in the burst (default 200).
	Burst int
	// ColdStarts is how many times targetsync starts against an empty target group (default 3).
	ColdStarts int
	// Resync is the --resync-period of the run (default 10s).
	Resync time.Duration
	// IdleResyncs is how many resyncs the idle scenario counts (default 3).
	IdleResyncs int
	// Heartbeat nodes re-post their status every HeartbeatEvery, HeartbeatRounds times
	// (defaults 200, 10s, 6).
	Heartbeat       int
	HeartbeatEvery  time.Duration
	HeartbeatRounds int
	// Workers is how many API calls the harness makes at once to create nodes (default 8).
	Workers int
	// Dir holds the control plane's files and the binary's logs (default: a new temp dir).
	Dir string
	// Args are extra flags for `targetsync run`; Env extra environment (GOMEMLIMIT=...).
	Args, Env []string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Nodes, 1000)
	def(&o.Lone, 20)
	def(&o.Burst, 200)
	def(&o.ColdStarts, 3)
	def(&o.IdleResyncs, 3)
	def(&o.Heartbeat, 200)
	def(&o.HeartbeatRounds, 6)
	def(&o.Workers, 8)
	if o.Resync <= 0 {
		o.Resync = 10 * time.Second
	}
	if o.HeartbeatEvery <= 0 {
		o.HeartbeatEvery = 10 * time.Second
	}
	o.Heartbeat = min(o.Heartbeat, o.Nodes)
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Node indexes of the scenarios, apart from the initial nodes 0..Nodes-1 (at most 20,000).
const (
	burstBase = 20000
	loneBase  = 40000
)

const (
	namespace   = "ingress-bench"
	trafficPort = 30080
	timeout     = 5 * time.Minute
)

// bench is one run's world.
type bench struct {
	o      Options
	kube   *testenv.Kube
	client kubernetes.Interface
	proxy  *testenv.Proxy
	aws    *testenv.AWS
	nlb    *testenv.NLB
	env    []string
	res    *Result
}

// Run sets up a kube-apiserver with o.Nodes nodes and the test AWS, runs the scenarios against
// o.Binary and returns what it measured.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	if o.Dir == "" {
		dir, err := os.MkdirTemp("", "targetsync-bench")
		if err != nil {
			return nil, err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		o.Dir = dir
	}
	b := &bench{o: o, res: newResult(o)}
	var err error
	if b.kube, err = testenv.StartKube(o.Dir); err != nil {
		return nil, err
	}
	defer func() { _ = b.kube.Stop() }()
	moto, err := testenv.StartMoto()
	if err != nil {
		return nil, err
	}
	defer moto.Stop()
	if b.proxy, err = testenv.StartProxy(moto.URL); err != nil {
		return nil, err
	}
	defer func() { _ = b.proxy.Close() }()
	// Every target write goes through the proxy, so it may keep moto's view of each group
	// instead of reading the group around each write, which would be counted as the write's time.
	b.proxy.KeepMotoViews()
	if b.aws, err = testenv.NewAWS(ctx, moto.URL); err != nil {
		return nil, err
	}
	if b.nlb, err = b.aws.CreateNLB(ctx, "bench", trafficPort); err != nil {
		return nil, err
	}
	b.env = os.Environ()
	testenv.SetAWSEnv(func(k, v string) { b.env = append(b.env, k+"="+v) }, b.proxy.URL)
	b.env = append(b.env, o.Env...)
	if out, err := exec.CommandContext(ctx, o.Binary, "version").Output(); err == nil {
		b.res.BinaryVersion = strings.TrimSpace(string(out))
	}
	if err := b.cluster(ctx); err != nil {
		return nil, err
	}

	p, err := b.coldStarts(ctx)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	for _, s := range []func(context.Context, *process) error{b.idle, b.heartbeat, b.lone, b.burst} {
		if err := s(ctx, p); err != nil {
			return nil, err
		}
	}
	return b.res, nil
}

// cluster creates the namespace, the ingress Service and the initial nodes.
func (b *bench) cluster(ctx context.Context) error {
	rc := rest.CopyConfig(b.kube.Config)
	rc.QPS, rc.Burst = 2000, 4000
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	var err error
	if b.client, err = kubernetes.NewForConfig(rc); err != nil {
		return err
	}
	if err := testenv.CreateNamespace(ctx, b.client, namespace); err != nil {
		return err
	}
	if _, err := b.client.CoreV1().Services(namespace).Create(ctx, testenv.IngressService(namespace, trafficPort), metav1.CreateOptions{}); err != nil {
		return err
	}
	start := time.Now()
	if _, err := createNodes(ctx, b.client, 0, b.o.Nodes, b.o.Workers); err != nil {
		return err
	}
	fmt.Fprintf(b.o.Log, "created %d nodes (%d bytes of JSON each) in %s\n", b.o.Nodes, b.res.NodeJSONBytes, time.Since(start).Round(time.Millisecond))
	return nil
}

// start runs the binary against the target group arn.
func (b *bench) start(arn, name string) (*process, error) {
	addr, err := testenv.FreeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"run",
		"--kubeconfig", b.kube.Kubeconfig,
		"--cluster-name", "bench",
		"--target-group-arn", arn,
		"--service", namespace + "/ingress-nginx-controller",
		"--service-port", "http",
		"--leader-elect", "--leader-election-namespace", namespace,
		"--metrics-bind-address", addr,
		"--health-probe-bind-address", "0",
		"--resync-period", b.o.Resync.String(),
		"--log-level", "info",
	}
	return startProcess(b.o.Binary, append(args, b.o.Args...), b.env, addr, filepath.Join(b.o.Dir, name+".log"))
}

func newResult(o Options) *Result {
	r := &Result{
		Nodes:         o.Nodes,
		NodeJSONBytes: nodeJSONBytes(min(o.Nodes, 100)),
		Date:          time.Now().UTC().Format(time.RFC3339),
		GoVersion:     runtime.Version(),
		KubeAPIServer: testenv.K8sVersion,
		CPUs:          runtime.NumCPU(),
		Resync:        o.Resync.String(),
		Env:           o.Env,
		AWSCallMillis: map[string]float64{},
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				r.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return r
}
