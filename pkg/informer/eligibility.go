package informer

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Labels and taints that take a node out of the target group.
const (
	LabelExcludeFromLB = "node.kubernetes.io/exclude-from-external-load-balancers"

	TaintClusterAutoscalerDelete = "ToBeDeletedByClusterAutoscaler"
	TaintKarpenterDisrupted      = "karpenter.sh/disrupted"
	TaintOutOfService            = "node.kubernetes.io/out-of-service"
)

// Reasons a node is not a target. They appear in plans and debug logs.
const (
	ReasonNoIPv4   = "no IPv4 InternalIP"
	ReasonSelector = "does not match --node-selector"
	ReasonExcluded = "labelled " + LabelExcludeFromLB
	ReasonDeleting = "being deleted"
	ReasonTaint    = "tainted "
	ReasonCordoned = "cordoned"
	ReasonNotReady = "NotReady"
)

var removalTaints = []string{TaintClusterAutoscalerDelete, TaintKarpenterDisrupted, TaintOutOfService}

// Rules decide which nodes are targets.
type Rules struct {
	// Selector must match the node's labels.
	Selector labels.Selector
	// DeregisterCordoned takes cordoned nodes out so their connections drain before termination.
	DeregisterCordoned bool
	// RemoveNotReady takes NotReady nodes out. When false the NLB health check decides.
	RemoveNotReady bool
}

// Verdict is the outcome of the rules for one node.
type Verdict struct {
	// IP is the node's first IPv4 InternalIP; invalid when it has none.
	IP netip.Addr
	// Reason is empty when the node is a target, and says why not otherwise.
	Reason string
	// Ready mirrors the node's Ready condition.
	Ready bool
}

// Eligible reports whether the node is a target.
func (v Verdict) Eligible() bool { return v.Reason == "" }

// evaluate applies the rules to a node as the cache keeps it, in order of how final the reason is.
func (r Rules) evaluate(n *cachedNode) Verdict {
	v := Verdict{IP: n.ip, Ready: n.ready}
	switch {
	case !v.IP.IsValid():
		v.Reason = ReasonNoIPv4
	case n.deleting:
		v.Reason = ReasonDeleting
	case r.Selector != nil && !r.Selector.Matches(labels.Set(n.Labels)):
		v.Reason = ReasonSelector
	case excluded(n.Labels):
		v.Reason = ReasonExcluded
	case n.removalTaint != "":
		v.Reason = ReasonTaint + n.removalTaint
	case r.DeregisterCordoned && n.unschedulable:
		v.Reason = ReasonCordoned
	case r.RemoveNotReady && !v.Ready:
		v.Reason = ReasonNotReady
	}
	return v
}

// InternalIPv4 returns the node's first InternalIP that is IPv4, or the zero Addr.
func InternalIPv4(node *corev1.Node) netip.Addr {
	for _, a := range node.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		if err == nil && ip.Is4() {
			return ip
		}
	}
	return netip.Addr{}
}

// excluded follows Kubernetes' own rule: the label excludes the node unless its value is "false".
func excluded(nodeLabels map[string]string) bool {
	v, ok := nodeLabels[LabelExcludeFromLB]
	return ok && v != "false"
}

func removalTaint(node *corev1.Node) string {
	for _, t := range node.Spec.Taints {
		for _, k := range removalTaints {
			if t.Key == k {
				return k
			}
		}
	}
	return ""
}

func isReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
