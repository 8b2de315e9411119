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

// The tests that need a kube-apiserver share one, with the Prometheus Operator CRDs installed,
// and those that run targetsync share one moto_server. Both start on first use and stop after
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
// ServiceMonitor and PrometheusRule CRDs of the pinned Prometheus Operator release, read from
// that release's module source, so that no copy of them lives in this repository.
func controlPlaneFor(t *testing.T) *controlPlane {
	t.Helper()
	assets := assetsDir(t)
	crds := filepath.Join(moduleDir(t, "github.com/prometheus-operator/prometheus-operator", prometheusOperatorVersion),
		"example", "prometheus-operator-crd")
	plane.once.Do(func() {
		plane.dir, plane.err = os.MkdirTemp("", "targetsync-deploy-test")
		if plane.err != nil {
			return
		}
		plane.env = &envtest.Environment{
			BinaryAssetsDirectory: assets,
			CRDDirectoryPaths: []string{
				filepath.Join(crds, "monitoring.coreos.com_servicemonitors.yaml"),
				filepath.Join(crds, "monitoring.coreos.com_prometheusrules.yaml"),
			},
			ErrorIfCRDPathMissing: true,
		}
		// The audit log records every request with the user it was authorized as and its
		// status: the one place to see that nothing was forbidden, whoever logged what.
		policy := filepath.Join(plane.dir, "audit-policy.yaml")
		if plane.err = os.WriteFile(policy, []byte(auditPolicy), 0o600); plane.err != nil {
			return
		}
		plane.auditLog = filepath.Join(plane.dir, "audit.log")
		plane.env.ControlPlane.GetAPIServer().Configure().
			Set("audit-policy-file", policy).
			Set("audit-log-path", plane.auditLog)
		if plane.cfg, plane.err = plane.env.Start(); plane.err != nil {
			return
		}
		if plane.client, plane.err = kubernetes.NewForConfig(plane.cfg); plane.err != nil {
			return
		}
		plane.kubeconfig = filepath.Join(plane.dir, "kubeconfig")
		plane.err = testenv.WriteKubeconfig(plane.cfg, plane.kubeconfig)
	})
	if plane.err != nil {
		t.Fatalf("start kube-apiserver and etcd from %s with the CRDs in %s: %v", assets, crds, plane.err)
	}
	return &plane
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
