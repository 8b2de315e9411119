package ingress

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Rejection is a request that breaks one of the package's rules. Its message says which, in one
// line that names the objects involved; `expose` prints it and the Reconciler records it as an
// ExposeRejected Event on the Service. Nothing is changed for a rejected request.
type Rejection struct{ Msg string }

func (r *Rejection) Error() string { return r.Msg }

func reject(format string, args ...any) error { return &Rejection{Msg: fmt.Sprintf(format, args...)} }

// Action is what a Change does to the cluster.
type Action string

// Actions.
const (
	Create Action = "create"
	Update Action = "update"
	None   Action = "none"
	Delete Action = "delete"
)

// Change is the one write that makes the cluster publish a request, or remove a stale Ingress.
type Change struct {
	Action Action
	// Ingress is the object to create or update (an update carries the current object's
	// resourceVersion, so a concurrent edit fails rather than being overwritten), or the
	// current one for None and Delete.
	Ingress *networkingv1.Ingress
}

// CheckLabel returns an error unless v is a DNS label; what names the setting in the message.
func CheckLabel(what, v string) error {
	if len(validation.IsDNS1123Label(v)) > 0 {
		return reject("invalid %s %q: want a DNS label: lower-case letters, digits and '-'", what, v)
	}
	return nil
}

// Check validates r against its Service (nil when it does not exist) and every Ingress in the
// cluster, and returns the Change that publishes it. The first broken rule is returned as a
// *Rejection. ingresses may be in any order; the result does not depend on it.
func Check(r Request, site Site, svc *corev1.Service, ingresses []*networkingv1.Ingress) (Change, error) {
	ref := r.Service.String()
	if err := CheckLabel("prefix", r.Prefix); err != nil {
		return Change{}, err
	}
	if err := CheckLabel("ingress name", r.Name); err != nil {
		return Change{}, err
	}
	host := site.Host(r.Prefix)
	if errs := validation.IsDNS1123Subdomain(host); len(errs) > 0 {
		return Change{}, reject("host %q is not a valid DNS name: %s", host, errs[0])
	}
	if svc == nil {
		return Change{}, reject("service %s not found", ref)
	}
	if _, annotated := svc.Annotations[AnnotationPrefix]; annotated && r.Origin == OriginExpose {
		return Change{}, reject("service %s is published by its %s annotation: change the annotation instead", ref, AnnotationPrefix)
	}
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == r.Port }) {
		return Change{}, reject("port %d is not a port of service %s; %s", r.Port, ref, portList(svc))
	}

	sorted := slices.SortedFunc(slices.Values(ingresses), func(a, b *networkingv1.Ingress) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	var current *networkingv1.Ingress
	for _, ing := range sorted {
		if ing.Namespace == r.Service.Namespace && ing.Name == r.Name {
			current = ing
		}
	}
	if current != nil {
		owner, ours := Owner(current)
		switch {
		case !ours:
			return Change{}, reject("ingress %s exists and is not managed by targetsync: it is never modified", r.Key())
		case owner != r.Service.Name:
			return Change{}, reject("ingress %s publishes service %s/%s: it is not modified for %s", r.Key(), r.Service.Namespace, owner, ref)
		}
	}
	for _, ing := range sorted {
		if ing == current {
			continue
		}
		for _, rule := range ing.Spec.Rules {
			if first, _, _ := strings.Cut(rule.Host, "."); strings.EqualFold(first, r.Prefix) {
				return Change{}, reject("prefix %q is already used by ingress %s/%s (host %s)", r.Prefix, ing.Namespace, ing.Name, rule.Host)
			}
		}
	}

	want := Build(r, site)
	if current == nil {
		return Change{Action: Create, Ingress: want}, nil
	}
	merged, changed := merge(current, want)
	if !changed {
		return Change{Action: None, Ingress: current}, nil
	}
	return Change{Action: Update, Ingress: merged}, nil
}

// portList says which ports a Service has, for a message.
func portList(svc *corev1.Service) string {
	if len(svc.Spec.Ports) == 0 {
		return "it has no ports"
	}
	ports := make([]string, len(svc.Spec.Ports))
	for i, p := range svc.Spec.Ports {
		ports[i] = strconv.Itoa(int(p.Port))
	}
	return "its ports are " + strings.Join(ports, ", ")
}
