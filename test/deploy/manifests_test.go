package deploy

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/targetsync/targetsync/pkg/config"
)

// Names the manifests use, which the runbooks, the README and the RBAC depend on.
const (
	namespace      = "targetsync"
	serviceAccount = "targetsync"
	saUser         = "system:serviceaccount:" + namespace + ":" + serviceAccount
)

// render runs `kubectl kustomize dir` and decodes every object it prints.
func render(t *testing.T, dir string) []unstructured.Unstructured {
	t.Helper()
	r := run(2*time.Minute, repoRoot(), nil, kubectl(t), "kustomize", dir)
	if r.err != nil {
		t.Fatalf("kubectl kustomize %s:\n%s", dir, r)
	}
	return decodeAll(t, r.stdout)
}

func decodeAll(t *testing.T, text string) []unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(text), 4096)
	var out []unstructured.Unstructured
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("decode rendered manifests: %v", err)
		}
		if obj == nil {
			continue
		}
		out = append(out, unstructured.Unstructured{Object: obj})
	}
}

// key names an object as Kind/name, with the hash kustomize appends to generated ConfigMaps
// replaced by <hash>.
func key(o unstructured.Unstructured) string {
	name := o.GetName()
	if o.GetKind() == "ConfigMap" && strings.HasPrefix(name, "targetsync-config-") {
		name = "targetsync-config-<hash>"
	}
	return o.GetKind() + "/" + name
}

// find returns the one object with this kind and name (ConfigMaps by their generator name).
func find(t *testing.T, objs []unstructured.Unstructured, kind, name string) unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if key(o) == kind+"/"+name {
			return o
		}
	}
	t.Fatalf("rendered manifests have no %s/%s", kind, name)
	return unstructured.Unstructured{}
}

// typed converts an object into its API type.
func typed[T any](t *testing.T, o unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, out, true); err != nil {
		t.Fatalf("%s: %v", key(o), err)
	}
	return out
}

func TestManifestsRenderTheExpectedObjects(t *testing.T) {
	objs := render(t, repoPath("deploy", "manifests"))
	var got []string
	for _, o := range objs {
		got = append(got, key(o))
		if ns := o.GetNamespace(); ns != "" && ns != namespace {
			t.Errorf("%s is in namespace %q, want %q", key(o), ns, namespace)
		}
		if o.GetLabels()["app.kubernetes.io/part-of"] != "targetsync" {
			t.Errorf("%s lacks the label app.kubernetes.io/part-of=targetsync", key(o))
		}
	}
	// No Namespace (an overlay's namespace: would rename it) and nothing that needs a CRD (the
	// base must apply to a bare cluster): those are in namespace.yaml and the monitoring component.
	want := []string{
		"ClusterRole/targetsync",
		"ClusterRoleBinding/targetsync",
		"ConfigMap/targetsync-config-<hash>",
		"Deployment/targetsync",
		"PodDisruptionBudget/targetsync",
		"Role/targetsync-leader-election",
		"RoleBinding/targetsync-leader-election",
		"Service/targetsync-metrics",
		"ServiceAccount/targetsync",
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("rendered objects:\n got %q\nwant %q", got, want)
	}

	// The Namespace the README has people create first, on its own.
	var ns corev1.Namespace
	readYAML(t, repoPath("deploy", "manifests", "namespace.yaml"), &ns)
	if ns.Kind != "Namespace" || ns.Name != namespace {
		t.Errorf("deploy/manifests/namespace.yaml holds %s %q, want Namespace %q", ns.Kind, ns.Name, namespace)
	}
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("the namespace does not enforce the restricted Pod Security Standard: %v", ns.Labels)
	}

	// The monitoring component adds exactly the Prometheus Operator objects.
	mon := render(t, overlay(t, "", "monitoring"))
	got = nil
	for _, o := range mon {
		got = append(got, key(o))
		if o.GetLabels()["app.kubernetes.io/part-of"] != "targetsync" {
			t.Errorf("with monitoring, %s lacks the label app.kubernetes.io/part-of=targetsync", key(o))
		}
		if ns := o.GetNamespace(); ns != "" && ns != namespace {
			t.Errorf("with monitoring, %s is in namespace %q, want %q", key(o), ns, namespace)
		}
	}
	want = append(want, "PrometheusRule/targetsync", "ServiceMonitor/targetsync")
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("rendered objects with the monitoring component:\n got %q\nwant %q", got, want)
	}
	checkServiceMonitor(t, mon, namespace)
}

