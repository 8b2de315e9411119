package deploy

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
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

// The labels every object of the chart carries, and the two its selectors use.
var (
	chartLabels    = []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/component", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"}
	selectorLabels = []string{"app.kubernetes.io/name", "app.kubernetes.io/instance"}
)

// sidecarValues put the chart in sidecar mode, with every optional part on.
var sidecarValues = append(chartValues("all-values.yaml"), "--set", "sidecar.enabled=true", "--set", "serviceAccount.roleArn=")

func TestChartLabelsEveryObjectAndSelectsByNameAndInstance(t *testing.T) {
	for name, args := range map[string][]string{
		"defaults": chartValues("manifests-values.yaml"),
		"all":      chartValues("all-values.yaml"),
		"sidecar":  sidecarValues,
	} {
		t.Run(name, func(t *testing.T) {
			for _, o := range renderChart(t, "edge", "ingress", args...) {
				labels := o.GetLabels()
				for _, l := range chartLabels {
					if labels[l] == "" {
						t.Errorf("%s lacks the label %s: %v", key(o), l, labels)
					}
				}
				if labels["app.kubernetes.io/instance"] != "edge" || labels["app.kubernetes.io/name"] != "targetsync" {
					t.Errorf("%s is labelled name=%s instance=%s, want targetsync and the release edge", key(o),
						labels["app.kubernetes.io/name"], labels["app.kubernetes.io/instance"])
				}
				for _, path := range [][]string{
					{"spec", "selector", "matchLabels"},                       // Deployment, PDB, ServiceMonitor
					{"spec", "template", "spec", "topologySpreadConstraints"}, // checked below
				} {
					sel, ok, _ := unstructured.NestedStringMap(o.Object, path...)
					if !ok {
						continue
					}
					checkSelector(t, key(o), sel)
				}
				if o.GetKind() == "Service" && name != "sidecar" {
					sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector")
					checkSelector(t, key(o), sel)
				}
				if o.GetKind() == "Deployment" {
					d := typed[appsv1.Deployment](t, o)
					for _, c := range d.Spec.Template.Spec.TopologySpreadConstraints {
						checkSelector(t, key(o)+" topologySpreadConstraints", c.LabelSelector.MatchLabels)
					}
				}
			}
		})
	}
}

func checkSelector(t *testing.T, what string, sel map[string]string) {
	t.Helper()
	keys := slices.Sorted(maps.Keys(sel))
	if !slices.Equal(keys, []string{"app.kubernetes.io/instance", "app.kubernetes.io/name"}) {
		t.Errorf("%s selects %v, want only %v: any other label (version, chart) changes on upgrade, and a selector is immutable", what, sel, selectorLabels)
	}
}

// TestChartPodSpec checks the pod of the default and the all-options render, and GOMEMLIMIT
// for other memory limits.
func TestChartPodSpec(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"defaults", chartValues("manifests-values.yaml"), "115MiB"},
		{"all", chartValues("all-values.yaml"), "115MiB"},
		{"1Gi", append(chartValues("manifests-values.yaml"), "--set", "resources.limits.memory=1Gi"), "921MiB"},
		{"500M", append(chartValues("manifests-values.yaml"), "--set", "resources.limits.memory=500M"), "429MiB"},
		{"80 percent", append(chartValues("manifests-values.yaml"), "--set", "goMemLimitPercent=80"), "102MiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs := renderChart(t, "targetsync", namespace, c.args...)
			d := typed[appsv1.Deployment](t, find(t, objs, "Deployment", "targetsync"))
			checkPodSpec(t, d, c.want)
			if d.Spec.Template.Spec.PriorityClassName != "system-cluster-critical" {
				t.Errorf("priorityClassName = %q", d.Spec.Template.Spec.PriorityClassName)
			}
		})
	}
}

