package bootstrap

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// readCluster reads the namespaces of both Services, the ingress controller Service and the
// health-check Service. Missing objects are not errors.
func (b *Bootstrapper) readCluster(ctx context.Context, cur *Current) error {
	spec := b.spec
	cur.Namespaces = map[string]bool{}
	for _, ns := range []string{spec.Service.Namespace, spec.HealthCheckService.Namespace} {
		if _, done := cur.Namespaces[ns]; done {
			continue
		}
		_, err := b.c.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			cur.Namespaces[ns] = false
		case err != nil:
			return fmt.Errorf("get namespace %s: %w", ns, err)
		default:
			cur.Namespaces[ns] = true
		}
	}
	var err error
	if cur.Service, err = b.service(ctx, spec.Service, cur.Namespaces); err != nil {
		return err
	}
	cur.HealthCheckService, err = b.service(ctx, spec.HealthCheckService, cur.Namespaces)
	return err
}

// service gets a Service, nil when it or its namespace does not exist.
func (b *Bootstrapper) service(ctx context.Context, name types.NamespacedName, namespaces map[string]bool) (*corev1.Service, error) {
	if !namespaces[name.Namespace] {
		return nil, nil
	}
	svc, err := b.c.Kube.CoreV1().Services(name.Namespace).Get(ctx, name.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get service %s: %w", name, err)
	}
	return svc, nil
}

// applyNamespace creates a namespace. One that appeared since the read is found, not an error.
func (b *Bootstrapper) applyNamespace(ctx context.Context, s *Step) {
	_, err := b.c.Kube.CoreV1().Namespaces().Create(ctx, s.Namespace, metav1.CreateOptions{FieldManager: ManagedBy})
	switch {
	case apierrors.IsAlreadyExists(err):
		s.Action, s.Why = ActionFound, "exists (created meanwhile)"
	case err != nil:
		s.Err = fmt.Errorf("create namespace %s: %w", s.Name, err)
	default:
		s.Done = true
	}
}

// applyService creates the health-check Service. One that appeared since the read is left alone.
func (b *Bootstrapper) applyService(ctx context.Context, s *Step) {
	_, err := b.c.Kube.CoreV1().Services(s.Service.Namespace).Create(ctx, s.Service, metav1.CreateOptions{FieldManager: ManagedBy})
	switch {
	case apierrors.IsAlreadyExists(err):
		s.Action, s.Why = ActionLeftAlone, "exists (created meanwhile)"
	case err != nil:
		s.Err = fmt.Errorf("create service %s: %w", s.Name, err)
	default:
		s.Done = true
	}
}
