package ingress

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

// Options configure a Reconciler.
type Options struct {
	Site Site
	// DryRun logs each change and makes none.
	DryRun   bool
	Logger   *zap.Logger
	Recorder record.EventRecorder
	// SeenTimeout bounds the wait, after each write, for the cache to show it; 10s when zero.
	SeenTimeout time.Duration
}

// Reconciler keeps, for every Service that carries AnnotationPrefix, the Ingress that
// publishes it, and removes the Ingresses it made once their Service stops asking. It is
// level-triggered: informer handlers only enqueue the Service's namespace/name, and one worker
// decides each key from the caches (Plan) and makes at most one write.
type Reconciler struct {
	kube      kubernetes.Interface
	opts      Options
	log       *zap.Logger
	factory   informers.SharedInformerFactory
	services  corelisters.ServiceLister
	ingresses networkinglisters.IngressLister
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[types.NamespacedName]
	stop      context.CancelFunc

	mu sync.Mutex
	// rejected holds the Services whose request was rejected: a change to any Ingress may be
	// what frees their prefix, so each such change looks at them again.
	rejected map[types.NamespacedName]struct{}
}

// New sets up the informers on Services and Ingresses in every namespace; nothing is watched
// until Start.
func New(kube kubernetes.Interface, opts Options) (*Reconciler, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Recorder == nil {
		opts.Recorder = &record.FakeRecorder{}
	}
	if opts.SeenTimeout == 0 {
		opts.SeenTimeout = 10 * time.Second
	}
	f := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithTransform(stripManagedFields))
	svcs, ings := f.Core().V1().Services(), f.Networking().V1().Ingresses()
	r := &Reconciler{
		kube:      kube,
		opts:      opts,
		log:       opts.Logger,
		factory:   f,
		services:  svcs.Lister(),
		ingresses: ings.Lister(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName](),
			workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "ingresses"}),
		rejected: map[types.NamespacedName]struct{}{},
	}
	sh, err := svcs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.onService(nil, obj) },
		UpdateFunc: r.onService,
		DeleteFunc: func(obj any) { r.onService(obj, nil) },
	})
	if err != nil {
		return nil, fmt.Errorf("watch services: %w", err)
	}
	ih, err := ings.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.onIngress(nil, obj) },
		UpdateFunc: r.onIngress,
		DeleteFunc: func(obj any) { r.onIngress(obj, nil) },
	})
	if err != nil {
		return nil, fmt.Errorf("watch ingresses: %w", err)
	}
	r.synced = []cache.InformerSynced{sh.HasSynced, ih.HasSynced}
	return r, nil
}

// Start starts watching until ctx ends or Shutdown is called; it returns at once. Every replica
// may watch; only the one that calls Run writes.
func (r *Reconciler) Start(ctx context.Context) {
	ctx, r.stop = context.WithCancel(ctx)
	r.factory.Start(ctx.Done())
}

// Shutdown stops the informers and the queue and waits for the informers' goroutines.
func (r *Reconciler) Shutdown() {
	if r.stop != nil {
		r.stop()
	}
	r.queue.ShutDown()
	r.factory.Shutdown()
}

// Run waits for the caches and then works the queue with one worker until ctx ends. One worker
// is what keeps prefixes unique among the Ingresses it writes: each check sees every earlier
// write.
func (r *Reconciler) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), r.synced...) {
		return
	}
	r.log.Info("publishing annotated services as ingresses", zap.String("domain", r.opts.Site.Domain),
		zap.String("clusterID", r.opts.Site.ClusterID), zap.String("ingressClass", r.opts.Site.Class), zap.Bool("dryRun", r.opts.DryRun))
	go func() {
		<-ctx.Done()
		r.queue.ShutDown()
	}()
	for r.processNextWorkItem(ctx) {
	}
}

func (r *Reconciler) processNextWorkItem(ctx context.Context) bool {
	key, quit := r.queue.Get()
	if quit {
		return false
	}
	defer r.queue.Done(key)
	if err := r.sync(ctx, key); err != nil {
		if ctx.Err() == nil {
			r.log.Error("ingress sync failed; retrying", zap.String("service", key.String()), zap.Error(err))
			r.queue.AddRateLimited(key)
		}
		return true
	}
	r.queue.Forget(key)
	return true
}

