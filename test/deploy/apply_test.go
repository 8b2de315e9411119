package deploy

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// kubectlAt runs kubectl against the shared control plane.
func kubectlAt(t *testing.T, cp *controlPlane, args ...string) result {
	t.Helper()
	return run(2*time.Minute, repoRoot(), []string{"KUBECONFIG=" + cp.kubeconfig}, kubectl(t), args...)
}

// warnings returns the API server's warnings in kubectl's stderr: deprecated fields and
// PodSecurity violations of the restricted level the namespace enforces.
func warnings(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "Warning:") {
			out = append(out, l)
		}
	}
	return out
}

// applyTwice runs the README's steps for dir on the control plane: the namespace first (unless
// ns is one the cluster has), a server-side dry run, the apply, each without a Pod Security or
// deprecation warning; then it checks that every object dir renders was stored, and that a
// second apply changes none of them.
func applyTwice(t *testing.T, cp *controlPlane, dir, ns string) {
	t.Helper()
	ctx := context.Background()
	if ns == namespace {
		// A server-side dry run cannot place objects in a Namespace that only the same dry run
		// would create, so the Namespace goes first, as the README has it.
		if r := kubectlAt(t, cp, "apply", "-f", "deploy/manifests/namespace.yaml"); r.err != nil {
			t.Fatalf("kubectl apply -f deploy/manifests/namespace.yaml:\n%s", r)
		}
	} else {
		// kube-apiserver creates its system namespaces shortly after it starts.
		deadline := time.Now().Add(time.Minute)
		for {
			_, err := cp.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("namespace %s: %v", ns, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	dry := kubectlAt(t, cp, "apply", "--dry-run=server", "-k", dir)
	if dry.err != nil {
		t.Fatalf("kubectl apply --dry-run=server -k %s:\n%s", dir, dry)
	}
	if w := warnings(dry.stderr); len(w) > 0 {
		t.Errorf("the API server warns about the manifests:\n%s", strings.Join(w, "\n"))
	}
	if _, err := cp.client.AppsV1().Deployments(ns).Get(ctx, "targetsync", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after a dry run the Deployment should not exist; get said %v", err)
	}

	apply := kubectlAt(t, cp, "apply", "-k", dir)
	if apply.err != nil {
		t.Fatalf("kubectl apply -k %s:\n%s", dir, apply)
	}
	if w := warnings(apply.stderr); len(w) > 0 {
		t.Errorf("the API server warns about the manifests:\n%s", strings.Join(w, "\n"))
	}
	t.Log(strings.TrimSpace(apply.stdout))

	// Every rendered object is stored, in the namespace it was rendered for. kubectl get -k
	// fails when one is missing.
	versions := storedAsRendered(t, cp, render(t, dir), "-k", dir)
	before := versions()

	// Applying again changes nothing: no field is defaulted into a fight with the manifests.
	// kubectl reports the PodDisruptionBudget "configured" on every apply (it always patches a
	// selector with a replace strategy), so what counts is that no object's resourceVersion moves.
	if again := kubectlAt(t, cp, "apply", "-k", dir); again.err != nil {
		t.Fatalf("second kubectl apply -k %s:\n%s", dir, again)
	}
	if after := versions(); after != before {
		t.Errorf("a second apply changed stored objects:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestManifestsApplyToBareAPIServer applies the base as the README has it to a cluster without
// the Prometheus Operator's CRDs: it must need none, and create every object.
func TestManifestsApplyToBareAPIServer(t *testing.T) {
	cp := bareControlPlane(t, false)
	if _, err := cp.client.Discovery().ServerResourcesForGroupVersion("monitoring.coreos.com/v1"); !apierrors.IsNotFound(err) {
		t.Fatalf("the bare control plane serves monitoring.coreos.com/v1 (%v); it must not have the Operator's CRDs", err)
	}
	ctx := context.Background()

	applyTwice(t, cp, "deploy/manifests", namespace)

	d, err := cp.client.AppsV1().Deployments(namespace).Get(ctx, "targetsync", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 {
		t.Errorf("stored Deployment has %d replicas", *d.Spec.Replicas)
	}

	// What the ServiceAccount may and may not do, as the API server's RBAC decides it.
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"list", "nodes"}, true},
		{[]string{"watch", "nodes"}, true},
		{[]string{"get", "services", "-n", "ingress-nginx"}, true},
		{[]string{"watch", "services", "-n", "ingress-nginx"}, true},
		{[]string{"create", "events", "-n", "ingress-nginx"}, true},
		{[]string{"patch", "events", "-n", "ingress-nginx"}, true},
		{[]string{"get", "leases.coordination.k8s.io/targetsync", "-n", namespace}, true},
		{[]string{"update", "leases.coordination.k8s.io/targetsync", "-n", namespace}, true},
		{[]string{"create", "leases.coordination.k8s.io", "-n", namespace}, true},

		{[]string{"update", "nodes"}, false},
		{[]string{"delete", "services", "-n", "ingress-nginx"}, false},
		{[]string{"list", "secrets", "-n", namespace}, false},
		{[]string{"get", "configmaps", "-n", namespace}, false},
		{[]string{"list", "events", "-n", "ingress-nginx"}, false},
		{[]string{"update", "leases.coordination.k8s.io/kube-controller-manager", "-n", namespace}, false},
		{[]string{"create", "leases.coordination.k8s.io", "-n", "kube-system"}, false},
		{[]string{"create", "ingresses.networking.k8s.io", "-n", "ingress-nginx"}, false},
	} {
		r := kubectlAt(t, cp, append([]string{"auth", "can-i", "--as", saUser}, c.args...)...)
		got := strings.TrimSpace(r.stdout) == "yes"
		if got != c.want || (r.err != nil && got) {
			t.Errorf("can %s %s? got %q, want %v (%v)", saUser, strings.Join(c.args, " "), strings.TrimSpace(r.stdout), c.want, r.stderr)
		}
	}

	// The optional Ingress-publishing permissions apply on top of the base, and add only
	// Ingresses: run --domain deletes the Ingresses it made when their annotation goes.
	opt := kubectlAt(t, cp, "apply", "-k", overlayWithOptional(t))
	if opt.err != nil {
		t.Fatalf("kubectl apply of the base with deploy/manifests/optional:\n%s", opt)
	}
	for verb, want := range map[string]string{"create": "yes", "update": "yes", "delete": "yes", "patch": "no"} {
		r := kubectlAt(t, cp, "auth", "can-i", "--as", saUser, verb, "ingresses.networking.k8s.io", "-n", "ingress-nginx")
		if got := strings.TrimSpace(r.stdout); got != want {
			t.Errorf("with the optional component, can %s ingresses? got %q, want %q", verb, got, want)
		}
	}

	// The monitoring component is what needs the CRDs: here it must fail, and say why.
	mon := kubectlAt(t, cp, "apply", "--dry-run=server", "-k", overlay(t, "", "monitoring"))
	if mon.err == nil || !strings.Contains(mon.stderr, "monitoring.coreos.com") {
		t.Errorf("the monitoring component applied to a cluster without the Operator's CRDs:\n%s", mon)
	}
}

// TestMonitoringComponentApplies applies the base with the monitoring component to a cluster
// with the Prometheus Operator's CRDs (those of the pinned release).
func TestMonitoringComponentApplies(t *testing.T) {
	cp := controlPlaneFor(t)
	applyTwice(t, cp, overlay(t, "", "monitoring"), namespace)
	checkMonitoringStored(t, cp, namespace)
}

// checkMonitoringStored checks that the ServiceMonitor and the PrometheusRule were stored in ns.
func checkMonitoringStored(t *testing.T, cp *controlPlane, ns string) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cp.cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"servicemonitors", "prometheusrules"} {
		gvr := schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: r}
		if _, err := dyn.Resource(gvr).Namespace(ns).Get(context.Background(), "targetsync", metav1.GetOptions{}); err != nil {
			t.Errorf("%s/targetsync was not stored in %s: %v", r, ns, err)
		}
	}
}

// TestOverlayInKubeSystemApplies applies an overlay with `namespace: kube-system` and every
// component to a cluster of its own (its ClusterRoleBinding would re-bind the shared one's):
// it creates no Namespace, leaves kube-system's labels alone, and its ServiceAccount may take
// its Lease in kube-system.
func TestOverlayInKubeSystemApplies(t *testing.T) {
	const ns = "kube-system"
	cp := bareControlPlane(t, true)
	ctx := context.Background()
	applyTwice(t, cp, overlay(t, ns, "monitoring", "optional", "bootstrap", "dashboard"), ns)
	checkMonitoringStored(t, cp, ns)

	if _, err := cp.client.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an overlay into %s created namespace %s (or: %v)", ns, namespace, err)
	}
	kns, err := cp.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range kns.Labels {
		if strings.HasPrefix(k, "pod-security.kubernetes.io/") || strings.HasPrefix(k, "app.kubernetes.io/") {
			t.Errorf("the overlay labelled namespace %s %s=%s", ns, k, v)
		}
	}
	user := "system:serviceaccount:" + ns + ":" + serviceAccount
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"list", "nodes"}, true},
		{[]string{"update", "leases.coordination.k8s.io/targetsync", "-n", ns}, true},
		{[]string{"create", "leases.coordination.k8s.io", "-n", ns}, true},
		{[]string{"create", "ingresses.networking.k8s.io", "-n", "ingress-nginx"}, true},
		{[]string{"create", "namespaces"}, true},
		{[]string{"create", "services", "-n", "ingress-nginx"}, true},
		{[]string{"delete", "services", "-n", "ingress-nginx"}, false},
		{[]string{"update", "leases.coordination.k8s.io/kube-controller-manager", "-n", ns}, false},
		{[]string{"create", "leases.coordination.k8s.io", "-n", namespace}, false},
	} {
		r := kubectlAt(t, cp, append([]string{"auth", "can-i", "--as", user}, c.args...)...)
		got := strings.TrimSpace(r.stdout) == "yes"
		if got != c.want || (r.err != nil && got) {
			t.Errorf("can %s %s? got %q, want %v (%v)", user, strings.Join(c.args, " "), strings.TrimSpace(r.stdout), c.want, r.stderr)
		}
	}
}

