package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// prometheusOperatorVersion is the release whose CRDs the manifests are applied against.
const prometheusOperatorVersion = "v0.90.1"

// repoRoot is the repository's top directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// repoPath joins parts onto the repository root.
func repoPath(parts ...string) string {
	return filepath.Join(append([]string{repoRoot()}, parts...)...)
}

// result is what a command printed and how it ended.
type result struct {
	stdout, stderr string
	err            error
}

func (r result) String() string {
	return fmt.Sprintf("error: %v\nstdout:\n%s\nstderr:\n%s", r.err, r.stdout, r.stderr)
}

// run runs a command with a deadline. env entries are added to the test process's environment.
func run(timeout time.Duration, dir string, env []string, name string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s did not finish within %s: %w", name, timeout, ctx.Err())
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// setup runs a hack/setup-*.sh script once per test binary and remembers the path it prints.
type setup struct {
	once sync.Once
	path string
	err  error
}

func (s *setup) get(script string, timeout time.Duration, check func(string) error) (string, error) {
	s.once.Do(func() {
		r := run(timeout, repoRoot(), nil, "bash", repoPath("hack", script))
		if r.err != nil {
			s.err = fmt.Errorf("hack/%s failed:\n%s", script, r)
			return
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		s.path = strings.TrimSpace(lines[len(lines)-1])
		s.err = check(s.path)
	})
	return s.path, s.err
}

var envtestSetup, promtoolSetup setup

// assetsDir returns the directory with kube-apiserver, etcd and kubectl: $KUBEBUILDER_ASSETS, or
// what hack/setup-envtest.sh builds (reused when already built).
func assetsDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		if err := hasExecutables(d, "kube-apiserver", "etcd", "kubectl"); err != nil {
			t.Fatalf("KUBEBUILDER_ASSETS=%s: %v", d, err)
		}
		return d
	}
	d, err := envtestSetup.get("setup-envtest.sh", 30*time.Minute, func(d string) error {
		return hasExecutables(d, "kube-apiserver", "etcd", "kubectl")
	})
	if err != nil {
		t.Fatalf("no control-plane binaries (set KUBEBUILDER_ASSETS or let hack/setup-envtest.sh build them): %v", err)
	}
	return d
}

// kubectl returns the kubectl built for the test control plane.
func kubectl(t *testing.T) string {
	t.Helper()
	return filepath.Join(assetsDir(t), "kubectl")
}

// promtool returns the promtool hack/setup-promtool.sh built (reused when already built).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := promtoolSetup.get("setup-promtool.sh", 30*time.Minute, func(p string) error {
		return hasExecutables(filepath.Dir(p), filepath.Base(p))
	})
	if err != nil {
		t.Fatalf("promtool is required to check the alerting rules: %v", err)
	}
	return p
}

func hasExecutables(dir string, names ...string) error {
	var errs []error
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(dir, n))
		switch {
		case err != nil:
			errs = append(errs, err)
		case fi.IsDir() || fi.Mode()&0o111 == 0:
			errs = append(errs, fmt.Errorf("%s is not an executable file", filepath.Join(dir, n)))
		}
	}
	return errors.Join(errs...)
}

// moduleDir downloads a module version through the Go module proxy (or finds it in the module
// cache) and returns its source directory. It runs outside the project's module, so go.mod and
// go.sum are never touched.
func moduleDir(t *testing.T, module, version string) string {
	t.Helper()
	r := run(10*time.Minute, t.TempDir(), []string{"GOFLAGS=-mod=mod", "GOWORK=off"},
		goBinary(t), "mod", "download", "-json", module+"@"+version)
	var info struct {
		Dir   string
		Error string
	}
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || r.err != nil {
		t.Fatalf("go mod download %s@%s: %v\n%s", module, version, err, r)
	}
	if info.Error != "" || info.Dir == "" {
		t.Fatalf("go mod download %s@%s: %s", module, version, info.Error)
	}
	return info.Dir
}

// goBinary is the go command that runs this test; go test puts its own bin directory first on
// the test's PATH.
func goBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to fetch modules and build: %v", err)
	}
	return p
}