// TestChartGoMaxProcs: GOMAXPROCS is the CPU limit in whole cores, rounded down and at least 1,
// so no more threads run Go code than the quota pays for; without a CPU limit Go's default
// stays; a limit the chart cannot read is one clear error.
func TestChartGoMaxProcs(t *testing.T) {
	base := chartValues("manifests-values.yaml")
	for _, c := range []struct {
		name string
		set  []string
		want string // "": no GOMAXPROCS
	}{
		{"default 500m", nil, "1"},
		{"1500m", []string{"--set", "resources.limits.cpu=1500m"}, "1"},
		{"2", []string{"--set", "resources.limits.cpu=2"}, "2"},
		{"2.5", []string{"--set", "resources.limits.cpu=2.5"}, "2"},
		{"100m", []string{"--set", "resources.limits.cpu=100m"}, "1"},
		{"no CPU limit", []string{"--set", "resources.limits.cpu=null"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs := renderChart(t, "targetsync", namespace, append(slices.Clone(base), c.set...)...)
			d := typed[appsv1.Deployment](t, find(t, objs, "Deployment", "targetsync"))
			got, set := "", false
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				if e.Name == "GOMAXPROCS" {
					got, set = e.Value, true
				}
			}
			if got != c.want || set != (c.want != "") {
				t.Errorf("GOMAXPROCS = %q (set %v), want %q", got, set, c.want)
			}
		})
	}
	r := helmTemplateResult(t, "targetsync", namespace, append(slices.Clone(base), "--set", "resources.limits.cpu=two")...)
	if r.err == nil || !strings.Contains(r.stderr, `resources.limits.cpu "two"`) {
		t.Errorf("rendered with resources.limits.cpu=two:\n%s", r)
	}
}

