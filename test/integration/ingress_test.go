package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/targetsync/targetsync/internal/testenv"
)

// The ownership marker and annotations of published Ingresses, spelled out: they are an
// interface to users, so the tests pin them rather than follow the code's constants.
const (
	labelManagedBy    = "app.kubernetes.io/managed-by"
	annotationService = "targetsync.io/service"
	annotationOrigin  = "targetsync.io/origin"
	annotationPrefix  = "targetsync.io/expose-prefix"
	annotationPort    = "targetsync.io/expose-port"
)

// publishing sets up a fixture for Ingress tests: every Ingress they make is removed at the
// end, so that no prefix outlives its test.
func publishing(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	t.Cleanup(func() {
		for _, ns := range []string{f.ns, f.ns + "-other"} {
			_ = kube.Client.NetworkingV1().Ingresses(ns).DeleteCollection(f.ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		}
	})
	return f
}

// userService creates a ClusterIP Service with the given ports and annotations (key, value, ...).
func (f *fixture) userService(ns, name string, ports []int32, annotations ...string) *corev1.Service {
	f.t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{}}}
	svc.Spec.Selector = map[string]string{"app": name}
	for _, p := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: fmt.Sprintf("p%d", p), Port: p, Protocol: corev1.ProtocolTCP})
	}
	for i := 0; i+1 < len(annotations); i += 2 {
		svc.Annotations[annotations[i]] = annotations[i+1]
	}
	out, err := kube.Client.CoreV1().Services(ns).Create(f.ctx, svc, metav1.CreateOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// foreignIngress creates an Ingress targetsync did not make, routing host to a Service.
func (f *fixture) foreignIngress(ns, name, host string) *networkingv1.Ingress {
	f.t.Helper()
	pathType := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: host,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &pathType,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "someone", Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}},
		}}},
	}
	out, err := kube.Client.NetworkingV1().Ingresses(ns).Create(f.ctx, ing, metav1.CreateOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) getIngress(ns, name string) *networkingv1.Ingress {
	f.t.Helper()
	ing, err := kube.Client.NetworkingV1().Ingresses(ns).Get(f.ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return ing
}

// allIngresses is every Ingress in the cluster as namespace/name@resourceVersion, sorted: equal
// before and after means nothing was created, changed or deleted.
func (f *fixture) allIngresses() string {
	f.t.Helper()
	list, err := kube.Client.NetworkingV1().Ingresses("").List(f.ctx, metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, i := range list.Items {
		out = append(out, i.Namespace+"/"+i.Name+"@"+i.ResourceVersion)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// expose runs `targetsync expose` with this fixture's cluster, ID c1 and domain example.com.
func (f *fixture) expose(extra ...string) (int, string, string) {
	f.t.Helper()
	args := append([]string{"expose", "--kubeconfig", kube.Kubeconfig, "--cluster-name", clusterName,
		"--cluster-id", "c1", "--domain", "example.com"}, extra...)
	return testenv.Exec(f.ctx, args...)
}

// route is what an Ingress routes: class, host, path, path type and backend, in one line.
func route(ing *networkingv1.Ingress) string {
	if ing == nil {
		return "<none>"
	}
	class := "<nil>"
	if c := ing.Spec.IngressClassName; c != nil {
		class = *c
	}
	var rules []string
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			rules = append(rules, r.Host)
			continue
		}
		for _, p := range r.HTTP.Paths {
			pt := "<nil>"
			if p.PathType != nil {
				pt = string(*p.PathType)
			}
			b := "<no service>"
			if s := p.Backend.Service; s != nil {
				b = fmt.Sprintf("%s:%d", s.Name, s.Port.Number)
			}
			rules = append(rules, fmt.Sprintf("%s%s(%s)->%s", r.Host, p.Path, pt, b))
		}
	}
	return class + " " + strings.Join(rules, ",")
}

func TestExposeCreatesTheIngress(t *testing.T) {
	f := publishing(t)
	svc := "shop-" + f.ns
	f.userService(f.ns, svc, []int32{80, 443})

	code, stdout, stderr := f.expose("--namespace", f.ns, "--service", svc, "--port", "443")
	if code != 0 {
		t.Fatalf("expose exited %d: %s", code, stderr)
	}
	host := svc + ".c1.example.com"
	if want := fmt.Sprintf("created ingress %s/%s: host %s, path / -> service %s port 443, class nginx\n", f.ns, svc, host, svc); stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	ing := f.getIngress(f.ns, svc)
	if got, want := route(ing), fmt.Sprintf("nginx %s/(Prefix)->%s:443", host, svc); got != want {
		t.Errorf("ingress routes %q, want %q", got, want)
	}
	if ing.Labels[labelManagedBy] != "targetsync" || ing.Annotations[annotationService] != svc || ing.Annotations[annotationOrigin] != "expose" {
		t.Errorf("ingress labels %v, annotations %v: want the ownership marker", ing.Labels, ing.Annotations)
	}

	// Again: nothing to do. Then a new port and prefix, with another class: updated in place.
	before := f.allIngresses()
	if code, stdout, _ := f.expose("--namespace", f.ns, "--service", svc, "--port", "443"); code != 0 || !strings.HasPrefix(stdout, "unchanged ingress") {
		t.Errorf("second expose: exit %d, stdout %q; want 0 and unchanged", code, stdout)
	}
	if after := f.allIngresses(); after != before {
		t.Errorf("an unchanged expose wrote: %s -> %s", before, after)
	}
	if code, stdout, _ := f.expose("--namespace", f.ns, "--service", svc, "--port", "80", "--prefix", "www-"+f.ns, "--ingress-class", "internal", "--dry-run"); code != 0 || !strings.HasPrefix(stdout, "would update ingress") {
		t.Errorf("dry run: exit %d, stdout %q; want 0 and would update", code, stdout)
	}
	if after := f.allIngresses(); after != before {
		t.Errorf("a dry run wrote: %s -> %s", before, after)
	}
	if code, _, stderr := f.expose("--namespace", f.ns, "--service", svc, "--port", "80", "--prefix", "www-"+f.ns, "--ingress-class", "internal"); code != 0 {
		t.Fatalf("update: exit %d: %s", code, stderr)
	}
	if got, want := route(f.getIngress(f.ns, svc)), fmt.Sprintf("internal www-%s.c1.example.com/(Prefix)->%s:80", f.ns, svc); got != want {
		t.Errorf("updated ingress routes %q, want %q", got, want)
	}
}

func TestExposeRejects(t *testing.T) {
	f := publishing(t)
	other := f.ns + "-other"
	if err := testenv.CreateNamespace(f.ctx, kube.Client, other); err != nil {
		t.Fatal(err)
	}
	f.userService(f.ns, "web", []int32{80, 443})
	taken := "taken-" + f.ns
	f.foreignIngress(other, "theirs", taken+".c9.example.org")
	f.foreignIngress(f.ns, "blog", "blog.example.org")

	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "prefix used by another ingress's host",
			args: []string{"--namespace", f.ns, "--service", "web", "--port", "80", "--prefix", taken},
			want: fmt.Sprintf(`prefix %q is already used by ingress %s/theirs (host %s.c9.example.org)`, taken, other, taken),
		},
		{
			name: "port not a port of the service",
			args: []string{"--namespace", f.ns, "--service", "web", "--port", "8080", "--prefix", "p-" + f.ns},
			want: fmt.Sprintf(`port 8080 is not a port of service %s/web; its ports are 80, 443`, f.ns),
		},
		{
			name: "ingress of the name not ours",
			args: []string{"--namespace", f.ns, "--service", "web", "--port", "80", "--name", "blog", "--prefix", "b-" + f.ns},
			want: fmt.Sprintf(`ingress %s/blog exists and is not managed by targetsync: it is never modified`, f.ns),
		},
		{
			name: "service missing",
			args: []string{"--namespace", f.ns, "--service", "nope", "--port", "80", "--prefix", "n-" + f.ns},
			want: fmt.Sprintf(`service %s/nope not found`, f.ns),
		},
		{
			name: "prefix not a DNS label",
			args: []string{"--namespace", f.ns, "--service", "web", "--port", "80", "--prefix", "Web_1"},
			want: `invalid --prefix "Web_1": want a DNS label: lower-case letters, digits and '-'`,
		},
		{
			name: "name not a DNS label",
			args: []string{"--namespace", f.ns, "--service", "web", "--port", "80", "--name", "web.v2"},
			want: `invalid --name "web.v2": want a DNS label: lower-case letters, digits and '-'`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.allIngresses()
			code, stdout, stderr := f.expose(tt.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if want := "targetsync expose: " + tt.want + "\n"; stderr != want {
				t.Errorf("stderr = %q, want %q", stderr, want)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if after := f.allIngresses(); after != before {
				t.Errorf("ingresses changed: %s -> %s", before, after)
			}
		})
	}
	if got := route(f.getIngress(f.ns, "blog")); got != "<nil> blog.example.org/(Prefix)->someone:80" {
		t.Errorf("the foreign ingress now routes %q", got)
	}
}

// waitIngress waits until the Ingress namespace/name routes want ("<none>": does not exist).
func (f *fixture) waitIngress(ns, name, want string) *networkingv1.Ingress {
	f.t.Helper()
	var ing *networkingv1.Ingress
	eventually(f.t, 30*time.Second, fmt.Sprintf("ingress %s/%s routes %s", ns, name, want), func() (bool, string) {
		ing = f.getIngress(ns, name)
		got := route(ing)
		return got == want, got
	})
	return ing
}

// waitRejected waits for an ExposeRejected Warning on the Service ns/name and returns its message.
func (f *fixture) waitRejected(ns, name string) string {
	const reason = "ExposeRejected"
	f.t.Helper()
	var msg string
	eventually(f.t, 30*time.Second, fmt.Sprintf("a %s Event on service %s/%s", reason, ns, name), func() (bool, string) {
		evs, err := kube.Client.CoreV1().Events(ns).List(f.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name + ",reason=" + reason})
		if err != nil {
			return false, err.Error()
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Kind == "Service" && e.Type == corev1.EventTypeWarning {
				msg = e.Message
				return true, msg
			}
		}
		return false, fmt.Sprintf("%d events", len(evs.Items))
	})
	return msg
}

