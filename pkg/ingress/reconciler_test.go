package ingress

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// fixture is a Reconciler over a fake clientset seeded with objects, its caches synced.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	kube   *fake.Clientset
	events *record.FakeRecorder
	r      *Reconciler
}

func newFixture(t *testing.T, dryRun bool, objects ...runtime.Object) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	f := &fixture{t: t, ctx: ctx, kube: fake.NewClientset(objects...), events: record.NewFakeRecorder(100)}
	// The fake stores objects as given: stamp a resourceVersion and a UID as the API server does.
	var rv atomic.Int64
	f.kube.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		var obj runtime.Object
		switch a := a.(type) {
		case k8stesting.CreateAction: // UpdateAction has the same methods: updates match here too
			obj = a.GetObject()
		default:
			return false, nil, nil
		}
		m, err := meta.Accessor(obj)
		if err != nil {
			return false, nil, nil
		}
		if a.GetVerb() == "create" {
			m.SetUID(types.UID(fmt.Sprintf("uid-%d", rv.Add(1))))
		}
		m.SetResourceVersion(strconv.FormatInt(rv.Add(1), 10))
		return false, nil, nil
	})
	var err error
	f.r, err = New(f.kube, Options{Site: site, DryRun: dryRun, Recorder: f.events, SeenTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.r.Start(ctx)
	t.Cleanup(f.r.Shutdown)
	if !cache.WaitForCacheSync(ctx.Done(), f.r.synced...) {
		t.Fatal("caches did not sync")
	}
	f.kube.ClearActions()
	return f
}

// writes are the create, update and delete calls made since the fixture was built.
func (f *fixture) writes() []string {
	var out []string
	for _, a := range f.kube.Actions() {
		if v := a.GetVerb(); v == "create" || v == "update" || v == "delete" {
			out = append(out, v+" "+a.GetResource().Resource)
		}
	}
	return out
}

func (f *fixture) event() string {
	select {
	case e := <-f.events.Events:
		return e
	default:
		return ""
	}
}

func (f *fixture) ingress(ns, name string) *networkingv1.Ingress {
	ing, err := f.kube.NetworkingV1().Ingresses(ns).Get(f.ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return ing
}

func TestSyncCreatesAndRecords(t *testing.T) {
	svc := annotated(service("team-a", "web", 80), AnnotationPrefix, "shop")
	f := newFixture(t, false, svc)
	if err := f.r.sync(f.ctx, types.NamespacedName{Namespace: "team-a", Name: "web"}); err != nil {
		t.Fatal(err)
	}
	ing := f.ingress("team-a", "web")
	if ing == nil || ing.Spec.Rules[0].Host != "shop.c1.example.com" {
		t.Fatalf("ingress = %+v, want host shop.c1.example.com", ing)
	}
	if got, want := f.event(), "Normal IngressCreated Created ingress team-a/web for host shop.c1.example.com"; got != want {
		t.Errorf("event = %q, want %q", got, want)
	}
	// The cache has seen the write: a second sync plans nothing and writes nothing.
	f.kube.ClearActions()
	if err := f.r.sync(f.ctx, types.NamespacedName{Namespace: "team-a", Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("second sync wrote %v, want nothing", w)
	}
}

func TestSyncRejectedChangesNothing(t *testing.T) {
	svc := annotated(service("team-a", "web", 80), AnnotationPrefix, "shop")
	other := foreign("team-b", "shop", "shop.example.org")
	f := newFixture(t, false, svc, other)
	key := types.NamespacedName{Namespace: "team-a", Name: "web"}
	if err := f.r.sync(f.ctx, key); err != nil {
		t.Fatal(err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("rejected sync wrote %v", w)
	}
	if got, want := f.event(), `Warning ExposeRejected prefix "shop" is already used by ingress team-b/shop (host shop.example.org)`; got != want {
		t.Errorf("event = %q, want %q", got, want)
	}
	f.r.mu.Lock()
	_, rejected := f.r.rejected[key]
	f.r.mu.Unlock()
	if !rejected {
		t.Error("service not remembered as rejected")
	}
}

func TestSyncDryRunWritesNothing(t *testing.T) {
	stale := ours(Request{Service: types.NamespacedName{Namespace: "team-a", Name: "gone"}, Name: "gone", Prefix: "gone", Port: 80, Origin: OriginAnnotation})
	f := newFixture(t, true, annotated(service("team-a", "web", 80), AnnotationPrefix, "shop"), stale)
	for _, name := range []string{"web", "gone"} {
		if err := f.r.sync(f.ctx, types.NamespacedName{Namespace: "team-a", Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("dry run wrote %v", w)
	}
}

// TestRunFollowsTheAnnotation drives the whole loop: handlers, queue, worker.
func TestRunFollowsTheAnnotation(t *testing.T) {
	unrelated := foreign("team-b", "blog", "blog.example.org")
	exposed := ours(Request{Service: types.NamespacedName{Namespace: "team-b", Name: "cli"}, Name: "cli", Prefix: "cli", Port: 80, Origin: OriginExpose})
	f := newFixture(t, false, unrelated, exposed)
	ctx, stop := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { f.r.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	services := f.kube.CoreV1().Services("team-a")
	svc, err := services.Create(f.ctx, annotated(service("team-a", "web", 80), AnnotationPrefix, "shop"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.waitFor("the ingress on port 80", func(ing *networkingv1.Ingress) bool { return ing != nil && backendPort(ing) == 80 })

	svc.Spec.Ports[0].Port = 8080
	if svc, err = services.Update(f.ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.waitFor("the ingress on port 8080", func(ing *networkingv1.Ingress) bool { return ing != nil && backendPort(ing) == 8080 })

	delete(svc.Annotations, AnnotationPrefix)
	if _, err = services.Update(f.ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.waitFor("the ingress deleted", func(ing *networkingv1.Ingress) bool { return ing == nil })

	// Only the annotated Service's Ingress was ever written.
	for _, a := range f.kube.Actions() {
		if v := a.GetVerb(); (v == "create" || v == "update" || v == "delete") && a.GetNamespace() != "team-a" {
			t.Errorf("wrote %s in %s", v, a.GetNamespace())
		}
	}
	if f.ingress("team-b", "blog") == nil || f.ingress("team-b", "cli") == nil {
		t.Error("an ingress that is not the annotation's was deleted")
	}
}

func (f *fixture) waitFor(what string, cond func(*networkingv1.Ingress) bool) {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(f.ingress("team-a", "web")) {
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: not reached; ingress is %+v", what, f.ingress("team-a", "web"))
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

func backendPort(ing *networkingv1.Ingress) int32 {
	return ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Number
}

func TestHandlersEnqueueWhatMatters(t *testing.T) {
	f := newFixture(t, false)
	plain := service("ns", "plain", 80)
	asked := annotated(service("ns", "asked", 80), AnnotationPrefix, "a")
	asked.ResourceVersion = "1"
	askedAgain := asked.DeepCopy()
	ourIng := ours(Request{Service: types.NamespacedName{Namespace: "ns", Name: "owner"}, Name: "x", Prefix: "x", Port: 80, Origin: OriginExpose})
	f.r.setRejected(types.NamespacedName{Namespace: "ns", Name: "rejected"}, true)
	statusOnly := ourIng.DeepCopy()
	statusOnly.ResourceVersion = "8"

	tests := []struct {
		name string
		fire func()
		want []string
	}{
		{"service without annotation", func() { f.r.onService(nil, plain) }, nil},
		{"annotated service", func() { f.r.onService(nil, asked) }, []string{"ns/asked"}},
		{"resync of a service", func() { f.r.onService(asked, askedAgain) }, nil},
		{"annotation removed", func() { f.r.onService(asked, plain) }, []string{"ns/asked"}},
		{"deleted, tombstone", func() { f.r.onService(cache.DeletedFinalStateUnknown{Obj: asked}, nil) }, []string{"ns/asked"}},
		{"foreign ingress added", func() { f.r.onIngress(nil, foreign("ns", "f", "a.b")) }, []string{"ns/rejected"}},
		{"our ingress deleted", func() { f.r.onIngress(ourIng, nil) }, []string{"ns/owner", "ns/rejected"}},
		{"our ingress, hosts unchanged", func() { f.r.onIngress(ourIng, statusOnly) }, []string{"ns/owner"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fire()
			var got []string
			for f.r.queue.Len() > 0 {
				k, _ := f.r.queue.Get()
				got = append(got, k.String())
				f.r.queue.Done(k)
				f.r.queue.Forget(k)
			}
			slices.Sort(got)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("enqueued %v, want %v", got, tt.want)
			}
		})
	}
}