func TestChartValues(t *testing.T) {
	base := chartValues("manifests-values.yaml")
	with := func(args ...string) []string { return append(slices.Clone(base), args...) }

	t.Run("clusterName is required", func(t *testing.T) {
		r := helmTemplateResult(t, "targetsync", namespace, "--set-json", `bindings=[]`)
		if r.err == nil || !strings.Contains(r.stderr, "clusterName is required") {
			t.Errorf("rendered without clusterName:\n%s", r)
		}
	})
	t.Run("no leader election needs one replica", func(t *testing.T) {
		r := helmTemplateResult(t, "targetsync", namespace, with("--set", "leaderElection.enabled=false")...)
		if r.err == nil || !strings.Contains(r.stderr, "replicas: 1") {
			t.Errorf("rendered two replicas without leader election:\n%s", r)
		}
		objs := renderChart(t, "targetsync", namespace, with("--set", "leaderElection.enabled=false", "--set", "replicas=1")...)
		d := typed[appsv1.Deployment](t, find(t, objs, "Deployment", "targetsync"))
		for _, a := range d.Spec.Template.Spec.Containers[0].Args {
			if strings.HasPrefix(a, "--leader-elect") {
				t.Errorf("without leader election the args hold %s", a)
			}
		}
		for _, o := range objs {
			if o.GetKind() == "Role" || o.GetKind() == "RoleBinding" {
				t.Errorf("without leader election the chart renders %s", key(o))
			}
		}
	})
	t.Run("IRSA and Pod Identity", func(t *testing.T) {
		sa := find(t, renderChart(t, "targetsync", namespace, base...), "ServiceAccount", serviceAccount)
		if len(sa.GetAnnotations()) != 0 {
			t.Errorf("by default (Pod Identity) the ServiceAccount carries %v", sa.GetAnnotations())
		}
		const role = "arn:aws-cn:iam::111122223333:role/targetsync"
		sa = find(t, renderChart(t, "targetsync", namespace, with("--set", "serviceAccount.roleArn="+role,
			"--set", "serviceAccount.annotations.example\\.com/team=edge")...), "ServiceAccount", serviceAccount)
		want := map[string]string{"eks.amazonaws.com/role-arn": role, "example.com/team": "edge"}
		if got := sa.GetAnnotations(); !maps.Equal(got, want) {
			t.Errorf("with serviceAccount.roleArn the annotations are %v, want %v", got, want)
		}
	})
	t.Run("image, extraArgs and the lease", func(t *testing.T) {
		objs := renderChart(t, "edge", namespace, with("--set", "image.digest=sha256:0123", "--set-json", `extraArgs=["--max-deregister-fraction=0.5"]`,
			"--set", "bootstrap.enabled=true")...)
		d := typed[appsv1.Deployment](t, find(t, objs, "Deployment", "edge-targetsync"))
		c := d.Spec.Template.Spec.Containers[0]
		if c.Image != "registry.example.com/targetsync/targetsync@sha256:0123" {
			t.Errorf("image = %s", c.Image)
		}
		for _, a := range []string{"--max-deregister-fraction=0.5", "--bootstrap", "--leader-election-id=edge-targetsync"} {
			if !slices.Contains(c.Args, a) {
				t.Errorf("args %q lack %s", c.Args, a)
			}
		}
		role := typed[rbacv1.Role](t, find(t, objs, "Role", "edge-targetsync-leader-election"))
		if !slices.Equal(role.Rules[0].ResourceNames, []string{"edge-targetsync"}) {
			t.Errorf("the Role names Lease %q, the args take edge-targetsync", role.Rules[0].ResourceNames)
		}
		find(t, objs, "ClusterRole", "edge-targetsync-bootstrap") // bootstrap.enabled brings its RBAC
	})
	t.Run("config file in the contract's format", func(t *testing.T) {
		objs := renderChart(t, "targetsync", namespace, chartValues("all-values.yaml")...)
		cm := typed[corev1.ConfigMap](t, find(t, objs, "ConfigMap", "targetsync-config"))
		var cfg map[string]any
		if err := yaml.UnmarshalStrict([]byte(cm.Data["config.yaml"]), &cfg); err != nil {
			t.Fatalf("config.yaml: %v\n%s", err, cm.Data["config.yaml"])
		}
		want := map[string]any{
			"apiVersion": "targetsync.io/v1alpha1", "kind": "Config", "clusterName": "my-cluster",
			"nodeSelector": "!node-role.kubernetes.io/control-plane", "notReady": "keep", "resyncPeriod": "60s",
			"bindings": []any{map[string]any{
				"bindingName":            "https",
				"targetGroupArn":         "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/ingress-https/0123456789abcdef",
				"service":                "ingress-nginx/ingress-nginx-controller",
				"servicePort":            "https",
				"healthCheckService":     "ingress-nginx/ingress-nginx-healthz",
				"healthCheckServicePort": "healthz",
				"healthCheckPath":        "/healthz",
			}},
		}
		if !equalJSON(cfg, want) {
			t.Errorf("config.yaml:\n%s\nwant the same as %v", cm.Data["config.yaml"], want)
		}
		d := typed[appsv1.Deployment](t, find(t, objs, "Deployment", "targetsync"))
		if d.Spec.Template.Annotations["checksum/config"] == "" {
			t.Error("no checksum/config annotation: a changed config would not roll the pods")
		}
		r := helmTemplateResult(t, "targetsync", namespace, with("--set", "config.bindings=x")...)
		if r.err == nil {
			t.Error("config.bindings was accepted; the bindings value is the one place for them")
		}
	})
	t.Run("security-group rule quota threshold", func(t *testing.T) {
		objs := renderChart(t, "targetsync", namespace, with("--set", "prometheusRule.enabled=true",
			"--set", "prometheusRule.securityGroupRuleLimit=200", "--set", "prometheusRule.securityGroupRuleThreshold=0.9")...)
		pr := find(t, objs, "PrometheusRule", "targetsync")
		groups, _, _ := unstructured.NestedSlice(pr.Object, "spec", "groups")
		var exprs []string
		for _, g := range groups {
			rules, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
			for _, r := range rules {
				if r := r.(map[string]any); r["alert"] == "TargetsyncSecurityGroupRulesNearQuota" {
					exprs = append(exprs, r["expr"].(string))
				}
			}
		}
		if len(exprs) != 1 || !strings.Contains(exprs[0], "(targetsync_security_group_rules)) > 0.9 * 200") {
			t.Errorf("TargetsyncSecurityGroupRulesNearQuota = %q, want the rules compared with 0.9 * 200", exprs)
		}
	})
	t.Run("dashboard", func(t *testing.T) {
		objs := renderChart(t, "targetsync", namespace, with("--set", "dashboard.enabled=true", "--set", "dashboard.namespace=monitoring")...)
		cm := typed[corev1.ConfigMap](t, find(t, objs, "ConfigMap", "targetsync-dashboard"))
		want, err := os.ReadFile(dashboardFile)
		if err != nil {
			t.Fatal(err)
		}
		if cm.Labels["grafana_dashboard"] != "1" || cm.Namespace != "monitoring" {
			t.Errorf("dashboard ConfigMap %s/%s labelled %v, want grafana_dashboard: \"1\" in monitoring", cm.Namespace, cm.Name, cm.Labels)
		}
		if strings.TrimSpace(cm.Data["targetsync-dashboard.json"]) != strings.TrimSpace(string(want)) {
			t.Errorf("the dashboard ConfigMap does not hold %s", dashboardFile)
		}
	})
	t.Run("optional parts are off by default", func(t *testing.T) {
		for _, o := range renderChart(t, "targetsync", namespace, base...) {
			switch {
			case strings.HasPrefix(o.GetAPIVersion(), "monitoring.coreos.com/"), o.GetName() == "targetsync-dashboard",
				strings.HasSuffix(o.GetName(), "-ingresses"), strings.HasSuffix(o.GetName(), "-bootstrap"):
				t.Errorf("the defaults render %s", key(o))
			}
		}
	})
}
