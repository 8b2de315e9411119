package informer_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/targetsync/targetsync/pkg/config"
	"github.com/targetsync/targetsync/pkg/informer"
)

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// node returns a Ready worker with one IPv4 InternalIP, changed by opts.
func node(name, ip string, opts ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			ResourceVersion: "1",
			Labels:          map[string]string{"kubernetes.io/hostname": name},
		},
		Status: corev1.NodeStatus{
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeHostName, Address: name},
				{Type: corev1.NodeInternalIP, Address: ip},
			},
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
				{Type: corev1.NodeReady, Status: corev1.ConditionTrue},
			},
		},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

func withLabel(k, v string) func(*corev1.Node) {
	return func(n *corev1.Node) { n.Labels[k] = v }
}

func withTaint(key string) func(*corev1.Node) {
	return func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule})
	}
}

func withAddresses(as ...corev1.NodeAddress) func(*corev1.Node) {
	return func(n *corev1.Node) { n.Status.Addresses = as }
}

func withReady(s corev1.ConditionStatus) func(*corev1.Node) {
	return func(n *corev1.Node) {
		for i := range n.Status.Conditions {
			if n.Status.Conditions[i].Type == corev1.NodeReady {
				n.Status.Conditions[i].Status = s
			}
		}
	}
}

func withoutReady(n *corev1.Node) {
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}}
}

func cordoned(n *corev1.Node) { n.Spec.Unschedulable = true }

