package informer

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
)

// cachedNode is what the node cache keeps of a Node: its name and resource version (the
// cache's key, and the handlers' check for an update that changed nothing), the labels the
// rules read, and the few facts the rules decide on: 280 bytes plus its name and resource
// version, where a decoded Node is 784 bytes of struct before its strings, even with
// everything else cleared.
type cachedNode struct {
	// ObjectMeta holds Name, ResourceVersion and the kept Labels only.
	metav1.ObjectMeta

	ip            netip.Addr // first IPv4 InternalIP; invalid when there is none
	removalTaint  string     // key of the first removal taint, if any
	deleting      bool       // deletionTimestamp is set
	unschedulable bool       // cordoned
	ready         bool       // the Ready condition is True
}

// compact returns what the node cache keeps of n, with labels as its labels.
func compact(n *corev1.Node, labels map[string]string) *cachedNode {
	return &cachedNode{
		ObjectMeta:    metav1.ObjectMeta{Name: n.Name, ResourceVersion: n.ResourceVersion, Labels: labels},
		ip:            InternalIPv4(n),
		removalTaint:  removalTaint(n),
		deleting:      n.DeletionTimestamp != nil,
		unschedulable: n.Spec.Unschedulable,
		ready:         isReady(n),
	}
}

// asNode returns the node obj holds: a cachedNode, a tombstone of one, or a whole Node (a
// store filled without the transform), read with all its labels. Anything else is nil.
func asNode(obj any) *cachedNode {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	switch n := obj.(type) {
	case *cachedNode:
		return n
	case *corev1.Node:
		return compact(n, n.Labels)
	}
	return nil
}

// GetObjectKind and DeepCopyObject make cachedNode a runtime.Object, as cached objects are.

func (n *cachedNode) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

func (n *cachedNode) DeepCopyObject() runtime.Object {
	c := *n
	n.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}
