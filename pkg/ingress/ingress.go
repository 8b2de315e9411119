package ingress

import (
	"maps"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The ownership marker. Both halves must be present for an Ingress to be targetsync's.
const (
	// LabelManagedBy is the well-known label; its value on our Ingresses is ManagedBy.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "targetsync"
	// AnnotationService names the Service (in the Ingress's namespace) the Ingress publishes.
	AnnotationService = "targetsync.io/service"
	// AnnotationOrigin says which path wrote the Ingress: OriginExpose or OriginAnnotation.
	AnnotationOrigin = "targetsync.io/origin"
)

// Annotations a user puts on a Service to have `run` publish it.
const (
	// AnnotationPrefix is the host prefix; its presence turns publishing on for the Service.
	AnnotationPrefix = "targetsync.io/expose-prefix"
	// AnnotationPort is the Service port number to route to; it may be left out when the
	// Service has exactly one port.
	AnnotationPort = "targetsync.io/expose-port"
)

// Origin is the path that wrote an Ingress.
type Origin string

// Origins.
const (
	// OriginExpose marks Ingresses written by `targetsync expose`; the Reconciler never
	// deletes them.
	OriginExpose Origin = "expose"
	// OriginAnnotation marks Ingresses the Reconciler made from AnnotationPrefix.
	OriginAnnotation Origin = "annotation"
)

// Event reasons, recorded on the Service.
const (
	ReasonRejected = "ExposeRejected"
	ReasonCreated  = "IngressCreated"
	ReasonUpdated  = "IngressUpdated"
	ReasonDeleted  = "IngressDeleted"
)

// Path is the one path each Ingress routes.
const Path = "/"

// Site is where Services are published: hosts are PREFIX.ClusterID.Domain, served by the
// ingress controller of IngressClass Class.
type Site struct {
	ClusterID string
	Domain    string
	Class     string
}

// Host is the host name of prefix.
func (s Site) Host(prefix string) string { return prefix + "." + s.ClusterID + "." + s.Domain }

// Request is one Service port to publish under one prefix, by one Ingress.
type Request struct {
	Service types.NamespacedName
	// Name is the Ingress's name, in the Service's namespace.
	Name   string
	Prefix string
	Port   int32
	Origin Origin
}

// Key is the Ingress's namespace/name.
func (r Request) Key() string { return r.Service.Namespace + "/" + r.Name }

// Owner returns the Service an Ingress publishes and whether the Ingress is targetsync's: it
// carries both halves of the ownership marker.
func Owner(ing *networkingv1.Ingress) (string, bool) {
	if ing == nil || ing.Labels[LabelManagedBy] != ManagedBy {
		return "", false
	}
	svc := ing.Annotations[AnnotationService]
	return svc, svc != ""
}

// Build returns the Ingress that publishes r at site.
func Build(r Request, site Site) *networkingv1.Ingress {
	class := site.Class
	pathType := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   r.Service.Namespace,
			Name:        r.Name,
			Labels:      map[string]string{LabelManagedBy: ManagedBy},
			Annotations: map[string]string{AnnotationService: r.Service.Name, AnnotationOrigin: string(r.Origin)},
		},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			Rules: []networkingv1.IngressRule{{
				Host: site.Host(r.Prefix),
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     Path,
						PathType: &pathType,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: r.Service.Name,
							Port: networkingv1.ServiceBackendPort{Number: r.Port},
						}},
					}},
				}},
			}},
		},
	}
}

// merge returns current with want's spec and marker, keeping every other label and annotation,
// and whether that differs from current.
func merge(current, want *networkingv1.Ingress) (*networkingv1.Ingress, bool) {
	out := current.DeepCopy()
	changed := !equality.Semantic.DeepEqual(current.Spec, want.Spec)
	out.Spec = *want.Spec.DeepCopy()
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	for _, m := range []struct{ dst, src map[string]string }{{out.Labels, want.Labels}, {out.Annotations, want.Annotations}} {
		for k, v := range m.src {
			if m.dst[k] != v {
				changed = true
			}
		}
		maps.Copy(m.dst, m.src)
	}
	return out, changed
}