func deleting(n *corev1.Node) {
	ts := metav1.NewTime(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	n.DeletionTimestamp = &ts
}

func mustSelector(t *testing.T, s string) labels.Selector {
	t.Helper()
	sel, err := labels.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

func TestEvaluate(t *testing.T) {
	defaultSel := mustSelector(t, config.DefaultNodeSelector)
	// defaults are the rules targetsync runs with unless told otherwise.
	defaults := informer.Rules{Selector: defaultSel, DeregisterCordoned: true}
	ip := netip.MustParseAddr("10.0.1.17")

	tests := []struct {
		name  string
		rules informer.Rules
		node  *corev1.Node
		want  informer.Verdict
	}{
		{
			name:  "ready worker is a target",
			rules: defaults,
			node:  node("w1", "10.0.1.17"),
			want:  informer.Verdict{IP: ip, Ready: true},
		},
		{
			name:  "IPv6 InternalIP only",
			rules: defaults,
			node:  node("w1", "fd00::17"),
			want:  informer.Verdict{Reason: informer.ReasonNoIPv4, Ready: true},
		},
		{
			name:  "no addresses at all",
			rules: defaults,
			node:  node("w1", "10.0.1.17", withAddresses()),
			want:  informer.Verdict{Reason: informer.ReasonNoIPv4, Ready: true},
		},
		{
			name:  "IPv4 only as ExternalIP",
			rules: defaults,
			node:  node("w1", "", withAddresses(corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "203.0.113.7"})),
			want:  informer.Verdict{Reason: informer.ReasonNoIPv4, Ready: true},
		},
		{
			name:  "unparsable InternalIP",
			rules: defaults,
			node:  node("w1", "10.0.1"),
			want:  informer.Verdict{Reason: informer.ReasonNoIPv4, Ready: true},
		},
		{
			name:  "dual stack: the IPv4 InternalIP is used even when IPv6 comes first",
			rules: defaults,
			node: node("w1", "", withAddresses(
				corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "fd00::17"},
				corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "203.0.113.7"},
				corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.1.17"},
				corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.2.17"},
			)),
			want: informer.Verdict{IP: ip, Ready: true},
		},
		{
			name:  "being deleted",
			rules: defaults,
			node:  node("w1", "10.0.1.17", deleting),
			want:  informer.Verdict{IP: ip, Reason: informer.ReasonDeleting, Ready: true},
		},
		{
			name:  "no IPv4 wins over being deleted",
			rules: defaults,
			node:  node("w1", "fd00::17", deleting),
			want:  informer.Verdict{Reason: informer.ReasonNoIPv4, Ready: true},
		},
		{
			name:  "default selector skips control-plane nodes",
			rules: defaults,
			node:  node("cp1", "10.0.1.17", withLabel("node-role.kubernetes.io/control-plane", "")),
			want:  informer.Verdict{IP: ip, Reason: informer.ReasonSelector, Ready: true},
		},
		{
			name:  "default selector takes other roles",
			rules: defaults,
			node:  node("w1", "10.0.1.17", withLabel("node-role.kubernetes.io/worker", "")),
			want:  informer.Verdict{IP: ip, Ready: true},
		},
		{
			name:  "custom selector mismatch",
			rules: informer.Rules{Selector: mustSelector(t, "role=ingress")},
			node:  node("w1", "10.0.1.17", withLabel("role", "batch")),
			want:  informer.Verdict{IP: ip, Reason: informer.ReasonSelector, Ready: true},
		},
		{
			name:  "custom selector match",
			rules: informer.Rules{Selector: mustSelector(t, "role=ingress")},
			node:  node("w1", "10.0.1.17", withLabel("role", "ingress")),
			want:  informer.Verdict{IP: ip, Ready: true},
		},
		{
			name:  "no selector matches everything",
			rules: informer.Rules{},
			node:  node("cp1", "10.0.1.17", withLabel("node-role.kubernetes.io/control-plane", "")),
			want:  informer.Verdict{IP: ip, Ready: true},
		},
		{
			name:  "exclude label true",
			rules: defaults,
			node:  node("w1", "10.0.1.17", withLabel(informer.LabelExcludeFromLB, "true")),
			want:  informer.Verdict{IP: ip, Reason: informer.ReasonExcluded, Ready: true},
		},
		{
			name:  "exclude label empty",
			rules: defaults,
			node:  node("w1", "10.0.1.17", withLabel(informer.LabelExcludeFromLB, "")),
			want:  informer.Verdict{IP: ip, Reason: informer.ReasonExcluded, Ready: true},
		},
		{
			name:  "exclude label false does not exclude",
			rules: defaults,
			node:  node("w1", "10.0.1.17", withLabel(informer.LabelExcludeFromLB, "false")),
			want:  informer.Verdict{IP: ip, Ready: true},
		},
		{
			name:  "cluster autoscaler deletion taint",
			rules: defaults,
			node:  node("w1", "10.0.1.17", withTaint(informer.TaintClusterAutoscalerDelete)),
			want:  informer.Verdict{IP: ip, Reason: "tainted ToBeDeletedByClusterAutoscaler", Ready: true},
		},
		{
			name:  "karpenter disruption taint",
			rules: defaults,
			node:  node("w1", "10.0.1.17", withTaint(informer.TaintKarpenterDisrupted)),
			want:  informer.Verdict{IP: ip, Reason: "tainted karpenter.sh/disrupted", Ready: true},
		},
		{
			name:  "out-of-service taint",
			rules: defaults,
			node:  node("w1", "10.0.1.17", withTaint(informer.TaintOutOfService)),
			want:  informer.Verdict{IP: ip, Reason: "tainted node.kubernetes.io/out-of-service", Ready: true},
		},
		{
			name:  "other taints do not remove the node",
			rules: defaults,
			node:  node("w1", "10.0.1.17", withTaint("dedicated"), withTaint("node.kubernetes.io/disk-pressure")),
			want:  informer.Verdict{IP: ip, Ready: true},
		},
		{
			name:  "cordoned with DeregisterCordoned",
			rules: defaults,
			node:  node("w1", "10.0.1.17", cordoned),
			want:  informer.Verdict{IP: ip, Reason: informer.ReasonCordoned, Ready: true},
		},
		{
			name:  "cordoned without DeregisterCordoned",
			rules: informer.Rules{Selector: defaultSel},
			node:  node("w1", "10.0.1.17", cordoned),
			want:  informer.Verdict{IP: ip, Ready: true},
		},
		{
			name:  "NotReady with RemoveNotReady",
			rules: informer.Rules{Selector: defaultSel, RemoveNotReady: true},
			node:  node("w1", "10.0.1.17", withReady(corev1.ConditionFalse)),
			want:  informer.Verdict{IP: ip, Reason: informer.ReasonNotReady},
		},
		{
			name:  "Ready Unknown with RemoveNotReady",
			rules: informer.Rules{Selector: defaultSel, RemoveNotReady: true},
			node:  node("w1", "10.0.1.17", withReady(corev1.ConditionUnknown)),
			want:  informer.Verdict{IP: ip, Reason: informer.ReasonNotReady},
		},
		{
			name:  "NotReady without RemoveNotReady stays a target",
			rules: defaults,
			node:  node("w1", "10.0.1.17", withReady(corev1.ConditionFalse)),
			want:  informer.Verdict{IP: ip},
		},
		{
			name:  "Ready condition missing counts as not ready",
			rules: informer.Rules{Selector: defaultSel, RemoveNotReady: true},
			node:  node("w1", "10.0.1.17", withoutReady),
			want:  informer.Verdict{IP: ip, Reason: informer.ReasonNotReady},
		},
		{
			name:  "Ready condition missing without RemoveNotReady stays a target",
			rules: defaults,
			node:  node("w1", "10.0.1.17", withoutReady),
			want:  informer.Verdict{IP: ip},
		},
		{
			name:  "the most final reason wins",
			rules: informer.Rules{Selector: defaultSel, DeregisterCordoned: true, RemoveNotReady: true},
			node: node("w1", "10.0.1.17", cordoned, withReady(corev1.ConditionFalse),
				withTaint(informer.TaintKarpenterDisrupted), withLabel(informer.LabelExcludeFromLB, "true")),
			want: informer.Verdict{IP: ip, Reason: informer.ReasonExcluded},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.rules.Evaluate(tt.node)
			if diff := cmp.Diff(tt.want, got, addrCmp); diff != "" {
				t.Errorf("Evaluate() mismatch (-want +got):\n%s", diff)
			}
			if got.Eligible() != (tt.want.Reason == "") {
				t.Errorf("Eligible() = %v with reason %q", got.Eligible(), got.Reason)
			}
			// Syncs and event handlers see the node as the cache keeps it: the same verdict.
			cached, err := informer.CacheNode(tt.rules, tt.node.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tt.rules.EvaluateCached(cached), addrCmp); diff != "" {
				t.Errorf("verdict of the cached node (-want +got):\n%s", diff)
			}
		})
	}
}
