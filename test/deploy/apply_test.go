package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

func TestManifestsApplyToAPIServer(t *testing.T) {
	cp := controlPlaneFor(t)
	ctx := context.Background()

	// A server-side dry run cannot place objects in a Namespace that only the same dry run
	// would create, so the Namespace goes first, from the base's own file.
	ns := kubectlAt(t, cp, "apply", "-f", "deploy/manifests/namespace.yaml")
	if ns.err != nil {
		t.Fatalf("kubectl apply -f deploy/manifests/namespace.yaml:\n%s", ns)
	}

	dry := kubectlAt(t, cp, "apply", "--dry-run=server", "-k", "deploy/manifests")
	if dry.err != nil {
		t.Fatalf("kubectl apply --dry-run=server -k deploy/manifests:\n%s", dry)
	}
	if w := warnings(dry.stderr); len(w) > 0 {
		t.Errorf("the API server warns about the manifests:\n%s", strings.Join(w, "\n"))
	}
	if _, err := cp.client.AppsV1().Deployments(namespace).Get(ctx, "targetsync", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after a dry run the Deployment should not exist; get said %v", err)
	}

	apply := kubectlAt(t, cp, "apply", "-k", "deploy/manifests")
	if apply.err != nil {
		t.Fatalf("kubectl apply -k deploy/manifests:\n%s", apply)
	}
	if w := warnings(apply.stderr); len(w) > 0 {
		t.Errorf("the API server warns about the manifests:\n%s", strings.Join(w, "\n"))
	}
	t.Log(strings.TrimSpace(apply.stdout))

	d, err := cp.client.AppsV1().Deployments(namespace).Get(ctx, "targetsync", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 {
		t.Errorf("stored Deployment has %d replicas", *d.Spec.Replicas)
	}
	dyn, err := dynamic.NewForConfig(cp.cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"servicemonitors", "prometheusrules"} {
		gvr := schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: r}
		if _, err := dyn.Resource(gvr).Namespace(namespace).Get(ctx, "targetsync", metav1.GetOptions{}); err != nil {
			t.Errorf("%s/targetsync was not stored: %v", r, err)
		}
	}

	// Applying again changes nothing: no field is defaulted into a fight with the manifests.
	// kubectl reports the PodDisruptionBudget "configured" on every apply (it always patches a
	// selector with a replace strategy), so what counts is that no object's resourceVersion moves.
	versions := func() string {
		r := kubectlAt(t, cp, "get", "-k", "deploy/manifests", "--no-headers",
			"-o", "custom-columns=KIND:.kind,NAME:.metadata.name,VERSION:.metadata.resourceVersion")
		if r.err != nil {
			t.Fatalf("kubectl get -k deploy/manifests:\n%s", r)
		}
		return r.stdout
	}
	before := versions()
	if again := kubectlAt(t, cp, "apply", "-k", "deploy/manifests"); again.err != nil {
		t.Fatalf("second kubectl apply:\n%s", again)
	}
	if after := versions(); after != before {
		t.Errorf("a second apply changed stored objects:\nbefore:\n%s\nafter:\n%s", before, after)
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
}
