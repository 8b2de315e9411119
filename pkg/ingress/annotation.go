package ingress

import (
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
)

// FromService reads the request svc's annotations make: publish svc under the prefix of
// AnnotationPrefix, by an Ingress named like the Service, on the port of AnnotationPort or the
// Service's only port. It reports false when svc does not carry AnnotationPrefix, and a
// *Rejection when the annotations cannot be used.
func FromService(svc *corev1.Service) (Request, bool, error) {
	prefix, asked := svc.Annotations[AnnotationPrefix]
	if !asked {
		return Request{}, false, nil
	}
	ref := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	r := Request{Service: ref, Name: svc.Name, Prefix: prefix, Origin: OriginAnnotation}
	if err := CheckLabel(AnnotationPrefix, prefix); err != nil {
		return r, true, err
	}
	if p, set := svc.Annotations[AnnotationPort]; set {
		n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
		if err != nil || n < 1 || n > 65535 {
			return r, true, reject("invalid %s %q: want the number of a port of service %s; %s", AnnotationPort, p, ref, portList(svc))
		}
		r.Port = int32(n)
		return r, true, nil
	}
	switch len(svc.Spec.Ports) {
	case 0:
		return r, true, reject("service %s has no ports to publish", ref)
	case 1:
		r.Port = svc.Spec.Ports[0].Port
		return r, true, nil
	default:
		return r, true, reject("service %s has several ports: set %s to one of them; %s", ref, AnnotationPort, portList(svc))
	}
}

// Stale reports whether ing is an Ingress the Reconciler made from the annotation of a Service
// that no longer asks for it: svc, the Service ing publishes, is gone (nil) or has lost
// AnnotationPrefix. Ingresses without the ownership marker, and those `expose` wrote, are
// never stale.
func Stale(ing *networkingv1.Ingress, svc *corev1.Service) bool {
	owner, ours := Owner(ing)
	if !ours || ing.Annotations[AnnotationOrigin] != string(OriginAnnotation) {
		return false
	}
	if svc == nil {
		return true
	}
	if svc.Namespace != ing.Namespace || svc.Name != owner {
		return false // not the Service it publishes: nothing to decide from it
	}
	_, asked := svc.Annotations[AnnotationPrefix]
	return !asked
}

// Plan decides the one Change the Reconciler makes for the Service key, given the Service (nil
// when it does not exist) and every Ingress in the cluster: publish it as its annotations ask,
// delete the Ingress it no longer asks for, or nothing. A *Rejection means nothing is changed.
func Plan(key types.NamespacedName, svc *corev1.Service, site Site, ingresses []*networkingv1.Ingress) (Change, error) {
	if svc != nil {
		if r, asked, err := FromService(svc); asked {
			if err != nil {
				return Change{}, err
			}
			return Check(r, site, svc, ingresses)
		}
	}
	// Not asked for (any more): the Ingress the annotation made is named like the Service.
	i := slices.IndexFunc(ingresses, func(ing *networkingv1.Ingress) bool {
		owner, _ := Owner(ing)
		return ing.Namespace == key.Namespace && ing.Name == key.Name && owner == key.Name
	})
	if i >= 0 && Stale(ingresses[i], svc) {
		return Change{Action: Delete, Ingress: ingresses[i]}, nil
	}
	return Change{Action: None}, nil
}
