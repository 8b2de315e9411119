package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/targetsync/targetsync/internal/testenv"
)

// The tests that need a kube-apiserver share one, with the Prometheus Operator CRDs installed
// (those that need a bare cluster start their own, bareControlPlane), and those that run
// targetsync share one moto_server. Both start on first use and stop after
// the last test.
var (
	plane controlPlane
	aws   motoServer
)

func TestMain(m *testing.M) {
	// envtest logs through controller-runtime's logger; what matters is in the test output.
	ctrllog.SetLogger(logr.Discard())
	code := m.Run()
	plane.stop()
	aws.stop()
	os.Exit(code)
}

type controlPlane struct {
	once       sync.Once
	env        *envtest.Environment
	cfg        *rest.Config
	client     kubernetes.Interface
	dir        string
	kubeconfig string
	auditLog   string
	err        error
}

const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
`

// auditEvent is the part of an audit log entry the checks read.
type auditEvent struct {
	Stage            string    `json:"stage"`
	Verb             string    `json:"verb"`
	RequestReceived  time.Time `json:"requestReceivedTimestamp"`
	ImpersonatedUser *struct {
		Username string `json:"username"`
	} `json:"impersonatedUser"`
	ObjectRef *struct {
		Resource  string `json:"resource"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

func (e auditEvent) String() string {
	s := e.Verb
	if r := e.ObjectRef; r != nil {
		s += " " + r.Resource
		if r.Namespace != "" {
			s += " -n " + r.Namespace
		}
		if r.Name != "" {
			s += " " + r.Name
		}
	}
	if e.ResponseStatus != nil {
		s += fmt.Sprintf(" -> %d", e.ResponseStatus.Code)
	}
	return s
}

// requestsAs returns the requests made as the impersonated user since the given time, once
// answered.
func (p *controlPlane) requestsAs(t *testing.T, user string, since time.Time) []auditEvent {
	t.Helper()
	b, err := os.ReadFile(p.auditLog)
	if err != nil {
		t.Fatalf("read the API server's audit log: %v", err)
	}
	var out []auditEvent
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		var e auditEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			// The API server may be writing the last line right now.
			continue
		}
		// A watch is audited when its response starts, and completes only when it ends.
		done := e.Stage == "ResponseComplete" || e.Stage == "ResponseStarted" && e.Verb == "watch"
		if done && e.ImpersonatedUser != nil && e.ImpersonatedUser.Username == user &&
			!e.RequestReceived.Before(since) {
			out = append(out, e)
		}
	}
	return out
}

// controlPlaneFor returns the shared kube-apiserver, starting it on first use with the
// ServiceMonitor and PrometheusRule CRDs of the pinned Prometheus Operator release (see
// monitoringCRDs) and an audit log.
func controlPlaneFor(t *testing.T) *controlPlane {
	t.Helper()
	assets := assetsDir(t)
	crds := monitoringCRDs(t)
	plane.once.Do(func() { plane.err = plane.start(assets, crds, true) })
	if plane.err != nil {
		t.Fatalf("start kube-apiserver and etcd from %s with the CRDs %q: %v", assets, crds, plane.err)
	}
	return &plane
}

// bareControlPlane starts a kube-apiserver of the test's own, as a fresh cluster has it: no
// CRDs, nothing applied. With withMonitoringCRDs it has the Prometheus Operator's CRDs too. It
// stops when the test ends.
func bareControlPlane(t *testing.T, withMonitoringCRDs bool) *controlPlane {
	t.Helper()
	assets := assetsDir(t)
	var crds []string
	if withMonitoringCRDs {
		crds = monitoringCRDs(t)
	}
	p := &controlPlane{}
	t.Cleanup(p.stop)
	if err := p.start(assets, crds, false); err != nil {
		t.Fatalf("start kube-apiserver and etcd from %s with the CRDs %q: %v", assets, crds, err)
	}
	return p
}

// monitoringCRDs returns the ServiceMonitor and PrometheusRule CRDs of the pinned Prometheus
// Operator release, read from that release's module source, so that no copy of them lives in
// this repository.
func monitoringCRDs(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join(moduleDir(t, "github.com/prometheus-operator/prometheus-operator", prometheusOperatorVersion),
		"example", "prometheus-operator-crd")
	return []string{
		filepath.Join(dir, "monitoring.coreos.com_servicemonitors.yaml"),
		filepath.Join(dir, "monitoring.coreos.com_prometheusrules.yaml"),
	}
}

// start starts kube-apiserver and etcd with these CRDs installed and, with audit, an audit log
// of every request.
func (p *controlPlane) start(assets string, crds []string, audit bool) error {
	var err error
	if p.dir, err = os.MkdirTemp("", "targetsync-deploy-test"); err != nil {
		return err
	}
	p.env = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     crds,
		ErrorIfCRDPathMissing: true,
	}
	if audit {
		// The audit log records every request with the user it was authorized as and its
		// status: the one place to see that nothing was forbidden, whoever logged what.
		policy := filepath.Join(p.dir, "audit-policy.yaml")
		if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
			return err
		}
		p.auditLog = filepath.Join(p.dir, "audit.log")
		p.env.ControlPlane.GetAPIServer().Configure().
			Set("audit-policy-file", policy).
			Set("audit-log-path", p.auditLog)
	}
	if p.cfg, err = p.env.Start(); err != nil {
		return err
	}
	if p.client, err = kubernetes.NewForConfig(p.cfg); err != nil {
		return err
	}
	p.kubeconfig = filepath.Join(p.dir, "kubeconfig")
	return testenv.WriteKubeconfig(p.cfg, p.kubeconfig)
}

func (p *controlPlane) stop() {
	if p.env != nil && p.cfg != nil {
		_ = p.env.Stop()
	}
	if p.dir != "" {
		_ = os.RemoveAll(p.dir)
	}
}

// kubeconfigAs writes a kubeconfig that reaches the control plane as user, through
// impersonation by the admin, and returns its path.
func (p *controlPlane) kubeconfigAs(t *testing.T, user string) string {
	t.Helper()
	cfg := rest.CopyConfig(p.cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := testenv.WriteKubeconfig(cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

type motoServer struct {
	once sync.Once
	moto *testenv.Moto
	err  error
}

// motoFor returns the shared moto_server and points the AWS SDK's environment at it for the
// rest of the test.
func motoFor(t *testing.T) (*testenv.Moto, *testenv.AWS) {
	t.Helper()
	aws.once.Do(func() { aws.moto, aws.err = testenv.StartMoto() })
	if aws.err != nil {
		t.Fatal(aws.err)
	}
	testenv.SetAWSEnv(t.Setenv, aws.moto.URL)
	clients, err := testenv.NewAWS(context.Background(), aws.moto.URL)
	if err != nil {
		t.Fatal(err)
	}
	return aws.moto, clients
}

func (m *motoServer) stop() {
	if m.moto != nil {
		m.moto.Stop()
	}
}
