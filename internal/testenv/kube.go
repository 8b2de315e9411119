package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// K8sVersion is the version hack/setup-envtest.sh builds by default.
const K8sVersion = "1.37.2"

// Kube is a running kube-apiserver and etcd.
type Kube struct {
	env        *envtest.Environment
	Config     *rest.Config
	Client     kubernetes.Interface
	Kubeconfig string
}

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// AssetsDir finds the control-plane binaries: $KUBEBUILDER_ASSETS, else what
// hack/setup-envtest.sh left in bin/.
func AssetsDir() (string, error) {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d, nil
	}
	d := filepath.Join(RepoRoot(), "bin", "k8s", K8sVersion)
	if _, err := os.Stat(filepath.Join(d, "kube-apiserver")); err != nil {
		return "", fmt.Errorf("no kube-apiserver in %s: run hack/setup-envtest.sh (make test does) or set KUBEBUILDER_ASSETS", d)
	}
	return d, nil
}

// StartKube starts a control plane and writes a kubeconfig for it into dir.
func StartKube(dir string) (*Kube, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start kube-apiserver and etcd from %s: %w", assets, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	path := filepath.Join(dir, "kubeconfig")
	if err := WriteKubeconfig(cfg, path); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &Kube{env: env, Config: cfg, Client: client, Kubeconfig: path}, nil
}

// Stop stops the control plane.
func (k *Kube) Stop() error { return k.env.Stop() }

// RestartAPIServer stops kube-apiserver and starts it again on the same address with the same
// certificates and keys, so every client (Client, Kubeconfig) reconnects on its own as it would
// to a restarted API server in a real cluster. etcd keeps running, so every object survives.
// Stopping takes up to 20 s while clients hold watches open, as a graceful shutdown does. It
// returns once the new kube-apiserver answers its health check.
func (k *Kube) RestartAPIServer() error {
	s := k.env.ControlPlane.APIServer
	if s == nil {
		return fmt.Errorf("restart kube-apiserver: not started")
	}
	// envtest deletes a certificate directory it made itself on Stop, and a new one would get a
	// new serving CA that no client trusts: keep a copy of its files in a directory of our own.
	entries, err := os.ReadDir(s.CertDir)
	if err != nil {
		return fmt.Errorf("restart kube-apiserver: %w", err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if files[e.Name()], err = os.ReadFile(filepath.Join(s.CertDir, e.Name())); err != nil {
			return fmt.Errorf("restart kube-apiserver: %w", err)
		}
	}
	// With watches open kube-apiserver drains for longer than envtest waits (20 s); envtest
	// then kills it and says so. Either way it is gone.
	if err := s.Stop(); err != nil && !strings.Contains(err.Error(), "timeout waiting for process") {
		return fmt.Errorf("stop kube-apiserver: %w", err)
	}
	dir, err := os.MkdirTemp(filepath.Dir(k.Kubeconfig), "kube-apiserver-")
	if err != nil {
		return fmt.Errorf("restart kube-apiserver: %w", err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return fmt.Errorf("restart kube-apiserver: %w", err)
		}
	}
	s.CertDir = dir
	if err := s.Start(); err != nil {
		return fmt.Errorf("start kube-apiserver again: %w", err)
	}
	return nil
}

// WriteKubeconfig writes a kubeconfig file that reaches cfg's API server with cfg's credentials.
func WriteKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["test"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
		Token:                 cfg.BearerToken,
		Impersonate:           cfg.Impersonate.UserName,
		ImpersonateGroups:     cfg.Impersonate.Groups,
	}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test"}
	kc.CurrentContext = "test"
	return clientcmd.WriteToFile(*kc, path)
}