func TestIngressAnnotationPublishesFollowsAndRemoves(t *testing.T) {
	f := publishing(t)
	if _, err := kube.Client.CoreV1().Services(f.ns).Create(f.ctx, testenv.IngressService(f.ns, 30080), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	other := f.ns + "-other"
	if err := testenv.CreateNamespace(f.ctx, kube.Client, other); err != nil {
		t.Fatal(err)
	}
	taken := "taken-" + f.ns
	theirs := f.foreignIngress(other, "theirs", taken+".example.org")
	blog := f.foreignIngress(f.ns, "blog", "blog-"+f.ns+".example.org")

	f.node("worker-1", "10.0.1.11")
	f.start("--domain", "example.com", "--cluster-id", "c1")
	f.waitTargets([]string{"10.0.1.11:30080"}) // running

	// Published, on the only port.
	prefix := "app-" + f.ns
	svc := f.userService(f.ns, "app", []int32{8080}, annotationPrefix, prefix)
	ing := f.waitIngress(f.ns, "app", fmt.Sprintf("nginx %s.c1.example.com/(Prefix)->app:8080", prefix))
	if ing.Labels[labelManagedBy] != "targetsync" || ing.Annotations[annotationService] != "app" || ing.Annotations[annotationOrigin] != "annotation" {
		t.Errorf("ingress labels %v, annotations %v: want the ownership marker", ing.Labels, ing.Annotations)
	}

	// The Service's port changes: the Ingress follows.
	svc.Spec.Ports[0].Port = 9090
	svc, err := kube.Client.CoreV1().Services(f.ns).Update(f.ctx, svc, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.waitIngress(f.ns, "app", fmt.Sprintf("nginx %s.c1.example.com/(Prefix)->app:9090", prefix))

	// Conflicts: an Event with expose's words, and no Ingress.
	f.userService(f.ns, "dup", []int32{80}, annotationPrefix, taken)
	if got, want := f.waitRejected(f.ns, "dup"), fmt.Sprintf(`prefix %q is already used by ingress %s/theirs (host %s.example.org)`, taken, other, taken); got != want {
		t.Errorf("event message = %q, want %q", got, want)
	}
	f.userService(f.ns, "blog", []int32{80}, annotationPrefix, "b-"+f.ns)
	if got, want := f.waitRejected(f.ns, "blog"), fmt.Sprintf(`ingress %s/blog exists and is not managed by targetsync: it is never modified`, f.ns); got != want {
		t.Errorf("event message = %q, want %q", got, want)
	}
	f.userService(f.ns, "multi", []int32{80, 443}, annotationPrefix, "m-"+f.ns, annotationPort, "8443")
	if got, want := f.waitRejected(f.ns, "multi"), fmt.Sprintf(`port 8443 is not a port of service %s/multi; its ports are 80, 443`, f.ns); got != want {
		t.Errorf("event message = %q, want %q", got, want)
	}
	if f.getIngress(f.ns, "dup") != nil || f.getIngress(f.ns, "multi") != nil {
		t.Error("a rejected service got an ingress")
	}
	if g := f.getIngress(other, "theirs"); g.ResourceVersion != theirs.ResourceVersion {
		t.Error("the foreign ingress holding the prefix was modified")
	}
	if g := f.getIngress(f.ns, "blog"); g.ResourceVersion != blog.ResourceVersion {
		t.Error("the foreign ingress of the service's name was modified")
	}

	// The annotation goes: so does the Ingress.
	delete(svc.Annotations, annotationPrefix)
	if _, err := kube.Client.CoreV1().Services(f.ns).Update(f.ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.waitIngress(f.ns, "app", "<none>")

	// The prefix is freed: the rejected Service is published without being touched.
	if err := kube.Client.NetworkingV1().Ingresses(other).Delete(f.ctx, "theirs", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	f.waitIngress(f.ns, "dup", fmt.Sprintf("nginx %s.c1.example.com/(Prefix)->dup:80", taken))

	// The Service goes: so does its Ingress. The foreign one stays.
	if err := kube.Client.CoreV1().Services(f.ns).Delete(f.ctx, "dup", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	f.waitIngress(f.ns, "dup", "<none>")
	if g := f.getIngress(f.ns, "blog"); g == nil || g.ResourceVersion != blog.ResourceVersion {
		t.Error("the foreign ingress was modified or deleted")
	}
}

// recordingAPI is a proxy in front of the test kube-apiserver that records the path and query
// of every request through it: what the API server was asked, as it sees it.
type recordingAPI struct {
	mu       sync.Mutex
	requests []string
	srv      *httptest.Server
}

func newRecordingAPI(t *testing.T) (*recordingAPI, string) {
	t.Helper()
	target, err := url.Parse(kube.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	transport, err := rest.TransportFor(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = transport
	rp.FlushInterval = -1 // watches stream
	r := &recordingAPI{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests = append(r.requests, req.Method+" "+req.URL.RequestURI())
		r.mu.Unlock()
		rp.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := testenv.WriteKubeconfig(&rest.Config{Host: r.srv.URL}, path); err != nil {
		t.Fatal(err)
	}
	return r, path
}

// matching returns the recorded requests that contain s.
func (r *recordingAPI) matching(s string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, q := range r.requests {
		if strings.Contains(q, s) {
			out = append(out, q)
		}
	}
	return out
}

func TestIngressWatchOnlyWithDomain(t *testing.T) {
	const ingresses = "/apis/networking.k8s.io/v1/ingresses"
	for _, tt := range []struct {
		name  string
		extra []string
		want  bool
	}{
		{name: "without --domain", want: false},
		{name: "with --domain", extra: []string{"--domain", "example.com", "--cluster-id", "c1"}, want: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := publishing(t)
			if _, err := kube.Client.CoreV1().Services(f.ns).Create(f.ctx, testenv.IngressService(f.ns, 30080), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			f.node("worker-1", "10.0.1.11")
			api, kubeconfig := newRecordingAPI(t)
			_, addr := f.startMetered(append([]string{"--kubeconfig", kubeconfig}, tt.extra...)...)
			f.waitTargets([]string{"10.0.1.11:30080"})
			f.waitSettled(addr)
			if len(api.matching("/services?")) == 0 || len(api.matching("/api/v1/nodes?")) == 0 {
				t.Fatalf("the run did not go through the recording proxy: %v", api.matching(""))
			}
			if tt.want {
				eventually(t, 30*time.Second, "an ingress list and watch", func() (bool, string) {
					got := api.matching(ingresses + "?")
					return slices.ContainsFunc(got, func(q string) bool { return strings.Contains(q, "watch=true") }), fmt.Sprint(got)
				})
				return
			}
			if got := api.matching("networking.k8s.io"); len(got) != 0 {
				t.Errorf("without --domain the API server was asked about ingresses: %v", got)
			}
		})
	}
}
