package deploy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// restrictedNamespace creates ns with the restricted Pod Security Standard enforced, as
// deploy/manifests/namespace.yaml does for targetsync.
func restrictedNamespace(t *testing.T, cp *controlPlane, ns string) {
	t.Helper()
	_, err := cp.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns,
		Labels: map[string]string{
			"pod-security.kubernetes.io/enforce":         "restricted",
			"pod-security.kubernetes.io/enforce-version": "latest",
		},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// serverSideApply applies the chart's rendering as helm would, with server-side apply: a dry
// run, the apply, each without warnings; every object must be stored, and a second apply must
// change none of them.
func serverSideApply(t *testing.T, cp *controlPlane, rendered string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(file, []byte(rendered), 0o600); err != nil {
		t.Fatal(err)
	}
	apply := []string{"apply", "--server-side", "--field-manager=helm", "-f", file}
	for _, args := range [][]string{append(slices.Clone(apply), "--dry-run=server"), apply} {
		r := kubectlAt(t, cp, args...)
		if r.err != nil {
			t.Fatalf("kubectl %s:\n%s\nrendered:\n%s", strings.Join(args, " "), r, rendered)
		}
		if w := warnings(r.stderr); len(w) > 0 {
			t.Errorf("the API server warns about the chart's objects:\n%s", strings.Join(w, "\n"))
		}
	}
	versions := storedAsRendered(t, cp, decodeAll(t, rendered), "-f", file)
	before := versions()
	if r := kubectlAt(t, cp, apply...); r.err != nil {
		t.Fatalf("second kubectl %s:\n%s", strings.Join(apply, " "), r)
	}
	if after := versions(); after != before {
		t.Errorf("a second apply changed stored objects:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// canI checks what user may do, as the API server's RBAC decides it.
func canI(t *testing.T, cp *controlPlane, user string, checks map[string]bool) {
	t.Helper()
	for check, want := range checks {
		r := kubectlAt(t, cp, append([]string{"auth", "can-i", "--as", user}, strings.Fields(check)...)...)
		got := strings.TrimSpace(r.stdout) == "yes"
		if got != want || (r.err != nil && got) {
			t.Errorf("can %s %s? got %q, want %v (%v)", user, check, strings.TrimSpace(r.stdout), want, r.stderr)
		}
	}
}

// TestChartAppliesServerSide applies the chart with its defaults, with every optional part on,
// in sidecar mode, and as two releases in one namespace, to a kube-apiserver with the Prometheus
// Operator's CRDs, in namespaces that enforce the restricted Pod Security Standard.
func TestChartAppliesServerSide(t *testing.T) {
	cp := controlPlaneFor(t)

	t.Run("defaults", func(t *testing.T) {
		const ns = "chart-defaults"
		restrictedNamespace(t, cp, ns)
		serverSideApply(t, cp, helmTemplate(t, "ts-defaults", ns, chartValues("manifests-values.yaml")...))
		canI(t, cp, "system:serviceaccount:"+ns+":ts-defaults-targetsync", map[string]bool{
			"list nodes": true,
			"update leases.coordination.k8s.io/ts-defaults-targetsync -n " + ns: true,
			"create ingresses.networking.k8s.io -n default":                     false,
			"create namespaces": false,
		})
	})

	t.Run("every optional part", func(t *testing.T) {
		const ns = "chart-all"
		restrictedNamespace(t, cp, ns)
		serverSideApply(t, cp, helmTemplate(t, "ts-all", ns, chartValues("all-values.yaml")...))
		canI(t, cp, "system:serviceaccount:"+ns+":ts-all-targetsync", map[string]bool{
			"create ingresses.networking.k8s.io -n default": true,
			"delete ingresses.networking.k8s.io -n default": true,
			"create namespaces":                             true,
			"create services -n ingress-nginx":              true,
			"delete services -n ingress-nginx":              false,
		})
	})

	t.Run("two releases in one namespace", func(t *testing.T) {
		const ns = "chart-two"
		restrictedNamespace(t, cp, ns)
		for _, release := range []string{"edge", "core"} {
			serverSideApply(t, cp, helmTemplate(t, release, ns, chartValues("all-values.yaml")...))
		}
		ctx := context.Background()
		ds, err := cp.client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds.Items) != 2 {
			t.Fatalf("%d Deployments in %s, want one per release", len(ds.Items), ns)
		}
		for _, d := range ds.Items {
			sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
			if err != nil {
				t.Fatal(err)
			}
			for _, other := range ds.Items {
				if other.Name != d.Name && sel.Matches(labels.Set(other.Spec.Template.Labels)) {
					t.Errorf("Deployment %s selects the pods of %s", d.Name, other.Name)
				}
			}
		}
		// Each release takes a Lease of its own, and may not take the other's.
		canI(t, cp, "system:serviceaccount:"+ns+":edge-targetsync", map[string]bool{
			"update leases.coordination.k8s.io/edge-targetsync -n " + ns: true,
			"update leases.coordination.k8s.io/core-targetsync -n " + ns: false,
		})
	})

	t.Run("sidecar", func(t *testing.T) {
		const ns = "chart-sidecar"
		restrictedNamespace(t, cp, ns)
		rendered := helmTemplate(t, "targetsync", ns, sidecarValues...)
		var kinds []string
		for _, o := range decodeAll(t, rendered) {
			kinds = append(kinds, key(o))
		}
		sort.Strings(kinds)
		want := []string{
			"ClusterRole/targetsync", "ClusterRole/targetsync-bootstrap", "ClusterRole/targetsync-ingresses",
			"ClusterRoleBinding/targetsync", "ClusterRoleBinding/targetsync-bootstrap", "ClusterRoleBinding/targetsync-ingresses",
			"ConfigMap/targetsync-config", "ConfigMap/targetsync-dashboard", "PrometheusRule/targetsync",
			"Role/targetsync-leader-election", "RoleBinding/targetsync-leader-election",
			"Service/targetsync-metrics", "ServiceMonitor/targetsync",
		}
		if !slices.Equal(kinds, want) {
			t.Errorf("sidecar mode renders\n %q\nwant\n %q", kinds, want)
		}
		// The ClusterRoles of the release targetsync exist already from the base's tests on this
		// cluster, bound to another ServiceAccount: apply everything but the cluster-wide
		// objects here, and check those in the rendering.
		var namespaced []string
		for _, d := range strings.Split(rendered, "\n---\n") {
			if !strings.Contains(d, "\nkind: ClusterRole") {
				namespaced = append(namespaced, d)
			}
		}
		serverSideApply(t, cp, strings.Join(namespaced, "\n---\n"))
		user := "system:serviceaccount:" + ns + ":ingress-nginx"
		canI(t, cp, user, map[string]bool{
			"update leases.coordination.k8s.io/targetsync -n " + ns: true,
			"create leases.coordination.k8s.io -n " + ns:            true,
		})
		for _, o := range decodeAll(t, rendered) {
			if o.GetKind() != "ClusterRoleBinding" && o.GetKind() != "RoleBinding" {
				continue
			}
			subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
			want := []any{map[string]any{"kind": "ServiceAccount", "name": "ingress-nginx", "namespace": ns}}
			if !equalJSON(subjects, want) {
				t.Errorf("%s binds %v, want the ingress-nginx ServiceAccount", key(o), subjects)
			}
		}
		svc := typed[corev1.Service](t, find(t, decodeAll(t, rendered), "Service", "targetsync-metrics"))
		if svc.Spec.Selector["app.kubernetes.io/name"] != "ingress-nginx" || svc.Spec.Ports[0].TargetPort.String() != "ts-metrics" {
			t.Errorf("in sidecar mode the metrics Service selects %v port %s, want the ingress-nginx controller pods' ts-metrics",
				svc.Spec.Selector, svc.Spec.Ports[0].TargetPort.String())
		}
		checkSidecarSnippet(t, cp, ns, rendered)
	})
}

// checkSidecarSnippet checks the ingress-nginx values of deploy/README.md's sidecar section
// against the chart's sidecar rendering: the container mounts the chart's ConfigMap, takes the
// Lease the Role names, exposes the port the metrics Service targets, and a pod of the
// ingress-nginx ServiceAccount with that container and volume is admitted (server-side dry
// run) in a namespace that enforces the restricted Pod Security Standard.
func checkSidecarSnippet(t *testing.T, cp *controlPlane, ns, rendered string) {
	t.Helper()
	var values struct {
		Controller struct {
			PodSecurityContext *corev1.PodSecurityContext `json:"podSecurityContext"`
			ExtraContainers    []corev1.Container         `json:"extraContainers"`
			ExtraVolumes       []corev1.Volume            `json:"extraVolumes"`
		} `json:"controller"`
	}
	snippet := readmeYAMLBlock(t, "The ingress-nginx values that run targetsync as a sidecar")
	if err := yamlStrict(snippet, &values); err != nil {
		t.Fatalf("the sidecar values in deploy/README.md: %v\n%s", err, snippet)
	}
	if len(values.Controller.ExtraContainers) != 1 || len(values.Controller.ExtraVolumes) != 1 {
		t.Fatalf("the sidecar values hold %d containers and %d volumes, want one of each", len(values.Controller.ExtraContainers), len(values.Controller.ExtraVolumes))
	}
	c, v := values.Controller.ExtraContainers[0], values.Controller.ExtraVolumes[0]
	// The projected token of IRSA or Pod Identity is readable by the pod's fsGroup; the
	// controller runs as another user than targetsync.
	if psc := values.Controller.PodSecurityContext; psc == nil || psc.FSGroup == nil || c.SecurityContext == nil ||
		c.SecurityContext.RunAsGroup == nil || *psc.FSGroup != *c.SecurityContext.RunAsGroup {
		t.Errorf("the sidecar values must set controller.podSecurityContext.fsGroup to the sidecar's group, so it can read its AWS token")
	}
	objs := decodeAll(t, rendered)
	cm := find(t, objs, "ConfigMap", "targetsync-config")
	if v.ConfigMap == nil || v.ConfigMap.Name != cm.GetName() {
		t.Errorf("the sidecar volume %+v does not mount the chart's ConfigMap %s", v, cm.GetName())
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		mounted = mounted || (m.Name == v.Name && m.MountPath == "/etc/targetsync")
	}
	if !mounted || !slices.Contains(c.Args, "--config=/etc/targetsync/config.yaml") {
		t.Errorf("the sidecar does not read the mounted config: args %q, mounts %+v", c.Args, c.VolumeMounts)
	}
	for _, a := range []string{"--leader-elect", "--leader-election-id=targetsync"} {
		if !slices.Contains(c.Args, a) {
			t.Errorf("the sidecar's args %q lack %s (the Lease the chart's Role names)", c.Args, a)
		}
	}
	// The pod as ingress-nginx would run it, with the same checks as the Deployment's.
	pod := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "ingress-nginx-controller", Namespace: ns},
		Spec: corev1.PodSpec{
			ServiceAccountName: "ingress-nginx",
			SecurityContext:    values.Controller.PodSecurityContext,
			Containers:         []corev1.Container{c},
			Volumes:            []corev1.Volume{v},
		},
	}
	d := appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: pod.Spec}}}
	checkPodSpecAs(t, &d, "115MiB", "ts-metrics", "ts-probes")
	if _, err := cp.client.CoreV1().Pods(ns).Create(context.Background(), &pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("a pod with the README's sidecar is not admitted in a restricted namespace: %v", err)
	}
}

// readmeYAMLBlock returns the first yaml code block after marker in deploy/README.md.
func readmeYAMLBlock(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile(repoPath("deploy", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("deploy/README.md no longer says %q", marker)
	}
	block := text[i:]
	start := strings.Index(block, "```yaml\n")
	if start < 0 {
		t.Fatalf("no yaml block after %q in deploy/README.md", marker)
	}
	block = block[start+len("```yaml\n"):]
	end := strings.Index(block, "```")
	if end < 0 {
		t.Fatalf("the yaml block after %q in deploy/README.md does not end", marker)
	}
	return block[:end]
}

// yamlStrict decodes YAML into v, refusing fields v does not have.
func yamlStrict(text string, v any) error {
	return yaml.UnmarshalStrict([]byte(text), v)
}
