package deploy

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// chartDir is the Helm chart that deploy/manifests is generated from.
var chartDir = repoPath("deploy", "helm", "targetsync")

var helmRenderSetup setup

// helmRender returns the renderer hack/setup-helm-render.sh builds (reused when already built):
// `helm template` made of Helm's Go SDK, outside the project's go.mod.
func helmRender(t *testing.T) string {
	t.Helper()
	p, err := helmRenderSetup.get("setup-helm-render.sh", 30*time.Minute, func(p string) error {
		return hasExecutables(filepath.Dir(p), filepath.Base(p))
	})
	if err != nil {
		t.Fatalf("helm-render is required to render the chart: %v", err)
	}
	return p
}

// helmTemplate renders the chart as `helm template release chart -n ns args...` does and returns
// the text it prints.
func helmTemplate(t *testing.T, release, ns string, args ...string) string {
	t.Helper()
	r := helmTemplateResult(t, release, ns, args...)
	if r.err != nil {
		t.Fatalf("helm template %s %s -n %s %s:\n%s", release, chartDir, ns, strings.Join(args, " "), r)
	}
	return r.stdout
}

func helmTemplateResult(t *testing.T, release, ns string, args ...string) result {
	t.Helper()
	return run(2*time.Minute, repoRoot(), nil, helmRender(t), append([]string{release, chartDir, "-n", ns}, args...)...)
}

// renderChart renders the chart and decodes every object.
func renderChart(t *testing.T, release, ns string, args ...string) []unstructured.Unstructured {
	t.Helper()
	return decodeAll(t, helmTemplate(t, release, ns, args...))
}

// chartValues are the values files of the chart's ci/ directory, as -f arguments.
func chartValues(name string) []string {
	return []string{"-f", filepath.Join(chartDir, "ci", name)}
}
