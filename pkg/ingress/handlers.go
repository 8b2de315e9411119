package ingress

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// onService enqueues a Service that asks to be published, or did before this change. Services
// that never carried the annotation are left to the Ingress handler: a stale Ingress of ours
// names its Service.
func (r *Reconciler) onService(oldObj, newObj any) {
	old, nu := asService(oldObj), asService(newObj)
	if old != nil && nu != nil && old.ResourceVersion == nu.ResourceVersion {
		return
	}
	for _, s := range []*corev1.Service{old, nu} {
		if s == nil {
			continue
		}
		if _, asked := s.Annotations[AnnotationPrefix]; asked {
			r.queue.Add(types.NamespacedName{Namespace: s.Namespace, Name: s.Name})
			return
		}
	}
}

// onIngress enqueues the Service an Ingress of ours publishes, so that edits to it are put
// back and stale ones removed, and, when hosts or ownership changed, every rejected Service,
// whose prefix may now be free.
func (r *Reconciler) onIngress(oldObj, newObj any) {
	old, nu := asIngress(oldObj), asIngress(newObj)
	if old != nil && nu != nil && old.ResourceVersion == nu.ResourceVersion {
		return
	}
	for _, ing := range []*networkingv1.Ingress{old, nu} {
		if owner, ours := Owner(ing); ours {
			r.queue.Add(types.NamespacedName{Namespace: ing.Namespace, Name: owner})
		}
	}
	if old == nil || nu == nil || !slices.Equal(hosts(old), hosts(nu)) || !sameMarker(old, nu) {
		r.requeueRejected()
	}
}

func hosts(ing *networkingv1.Ingress) []string {
	out := make([]string, len(ing.Spec.Rules))
	for i, rule := range ing.Spec.Rules {
		out[i] = rule.Host
	}
	return out
}

func sameMarker(a, b *networkingv1.Ingress) bool {
	pick := func(ing *networkingv1.Ingress) map[string]string {
		return map[string]string{
			LabelManagedBy:    ing.Labels[LabelManagedBy],
			AnnotationService: ing.Annotations[AnnotationService],
			AnnotationOrigin:  ing.Annotations[AnnotationOrigin],
		}
	}
	return maps.Equal(pick(a), pick(b))
}

func asService(obj any) *corev1.Service {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, _ := obj.(*corev1.Service)
	return s
}

func asIngress(obj any) *networkingv1.Ingress {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	i, _ := obj.(*networkingv1.Ingress)
	return i
}

// stripManagedFields drops what is never read before objects enter the cache.
func stripManagedFields(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Service:
		o.ManagedFields = nil
	case *networkingv1.Ingress:
		o.ManagedFields = nil
	}
	return obj, nil
}
