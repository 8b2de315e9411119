package controller

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/targetsync/targetsync/pkg/informer"
)

// Binding is one target group kept equal to one Service port.
type Binding struct {
	// Name identifies the binding in logs and plans.
	Name string
	// TargetGroupARN is the bound target group.
	TargetGroupARN string
	// Query says what to read from the cluster.
	Query informer.Query
	// HealthCheckPath is the HTTP path of the managed health check.
	HealthCheckPath string
}

// TargetGroupName is the name inside the ARN (…:targetgroup/NAME/ID). It labels metrics, so it
// is known even when AWS cannot be reached.
func (b Binding) TargetGroupName() string {
	parts := strings.Split(b.TargetGroupARN, "/")
	if len(parts) == 3 {
		return parts[1]
	}
	return b.TargetGroupARN
}

// serviceRef is the object Events about this binding are recorded on.
func (b Binding) serviceRef() *corev1.ObjectReference {
	return &corev1.ObjectReference{
		Kind:       "Service",
		APIVersion: "v1",
		Namespace:  b.Query.Traffic.Service.Namespace,
		Name:       b.Query.Traffic.Service.Name,
	}
}
