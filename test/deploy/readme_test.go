package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/targetsync/targetsync/pkg/config"
	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/sg"
)

// TestREADMEOverlayRenders renders the example overlay in deploy/README.md against the base, so
// the instructions people copy keep working as the base changes.
func TestREADMEOverlayRenders(t *testing.T) {
	b, err := os.ReadFile(repoPath("deploy", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "An overlay, e.g. `clusters/prod/kustomization.yaml`:")
	if i < 0 {
		t.Fatal("deploy/README.md no longer has the example overlay")
	}
	block := text[i:]
	start := strings.Index(block, "```yaml\n") + len("```yaml\n")
	end := strings.Index(block[start:], "```")
	if start < len("```yaml\n") || end < 0 {
		t.Fatal("the example overlay is not a yaml code block")
	}
	overlay := block[start : start+end]

	// Lay out clusters/prod next to a link to the real deploy/ directory, as in a user's repo.
	root := t.TempDir()
	dir := filepath.Join(root, "clusters", "prod")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(repoPath("deploy"), filepath.Join(root, "deploy")); err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile(repoPath("deploy", "manifests", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{"kustomization.yaml": []byte(overlay), "config.yaml": config} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	objs := render(t, dir)
	sa := find(t, objs, "ServiceAccount", serviceAccount)
	if got := sa.GetAnnotations()["eks.amazonaws.com/role-arn"]; got != "arn:aws:iam::111122223333:role/targetsync" {
		t.Errorf("the overlay's role ARN did not replace the placeholder: %q", got)
	}
	d := find(t, objs, "Deployment", "targetsync")
	if c := typed[appsv1.Deployment](t, d).Spec.Template.Spec.Containers; len(c) != 1 ||
		c[0].Image != "111122223333.dkr.ecr.us-east-1.amazonaws.com/targetsync:v1.2.3" {
		t.Errorf("the overlay's image did not replace the placeholder: %+v", c)
	}
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
		if o := find(t, objs, kind, "targetsync"); o.GetLabels()["release"] != "prometheus" {
			t.Errorf("the overlay did not label the %s for Prometheus: %v", kind, o.GetLabels())
		}
	}
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			t.Errorf("the example overlay renders Namespace %s; the README creates it in a step of its own", o.GetName())
		}
	}

	// Without the Prometheus Operator the README says to delete the monitoring component's line;
	// what is left must render, with nothing that needs the Operator's CRDs.
	const component = "  - ../../deploy/manifests/monitoring\n"
	if strings.Count(overlay, component) != 1 {
		t.Fatalf("the example overlay does not add the monitoring component as %q", component)
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(strings.Replace(overlay, component, "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, o := range render(t, dir) {
		if strings.HasPrefix(o.GetAPIVersion(), "monitoring.coreos.com/") {
			t.Errorf("without the monitoring component the example overlay still renders %s", key(o))
		}
	}
}

// TestREADMEInstallPathsExist checks that the files and directories deploy/README.md has people
// apply or add from deploy/manifests exist, with a kustomization where it names a directory.
func TestREADMEInstallPathsExist(t *testing.T) {
	b, err := os.ReadFile(repoPath("deploy", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	paths := regexp.MustCompile(`(?:deploy/)?manifests/[A-Za-z0-9_./-]*[A-Za-z0-9_]`).FindAllString(string(b), -1)
	if len(paths) == 0 {
		t.Fatal("deploy/README.md names nothing in deploy/manifests")
	}
	for _, p := range paths {
		full := repoPath("deploy", strings.TrimPrefix(p, "deploy/"))
		fi, err := os.Stat(full)
		switch {
		case err != nil:
			t.Errorf("deploy/README.md names %s: %v", p, err)
		case fi.IsDir():
			if _, err := os.Stat(filepath.Join(full, "kustomization.yaml")); err != nil {
				t.Errorf("deploy/README.md names the directory %s, which has no kustomization.yaml", p)
			}
		}
	}
}

// TestREADMEStatesTheDefaultsAndTagsTheCodeUses keeps the operator-facing statements in
// deploy/README.md equal to the code: the guard's flag defaults, and the adoption commands with
// the tag key the ownership check reads.
func TestREADMEStatesTheDefaultsAndTagsTheCodeUses(t *testing.T) {
	b, err := os.ReadFile(repoPath("deploy", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		"--max-deregister-fraction=" + strconv.FormatFloat(config.DefaultMaxDeregisterFraction, 'g', -1, 64),
		"--capacity-window=" + shortDuration(config.DefaultCapacityWindow),
		"unhealthyPodEvictionPolicy: AlwaysAllow",
		"aws elbv2 add-tags --resource-arns <ARN> --tags Key=" + elb.TagCluster + ",Value=<cluster>",
		"aws ec2 create-tags --resources <sg-id> --tags Key=" + sg.GroupTagCluster + ",Value=<cluster>",
		elb.TagHealthCheckPort,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("deploy/README.md does not say %q", want)
		}
	}
}

// shortDuration writes d as people do: 1m rather than Go's 1m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