// sync makes the cluster publish, or stop publishing, the Service key as Plan decides.
// A rejection is final until something changes: it is recorded, not retried.
func (r *Reconciler) sync(ctx context.Context, key types.NamespacedName) error {
	svc, err := r.services.Services(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		svc, err = nil, nil
	}
	if err != nil {
		return err
	}
	all, err := r.ingresses.List(labels.Everything())
	if err != nil {
		return err
	}
	change, err := Plan(key, svc, r.opts.Site, all)
	var rej *Rejection
	if errors.As(err, &rej) {
		r.setRejected(key, true)
		r.log.Warn("service not published; nothing changed", zap.String("service", key.String()), zap.String("reason", rej.Msg))
		if svc != nil {
			r.opts.Recorder.Event(svc, corev1.EventTypeWarning, ReasonRejected, rej.Msg)
		}
		return nil
	}
	if err != nil {
		return err
	}
	r.setRejected(key, false)
	return r.apply(ctx, svc, change)
}

// apply makes one change and waits until the cache shows it.
func (r *Reconciler) apply(ctx context.Context, svc *corev1.Service, c Change) error {
	if c.Action == None {
		return nil
	}
	ing := c.Ingress
	ref := ing.Namespace + "/" + ing.Name
	log := r.log.With(zap.String("ingress", ref), zap.String("host", host(ing)), zap.Bool("dryRun", r.opts.DryRun))
	if r.opts.DryRun {
		log.Info("would " + string(c.Action) + " ingress")
		return nil
	}
	api := r.kube.NetworkingV1().Ingresses(ing.Namespace)
	var err error
	switch c.Action {
	case Create:
		var out *networkingv1.Ingress
		if out, err = api.Create(ctx, ing, metav1.CreateOptions{}); err == nil {
			r.waitSeen(ctx, ing.Namespace, ing.Name, func(cur *networkingv1.Ingress) bool { return cur != nil && cur.UID == out.UID })
			r.opts.Recorder.Eventf(svc, corev1.EventTypeNormal, ReasonCreated, "Created ingress %s for host %s", ref, host(ing))
		}
	case Update:
		if _, err = api.Update(ctx, ing, metav1.UpdateOptions{}); err == nil {
			r.waitSeen(ctx, ing.Namespace, ing.Name, func(cur *networkingv1.Ingress) bool { return cur == nil || cur.ResourceVersion != ing.ResourceVersion })
			r.opts.Recorder.Eventf(svc, corev1.EventTypeNormal, ReasonUpdated, "Updated ingress %s for host %s", ref, host(ing))
		}
	case Delete:
		// The preconditions make sure what is deleted is the object judged stale, not one
		// someone changed since.
		uid, rv := ing.UID, ing.ResourceVersion
		err = api.Delete(ctx, ing.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
		if apierrors.IsNotFound(err) {
			err = nil
		}
		if err == nil {
			r.waitSeen(ctx, ing.Namespace, ing.Name, func(cur *networkingv1.Ingress) bool { return cur == nil || cur.UID != uid })
			if svc != nil {
				r.opts.Recorder.Eventf(svc, corev1.EventTypeNormal, ReasonDeleted, "Deleted ingress %s: the service no longer has %s", ref, AnnotationPrefix)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%s ingress %s: %w", c.Action, ref, err)
	}
	log.Info("ingress " + string(c.Action) + "d")
	return nil
}

// waitSeen waits until the cache's copy of namespace/name satisfies seen, so that the next
// check reads this write. A cache that lags past SeenTimeout only delays nothing: the next key
// is worked anyway, and the write shows up as an event later.
func (r *Reconciler) waitSeen(ctx context.Context, namespace, name string, seen func(*networkingv1.Ingress) bool) {
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, r.opts.SeenTimeout, true, func(context.Context) (bool, error) {
		cur, err := r.ingresses.Ingresses(namespace).Get(name)
		if apierrors.IsNotFound(err) {
			cur = nil
		} else if err != nil {
			return false, nil
		}
		return seen(cur), nil
	})
	if err != nil && ctx.Err() == nil {
		r.log.Warn("cache did not show the write in time", zap.String("ingress", namespace+"/"+name), zap.Duration("duration", r.opts.SeenTimeout))
	}
}

func (r *Reconciler) setRejected(key types.NamespacedName, rejected bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rejected {
		r.rejected[key] = struct{}{}
	} else {
		delete(r.rejected, key)
	}
}

// requeueRejected looks again at every rejected Service.
func (r *Reconciler) requeueRejected() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.rejected {
		r.queue.Add(k)
	}
}

// host is the first rule's host of ing, for logs and Events.
func host(ing *networkingv1.Ingress) string {
	if len(ing.Spec.Rules) == 0 {
		return ""
	}
	return ing.Spec.Rules[0].Host
}