// checkServiceMonitor checks that the ServiceMonitor scrapes the metrics Service of its own
// namespace, ns, on the metrics port.
func checkServiceMonitor(t *testing.T, objs []unstructured.Unstructured, ns string) {
	t.Helper()
	sm := find(t, objs, "ServiceMonitor", "targetsync")
	svc := typed[corev1.Service](t, find(t, objs, "Service", "targetsync-metrics"))
	if sm.GetNamespace() != ns || svc.Namespace != ns {
		t.Errorf("ServiceMonitor in %q, metrics Service in %q, want both in %q", sm.GetNamespace(), svc.Namespace, ns)
	}
	// Without a namespaceSelector the Operator looks in the ServiceMonitor's own namespace; one
	// that names namespaces must name that one.
	if sel, ok, _ := unstructured.NestedMap(sm.Object, "spec", "namespaceSelector"); ok {
		names, _, _ := unstructured.NestedStringSlice(sel, "matchNames")
		if all, _, _ := unstructured.NestedBool(sel, "any"); !all && !slices.Contains(names, ns) {
			t.Errorf("the ServiceMonitor in %q selects Services in namespaces %v", ns, sel)
		}
	}
	match, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	if len(match) == 0 {
		t.Error("the ServiceMonitor selects no Service labels")
	}
	for k, v := range match {
		if svc.Labels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s, which the metrics Service does not carry (%v)", k, v, svc.Labels)
		}
	}
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(eps) != 1 {
		t.Fatalf("the ServiceMonitor has %d endpoints, want 1", len(eps))
	}
	ep, _ := eps[0].(map[string]any)
	if len(svc.Spec.Ports) != 1 || ep["port"] != svc.Spec.Ports[0].Name || ep["path"] != "/metrics" {
		t.Errorf("the ServiceMonitor scrapes port %v path %v; the Service's ports are %+v", ep["port"], ep["path"], svc.Spec.Ports)
	}
}

// TestOverlayInAnotherNamespace renders the base with both components into kube-system, as an
// overlay with `namespace: kube-system` would: no Namespace object may come out of it (the base's
// own would be renamed kube-system and labelled restricted), every object and binding must move
// there, and the ServiceMonitor must scrape the Service there.
func TestOverlayInAnotherNamespace(t *testing.T) {
	const ns = "kube-system"
	objs := render(t, overlay(t, ns, "monitoring", "optional", "bootstrap", "dashboard"))
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			t.Errorf("an overlay into %s renders Namespace %q: %v", ns, o.GetName(), o.GetLabels())
		}
		switch o.GetKind() {
		case "ClusterRole", "ClusterRoleBinding":
			if o.GetNamespace() != "" {
				t.Errorf("%s has namespace %q", key(o), o.GetNamespace())
			}
		default:
			if o.GetNamespace() != ns {
				t.Errorf("%s is in namespace %q, want %q", key(o), o.GetNamespace(), ns)
			}
		}
		if o.GetKind() == "ClusterRoleBinding" || o.GetKind() == "RoleBinding" {
			subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
			want := []any{map[string]any{"kind": "ServiceAccount", "name": serviceAccount, "namespace": ns}}
			if !equalJSON(subjects, want) {
				t.Errorf("%s binds %v, want only ServiceAccount %s/%s", key(o), subjects, ns, serviceAccount)
			}
		}
	}
	checkServiceMonitor(t, objs, ns)
}

// equalJSON compares two decoded YAML values.
func equalJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