// storedAsRendered checks that `kubectl get WHAT` finds exactly objs, each in the namespace it
// was rendered for, and returns what lists their resourceVersions, so that a second apply can
// be seen to change nothing.
func storedAsRendered(t *testing.T, cp *controlPlane, objs []unstructured.Unstructured, what ...string) func() string {
	t.Helper()
	versions := func() string {
		args := append(append([]string{"get"}, what...), "--no-headers",
			"-o", "custom-columns=KIND:.kind,NAMESPACE:.metadata.namespace,NAME:.metadata.name,VERSION:.metadata.resourceVersion")
		r := kubectlAt(t, cp, args...)
		if r.err != nil {
			t.Fatalf("kubectl %s:\n%s", strings.Join(args, " "), r)
		}
		return r.stdout
	}
	var stored, want []string
	for _, l := range strings.Split(strings.TrimSpace(versions()), "\n") {
		if f := strings.Fields(l); len(f) == 4 {
			stored = append(stored, f[0]+"/"+f[1]+"/"+f[2])
		}
	}
	for _, o := range objs {
		ns := o.GetNamespace()
		if ns == "" {
			ns = "<none>"
		}
		want = append(want, o.GetKind()+"/"+ns+"/"+o.GetName())
	}
	sort.Strings(stored)
	sort.Strings(want)
	if !slices.Equal(stored, want) {
		t.Errorf("stored objects:\n got %q\nwant %q", stored, want)
	}
	return versions
}
