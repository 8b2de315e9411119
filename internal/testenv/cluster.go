package testenv

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// NodeOption changes a node before it is created.
type NodeOption func(*corev1.Node)

// ControlPlane labels the node as a control-plane node.
func ControlPlane(n *corev1.Node) { n.Labels["node-role.kubernetes.io/control-plane"] = "" }

// NotReady sets the node's Ready condition to False.
func NotReady(n *corev1.Node) { setReady(n, corev1.ConditionFalse) }

func setReady(n *corev1.Node, s corev1.ConditionStatus) {
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: s, Reason: "Test"}}
}

// CreateNode creates a Ready worker node with the given InternalIP, as a kubelet would.
func CreateNode(ctx context.Context, c kubernetes.Interface, name, ip string, opts ...NodeOption) error {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: name}}
	setReady(n, corev1.ConditionTrue)
	for _, o := range opts {
		o(n)
	}
	status := n.Status
	created, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create node %s: %w", name, err)
	}
	created.Status = status
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("set status of node %s: %w", name, err)
	}
	return nil
}

// DeleteAllNodes removes every node, so each test starts from an empty cluster.
func DeleteAllNodes(ctx context.Context, c kubernetes.Interface) error {
	return c.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
}

// CreateNamespace creates a namespace.
func CreateNamespace(ctx context.Context, c kubernetes.Interface, name string) error {
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	return err
}

// IngressService is the seed's ingress-nginx controller Service: NodePort, with http on
// httpNodePort.
func IngressService(namespace string, httpNodePort int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "ingress-nginx-controller"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app": "ingress-nginx"},
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), NodePort: httpNodePort, Protocol: corev1.ProtocolTCP},
			},
		},
	}
}

// HealthCheckService is the seed's separate ingress-nginx-healthcheck NodePort Service.
func HealthCheckService(namespace string, nodePort int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "ingress-nginx-healthcheck"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app": "ingress-nginx"},
			Ports: []corev1.ServicePort{
				{Name: "healthz", Port: 10254, TargetPort: intstr.FromInt32(10254), NodePort: nodePort, Protocol: corev1.ProtocolTCP},
			},
		},
	}
}

// DeleteServices deletes every Service in namespace.
func DeleteServices(ctx context.Context, c kubernetes.Interface, namespace string) error {
	list, err := c.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, s := range list.Items {
		if err := c.CoreV1().Services(namespace).Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil {
			return fmt.Errorf("delete service %s/%s: %w", namespace, s.Name, err)
		}
	}
	return nil
}
