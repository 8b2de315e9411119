package informer

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// serviceListers answers for the Services the bindings name, each from the cache of the
// informer that watches it alone. A Service no binding names is not found.
type serviceListers map[types.NamespacedName]corelisters.ServiceLister

var _ corelisters.ServiceLister = serviceListers{}

// List returns the watched Services that match selector.
func (s serviceListers) List(selector labels.Selector) ([]*corev1.Service, error) {
	var out []*corev1.Service
	for _, l := range s {
		got, err := l.List(selector)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	slices.SortFunc(out, func(a, b *corev1.Service) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out, nil
}

// Services returns a lister for the watched Services of one namespace.
func (s serviceListers) Services(namespace string) corelisters.ServiceNamespaceLister {
	return namespaceServices{all: s, namespace: namespace}
}

type namespaceServices struct {
	all       serviceListers
	namespace string
}

func (n namespaceServices) List(selector labels.Selector) ([]*corev1.Service, error) {
	all, err := n.all.List(selector)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(s *corev1.Service) bool { return s.Namespace != n.namespace }), nil
}

func (n namespaceServices) Get(name string) (*corev1.Service, error) {
	l, ok := n.all[types.NamespacedName{Namespace: n.namespace, Name: name}]
	if !ok {
		return nil, apierrors.NewNotFound(corev1.Resource("services"), name)
	}
	return l.Services(n.namespace).Get(name)
}