func TestDeploymentIsHardenedAndWired(t *testing.T) {
	objs := render(t, repoPath("deploy", "manifests"))
	d := typed[appsv1.Deployment](t, find(t, objs, "Deployment", "targetsync"))
	spec := d.Spec.Template.Spec

	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas = %v, want 2 (one leader, one warm standby)", d.Spec.Replicas)
	}
	if spec.ServiceAccountName != serviceAccount {
		t.Errorf("serviceAccountName = %q, want %q", spec.ServiceAccountName, serviceAccount)
	}
	if spec.AutomountServiceAccountToken == nil || !*spec.AutomountServiceAccountToken {
		t.Error("the pod must mount its ServiceAccount token explicitly: the ServiceAccount turns automounting off")
	}
	sa := typed[corev1.ServiceAccount](t, find(t, objs, "ServiceAccount", serviceAccount))
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("the ServiceAccount must not mount its token into every pod that uses it")
	}
	if len(sa.Annotations) > 0 {
		t.Errorf("the ServiceAccount carries annotations %v by default: EKS Pod Identity needs none, IRSA sets serviceAccount.roleArn", sa.Annotations)
	}
	checkPodSpec(t, d, "115MiB")

	c := spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "run" {
		t.Fatalf("args = %q, want the run command first", c.Args)
	}
	if !slices.Contains(c.Args, "--leader-elect") {
		t.Error("two replicas without --leader-elect would both change the target group")
	}
	for _, f := range []string{"--leader-elect-lease-duration=15s", "--leader-elect-renew-deadline=10s", "--leader-elect-retry-period=2s"} {
		if !slices.Contains(c.Args, f) {
			t.Errorf("args = %q, want %s (the chart's leaderElection values)", c.Args, f)
		}
	}
	if spec.PriorityClassName != "system-cluster-critical" {
		t.Errorf("priorityClassName = %q, want system-cluster-critical: targetsync is in the traffic path", spec.PriorityClassName)
	}

	// The args and the shipped config must be accepted by targetsync's own parser, and must put
	// the endpoints on the ports the probes, the Service and the Role expect.
	cm := typed[corev1.ConfigMap](t, find(t, objs, "ConfigMap", "targetsync-config-<hash>"))
	var mounted bool
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("no volume mounts the generated ConfigMap %s", cm.Name)
	}
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(cm.Data["config.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	args := slices.Clone(c.Args[1:])
	for i, a := range args {
		if strings.HasPrefix(a, "--config=") {
			args[i] = "--config=" + file
		}
	}
	cfg, err := config.Parse("run", args)
	if err != nil {
		t.Fatalf("targetsync run %s: %v", strings.Join(c.Args[1:], " "), err)
	}
	if cfg.ClusterName == "" || cfg.ClusterName != shippedClusterName(t) {
		t.Errorf("parsed config: cluster name %q, want the shipped config's %q (it is required)", cfg.ClusterName, shippedClusterName(t))
	}
	if !cfg.LeaderElection.Enabled || cfg.MetricsBindAddress != ":8080" || cfg.HealthProbeBindAddress != ":8081" {
		t.Errorf("parsed config: leaderElect=%v metrics=%q probes=%q, want true :8080 :8081",
			cfg.LeaderElection.Enabled, cfg.MetricsBindAddress, cfg.HealthProbeBindAddress)
	}
	role := typed[rbacv1.Role](t, find(t, objs, "Role", "targetsync-leader-election"))
	for _, r := range role.Rules {
		if len(r.ResourceNames) > 0 && !slices.Equal(r.ResourceNames, []string{cfg.LeaderElection.ID}) {
			t.Errorf("the Role names Lease %q, but targetsync takes %q", r.ResourceNames, cfg.LeaderElection.ID)
		}
	}

	svc := typed[corev1.Service](t, find(t, objs, "Service", "targetsync-metrics"))
	if !svc.Spec.PublishNotReadyAddresses {
		t.Error("the metrics Service must publish not-ready addresses, so an unready leader is still scraped")
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "metrics" {
		t.Errorf("metrics Service ports = %+v, want one port to the metrics container port", svc.Spec.Ports)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the metrics Service selects %s=%s, which the pods do not carry", k, v)
		}
	}
	pdb := typed[policyv1.PodDisruptionBudget](t, find(t, objs, "PodDisruptionBudget", "targetsync"))
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.String() != "1" {
		t.Errorf("PodDisruptionBudget minAvailable = %v, want 1: a drain may take one replica, never both", pdb.Spec.MinAvailable)
	}
	if p := pdb.Spec.UnhealthyPodEvictionPolicy; p == nil || *p != policyv1.AlwaysAllow {
		t.Errorf("PodDisruptionBudget unhealthyPodEvictionPolicy = %v, want AlwaysAllow: an unready targetsync must never block node drains", p)
	}
}

// rules flattens RBAC rules into sorted "group/resource[/name]:verb" strings.
func rules(rs []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rs {
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, n := range names {
					for _, v := range r.Verbs {
						s := g + "/" + res
						if n != "" {
							s += "/" + n
						}
						out = append(out, s+":"+v)
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestRBACGrantsExactlyWhatTargetsyncUses(t *testing.T) {
	objs := render(t, repoPath("deploy", "manifests"))

	cr := typed[rbacv1.ClusterRole](t, find(t, objs, "ClusterRole", "targetsync"))
	want := []string{
		"/events:create", "/events:patch",
		"/nodes:get", "/nodes:list", "/nodes:watch",
		"/services:get", "/services:list", "/services:watch",
		"discovery.k8s.io/endpointslices:get", "discovery.k8s.io/endpointslices:list", "discovery.k8s.io/endpointslices:watch",
	}
	if got := rules(cr.Rules); !slices.Equal(got, want) {
		t.Errorf("ClusterRole targetsync grants\n %q\nwant\n %q", got, want)
	}
	role := typed[rbacv1.Role](t, find(t, objs, "Role", "targetsync-leader-election"))
	want = []string{
		"coordination.k8s.io/leases/targetsync:get",
		"coordination.k8s.io/leases/targetsync:update",
		"coordination.k8s.io/leases:create",
	}
	if got := rules(role.Rules); !slices.Equal(got, want) {
		t.Errorf("Role targetsync-leader-election grants\n %q\nwant\n %q", got, want)
	}

	crb := typed[rbacv1.ClusterRoleBinding](t, find(t, objs, "ClusterRoleBinding", "targetsync"))
	rb := typed[rbacv1.RoleBinding](t, find(t, objs, "RoleBinding", "targetsync-leader-election"))
	for name, b := range map[string]struct {
		ref      rbacv1.RoleRef
		subjects []rbacv1.Subject
	}{
		"ClusterRoleBinding/targetsync":          {crb.RoleRef, crb.Subjects},
		"RoleBinding/targetsync-leader-election": {rb.RoleRef, rb.Subjects},
	} {
		wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: serviceAccount, Namespace: namespace}}
		if !slices.Equal(b.subjects, wantSubjects) {
			t.Errorf("%s binds %+v, want only the targetsync ServiceAccount", name, b.subjects)
		}
	}
	if crb.RoleRef.Name != cr.Name || rb.RoleRef.Name != role.Name {
		t.Errorf("bindings refer to %s and %s", crb.RoleRef.Name, rb.RoleRef.Name)
	}

	// The Ingress and bootstrap permissions are opt-in: in their components, never in the base.
	for _, o := range objs {
		if strings.HasSuffix(o.GetName(), "-ingresses") || strings.HasSuffix(o.GetName(), "-bootstrap") {
			t.Errorf("the base contains %s; it belongs in deploy/manifests/optional or deploy/manifests/bootstrap", key(o))
		}
	}
	opt := render(t, overlayWithOptional(t))
	icr := typed[rbacv1.ClusterRole](t, find(t, opt, "ClusterRole", "targetsync-ingresses"))
	want = []string{
		"networking.k8s.io/ingresses:create", "networking.k8s.io/ingresses:delete", "networking.k8s.io/ingresses:get",
		"networking.k8s.io/ingresses:list", "networking.k8s.io/ingresses:update", "networking.k8s.io/ingresses:watch",
	}
	if got := rules(icr.Rules); !slices.Equal(got, want) {
		t.Errorf("ClusterRole targetsync-ingresses grants\n %q\nwant\n %q", got, want)
	}
	boot := render(t, overlay(t, "", "bootstrap"))
	bcr := typed[rbacv1.ClusterRole](t, find(t, boot, "ClusterRole", "targetsync-bootstrap"))
	want = []string{"/namespaces:create", "/namespaces:get", "/services:create"}
	if got := rules(bcr.Rules); !slices.Equal(got, want) {
		t.Errorf("ClusterRole targetsync-bootstrap grants\n %q\nwant\n %q", got, want)
	}
	for _, b := range []rbacv1.ClusterRoleBinding{
		*typed[rbacv1.ClusterRoleBinding](t, find(t, opt, "ClusterRoleBinding", "targetsync-ingresses")),
		*typed[rbacv1.ClusterRoleBinding](t, find(t, boot, "ClusterRoleBinding", "targetsync-bootstrap")),
	} {
		wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: serviceAccount, Namespace: namespace}}
		if !slices.Equal(b.Subjects, wantSubjects) || b.RoleRef.Name != b.Name {
			t.Errorf("ClusterRoleBinding %s binds %+v to %s", b.Name, b.Subjects, b.RoleRef.Name)
		}
	}
}

// overlayWithOptional writes an overlay of the base plus the optional component, as a user
// would, and returns its directory.
func overlayWithOptional(t *testing.T) string {
	t.Helper()
	return overlay(t, "", "optional")
}

// overlay writes an overlay of the base with the given components of deploy/manifests and, when
// ns is not empty, `namespace: ns`, as a user would, and returns its directory.
func overlay(t *testing.T, ns string, components ...string) string {
	t.Helper()
	dir := t.TempDir()
	rel := func(parts ...string) string {
		r, err := filepath.Rel(dir, repoPath(append([]string{"deploy", "manifests"}, parts...)...))
		if err != nil {
			t.Fatal(err)
		}
		return filepath.ToSlash(r)
	}
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
	if ns != "" {
		k += "namespace: " + ns + "\n"
	}
	k += "resources:\n  - " + rel() + "\n"
	if len(components) > 0 {
		k += "components:\n"
		for _, c := range components {
			k += "  - " + rel(c) + "\n"
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkPodSpec checks what every targetsync pod needs, wherever it is rendered: the restricted
// security context, one container with requests and limits, GOMEMLIMIT at goMemLimit (below the
// memory limit), GOMAXPROCS at the CPU limit in whole cores, the Lease's namespace from the
// downward API, the ports and the probes.
func checkPodSpec(t *testing.T, d *appsv1.Deployment, goMemLimit string) {
	t.Helper()
	checkPodSpecAs(t, d, goMemLimit, "metrics", "probes")
}

// checkPodSpecAs is checkPodSpec with the names of the metrics and probes ports.
func checkPodSpecAs(t *testing.T, d *appsv1.Deployment, goMemLimit, metricsPort, probesPort string) {
	t.Helper()
	spec := d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	// The container's settings win over the pod's: a sidecar sets its own.
	psc, sc := spec.SecurityContext, c.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if sc == nil {
		t.Fatal("container has no securityContext")
	}
	if nonRoot := cmp.Or(sc.RunAsNonRoot, psc.RunAsNonRoot); nonRoot == nil || !*nonRoot {
		t.Error("securityContext.runAsNonRoot must be true")
	}
	if seccomp := cmp.Or(sc.SeccompProfile, psc.SeccompProfile); seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("securityContext.seccompProfile must be RuntimeDefault")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation must be false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem must be true")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities = %+v, want drop [ALL] and no add", sc.Capabilities)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request", r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			t.Errorf("no %s limit", r)
		}
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if got := env["GOMEMLIMIT"]; got.Value != goMemLimit || got.ValueFrom != nil {
		t.Errorf("GOMEMLIMIT = %+v, want %s: about 90%% of the memory limit %s, so the collector works before the kill", got, goMemLimit, c.Resources.Limits.Memory())
	}
	if cpu, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		want := fmt.Sprint(max(cpu.MilliValue()/1000, 1))
		if got := env["GOMAXPROCS"]; got.Value != want || got.ValueFrom != nil {
			t.Errorf("GOMAXPROCS = %+v, want %s: the CPU limit %s in whole cores, at least 1", got, want, cpu.String())
		}
	}
	var podNamespace bool
	for _, e := range c.Env {
		if e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
			e.ValueFrom.FieldRef.FieldPath == "metadata.namespace" {
			podNamespace = true
		}
	}
	if !podNamespace {
		t.Error("POD_NAMESPACE must come from the downward API (metadata.namespace): the Lease lives there")
	}

	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports[metricsPort] != 8080 || ports[probesPort] != 8081 {
		t.Errorf("container ports = %v, want %s 8080 and %s 8081", ports, metricsPort, probesPort)
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", name)
			return
		}
		if p.HTTPGet.Path != path || p.HTTPGet.Port.String() != probesPort {
			t.Errorf("%s probe = %s on %s, want %s on %s", name, p.HTTPGet.Path, p.HTTPGet.Port.String(), path, probesPort)
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")

}
