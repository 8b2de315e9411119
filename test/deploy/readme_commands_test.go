package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/targetsync/targetsync/internal/testenv"
)

// shellBlock is one ```sh, ```bash or ```console block of a README.
type shellBlock struct {
	where string // file:line of the opening fence
	text  string
}

var fence = regexp.MustCompile("^\\s*```(sh|bash|console)\\s*$")

// shellBlocks extracts the shell blocks of README.md and deploy/README.md, unindented.
func shellBlocks(t *testing.T) []shellBlock {
	t.Helper()
	var blocks []shellBlock
	for _, name := range []string{"README.md", filepath.Join("deploy", "README.md")} {
		b, err := os.ReadFile(repoPath(name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i := 0; i < len(lines); i++ {
			m := fence.FindStringSubmatch(lines[i])
			if m == nil {
				continue
			}
			indent := lines[i][:strings.Index(lines[i], "```")]
			blk := shellBlock{where: fmt.Sprintf("%s:%d", name, i+1)}
			var body []string
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
				l := strings.TrimPrefix(lines[i], indent)
				if m[1] == "console" { // only the commands of a console block
					if !strings.HasPrefix(l, "$ ") {
						continue
					}
					l = strings.TrimPrefix(l, "$ ")
				}
				body = append(body, l)
			}
			blk.text = strings.Join(body, "\n") + "\n"
			blocks = append(blocks, blk)
		}
	}
	if len(blocks) == 0 {
		t.Fatal("no shell blocks found in the READMEs")
	}
	return blocks
}

// commands splits a block into its commands: comments dropped, continuation lines joined,
// here-documents kept with their command.
func commands(block string) []string {
	var out []string
	var cur strings.Builder
	heredoc := ""
	for _, l := range strings.Split(block, "\n") {
		switch {
		case heredoc != "":
			cur.WriteString("\n" + l)
			if strings.TrimSpace(l) == heredoc {
				out, heredoc = append(out, cur.String()), ""
				cur.Reset()
			}
			continue
		case cur.Len() == 0 && (strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#")):
			continue
		}
		if cur.Len() > 0 {
			cur.WriteString(" ")
		}
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSpace(strings.TrimSuffix(l, "\\")))
			continue
		}
		cur.WriteString(strings.TrimSpace(l))
		if i := strings.Index(l, "<<"); i >= 0 {
			heredoc = strings.Trim(strings.Fields(l[i+2:])[0], `'"-`)
			continue
		}
		out = append(out, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// placeholder marks a command that can only be read: <ARN>, <cluster>, <role that ...>.
var placeholder = regexp.MustCompile(`<[a-zA-Z][^<>]*>`)

func TestReadmeShellBlocksParse(t *testing.T) {
	for _, b := range shellBlocks(t) {
		cmd := exec.Command("bash", "-n")
		cmd.Stdin = strings.NewReader(placeholder.ReplaceAllString(b.text, "PLACEHOLDER"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("%s: bash -n: %v\n%s\n%s", b.where, err, stderr.String(), b.text)
		}
	}
}

// TestReadmeCommandsRun runs what can run here of every shell block: each targetsync command
// with --help appended (every flag it names must exist: pflag stops at the first unknown one),
// kubectl apply -k as kubectl kustomize, kubectl apply -f as a server-side dry run against a
// fresh kube-apiserver, and the README's first plan against that kube-apiserver and moto, with
// the example ARN replaced by a target group moto holds. The rest needs AWS, a real cluster,
// helm, eksctl or docker, and is only parsed (TestReadmeShellBlocksParse).
func TestReadmeCommandsRun(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("bash is not on PATH: the README commands are bash")
	}
	bin := filepath.Join(t.TempDir(), "targetsync")
	if out, err := exec.Command("go", "build", "-o", bin, repoPath("cmd", "targetsync")).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The directory a user runs from: the repository, with the config.yaml they wrote.
	work := t.TempDir()
	for _, d := range []string{"deploy", "hack"} {
		if err := os.Symlink(repoPath(d), filepath.Join(work, d)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(work, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(work, "bin", "targetsync")); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(repoPath("deploy", "manifests", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "config.yaml"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}

	// helm: install, upgrade --install and template of the chart in deploy/helm render it with
	// helm-render, as `helm template` would, with the values files the README shows written
	// where the user would have them.
	shim := filepath.Join(work, ".helm-shim")
	if err := os.MkdirAll(shim, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shim, "helm"), []byte(helmShim), 0o755); err != nil {
		t.Fatal(err)
	}
	for file, marker := range map[string]string{
		"targetsync-values.yaml":  "Or keep the values in a file, e.g. `targetsync-values.yaml`:",
		"targetsync-sidecar.yaml": "The ingress-nginx values that run targetsync as a sidecar",
	} {
		if err := os.WriteFile(filepath.Join(work, file), []byte(readmeYAMLBlock(t, marker)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	helmEnv := []string{"PATH=" + shim + string(os.PathListSeparator) + os.Getenv("PATH"), "HELM_RENDER=" + helmRender(t)}

	var plane *controlPlane
	cluster := func() *controlPlane {
		if plane == nil {
			plane = bareControlPlane(t, false)
		}
		return plane
	}
	run := func(t *testing.T, env []string, name string, args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	ran := map[string]int{}
	planned := false
	for _, b := range shellBlocks(t) {
		for _, c := range commands(b.text) {
			if placeholder.MatchString(c) || strings.Contains(c, "$") || strings.Contains(c, "<<") {
				continue // placeholders or shell variables: parsed only
			}
			words := strings.Fields(c)
			switch {
			case words[0] == "targetsync" || words[0] == "bin/targetsync":
				t.Run(b.where+"/"+words[1]+"-flags", func(t *testing.T) {
					out, err := run(t, nil, bin, append(words[1:], "--help")...)
					if err != nil || !strings.Contains(out, "Usage:\n  targetsync "+words[1]) {
						t.Errorf("%s --help: %v\n%s", c, err, out)
					}
				})
				ran["targetsync"]++
				if words[1] == "plan" && !planned {
					planned = true
					t.Run(b.where+"/plan", func(t *testing.T) { runReadmePlan(t, cluster(), run, bin, words[1:]) })
				}
			case words[0] == "helm":
				if !strings.Contains(c, "deploy/helm/targetsync") {
					continue // a chart from a repository (ingress-nginx): parsed only
				}
				t.Run(b.where+"/helm-"+words[1], func(t *testing.T) {
					out, err := run(t, helmEnv, "bash", "-c", c)
					if err != nil {
						t.Fatalf("%s: %v\n%s", c, err, out)
					}
					objs := decodeAll(t, out)
					cm := find(t, objs, "ConfigMap", "targetsync-config")
					if cfg, _, _ := unstructured.NestedString(cm.Object, "data", "config.yaml"); !strings.Contains(cfg, "clusterName: \"my-cluster\"") ||
						!strings.Contains(cfg, "targetGroupArn: arn:aws:elasticloadbalancing:") {
						t.Errorf("%s renders a config without the cluster name and the binding:\n%s", c, cfg)
					}
				})
				ran["helm"]++
			case len(words) >= 4 && words[0] == "kubectl" && words[1] == "apply" && words[2] == "-k":
				if _, err := os.Stat(filepath.Join(work, words[3])); err != nil {
					continue // the user's own overlay: TestREADMEOverlayRenders renders the example
				}
				t.Run(b.where+"/kustomize", func(t *testing.T) {
					if out, err := run(t, nil, kubectl(t), "kustomize", words[3]); err != nil {
						t.Errorf("kubectl kustomize %s: %v\n%s", words[3], err, out)
					}
				})
				ran["kubectl"]++
			case len(words) >= 4 && words[0] == "kubectl" && words[1] == "apply" && words[2] == "-f":
				t.Run(b.where+"/apply", func(t *testing.T) {
					out, err := run(t, nil, kubectl(t), append([]string{"--kubeconfig", cluster().kubeconfig, "--dry-run=server"}, words[1:]...)...)
					if err != nil {
						t.Errorf("%s --dry-run=server: %v\n%s", c, err, out)
					}
				})
				ran["kubectl"]++
			}
		}
	}
	if ran["targetsync"] < 3 || ran["kubectl"] < 1 || ran["helm"] < 3 || !planned {
		t.Errorf("ran %v and plan %v; want the README's targetsync and kubectl commands run", ran, planned)
	}
}

// helmShim stands in for helm in the README's commands: install, upgrade and template of a
// local chart become helm-render (the same rendering, without a cluster); the flags that only
// matter to a cluster are dropped.
const helmShim = `#!/usr/bin/env bash
set -euo pipefail
case "$1" in
  install|upgrade|template) shift ;;
  *) echo "helm (test stand-in): $1 is not supported" >&2; exit 2 ;;
esac
args=()
for a in "$@"; do
  case "$a" in
    --install|--create-namespace|--wait|--atomic) ;;
    *) args+=("$a") ;;
  esac
done
exec "$HELM_RENDER" "${args[@]}"
`

// runReadmePlan runs the README's plan command (args) against cp and moto, where the Services
// it names exist and a target group stands for the example ARN; one worker is not registered.
func runReadmePlan(t *testing.T, cp *controlPlane, run func(*testing.T, []string, string, ...string) (string, error), bin string, args []string) {
	ctx := context.Background()
	_, clients := motoFor(t)
	if err := testenv.CreateNamespace(ctx, cp.client, "ingress-nginx"); err != nil {
		t.Fatal(err)
	}
	svc := testenv.IngressService("ingress-nginx", 30180)
	hc := testenv.HealthCheckService("ingress-nginx", 30280)
	for _, s := range []*corev1.Service{svc, hc} {
		if _, err := cp.client.CoreV1().Services("ingress-nginx").Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := testenv.CreateNode(ctx, cp.client, "worker-1", "10.0.1.21"); err != nil {
		t.Fatal(err)
	}
	nlb, err := clients.CreateNLB(ctx, fmt.Sprintf("readme-%d", time.Now().UnixNano()%1e6), 30180)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range args {
		if strings.HasPrefix(a, "arn:aws:elasticloadbalancing:") {
			args[i] = nlb.TargetGroupARN
		}
	}
	env := []string{"KUBECONFIG=" + cp.kubeconfig}
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
		"AWS_EC2_METADATA_DISABLED", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		env = append(env, k+"="+os.Getenv(k))
	}
	out, err := run(t, env, bin, args...)
	var exit *exec.ExitError
	if err == nil || !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("targetsync %s: %v, want exit 2 (drift)\n%s", strings.Join(args, " "), err, out)
	}
	for _, want := range []string{"register      10.0.1.21:30180", "worker-1", "health-check  HTTP:30280/healthz", "1 to register, 0 to deregister, health check to change"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
}
