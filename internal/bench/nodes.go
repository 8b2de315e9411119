package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// nodeName and nodeIP of the i-th node: every index below 65,000 is a distinct address in the
// VPC's 10.0.0.0/16.
func nodeName(i int) string { return fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", i/250, i%250+1) }
func nodeIP(i int) string   { return fmt.Sprintf("10.0.%d.%d", i/250, i%250+1) }

// realNode is a Node shaped like one a kubelet on EC2 posts: the usual labels and annotations,
// capacity, four conditions, three addresses, node info and 20 to 50 images, about 12 KB of
// JSON in all.
func realNode(i int) *corev1.Node {
	name := nodeName(i)
	zone := []string{"us-east-1a", "us-east-1b", "us-east-1c"}[i%3]
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				"kubernetes.io/hostname":                 name,
				"kubernetes.io/os":                       "linux",
				"kubernetes.io/arch":                     "amd64",
				"beta.kubernetes.io/os":                  "linux",
				"beta.kubernetes.io/arch":                "amd64",
				"beta.kubernetes.io/instance-type":       "m6i.xlarge",
				"node.kubernetes.io/instance-type":       "m6i.xlarge",
				"topology.kubernetes.io/region":          "us-east-1",
				"topology.kubernetes.io/zone":            zone,
				"failure-domain.beta.kubernetes.io/zone": zone,
				"topology.ebs.csi.aws.com/zone":          zone,
				"eks.amazonaws.com/nodegroup":            "workers",
				"eks.amazonaws.com/capacityType":         "ON_DEMAND",
				"k8s.io/cloud-provider-aws":              "0123456789abcdef0123456789abcdef",
			},
			Annotations: map[string]string{
				"alpha.kubernetes.io/provided-node-ip":                   nodeIP(i),
				"node.alpha.kubernetes.io/ttl":                           "0",
				"volumes.kubernetes.io/controller-managed-attach-detach": "true",
				"csi.volume.kubernetes.io/nodeid":                        fmt.Sprintf(`{"ebs.csi.aws.com":"i-%017x"}`, i),
			},
		},
		Spec: corev1.NodeSpec{
			ProviderID: fmt.Sprintf("aws:///%s/i-%017x", zone, i),
			PodCIDR:    fmt.Sprintf("100.64.%d.0/24", i%256),
		},
	}
	res := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("4"),
		corev1.ResourceMemory:           resource.MustParse("15896988Ki"),
		corev1.ResourcePods:             resource.MustParse("58"),
		corev1.ResourceEphemeralStorage: resource.MustParse("83873772Ki"),
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	n.Status = corev1.NodeStatus{
		Capacity:    res,
		Allocatable: res,
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: nodeIP(i)},
			{Type: corev1.NodeHostName, Address: name},
			{Type: corev1.NodeInternalDNS, Address: name},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID: fmt.Sprintf("ec2%029x", i), SystemUUID: fmt.Sprintf("ec2%029x", i), BootID: fmt.Sprintf("%032x", i),
			KernelVersion: "6.1.112-124.190.amzn2023.x86_64", OSImage: "Amazon Linux 2023.6.20241121",
			ContainerRuntimeVersion: "containerd://1.7.23", KubeletVersion: "v1.37.2", KubeProxyVersion: "v1.37.2",
			OperatingSystem: "linux", Architecture: "amd64",
		},
	}
	for _, c := range []struct {
		t              corev1.NodeConditionType
		s              corev1.ConditionStatus
		reason, detail string
	}{
		{corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
		{corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
		{corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
		{corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"},
	} {
		n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: c.t, Status: c.s,
			LastHeartbeatTime: now, LastTransitionTime: now, Reason: c.reason, Message: c.detail})
	}
	for k := range 20 + i%31 {
		repo := fmt.Sprintf("111122223333.dkr.ecr.us-east-1.amazonaws.com/team-%d/service-%d", k%7, k)
		n.Status.Images = append(n.Status.Images, corev1.ContainerImage{
			Names:     []string{fmt.Sprintf("%s@sha256:%064x", repo, k*7919+1), fmt.Sprintf("%s:v1.%d.%d", repo, k, i%10)},
			SizeBytes: int64(50_000_000 + k*1_000_003),
		})
	}
	return n
}

// nodeJSONBytes is the mean size of the nodes' JSON over n of them.
func nodeJSONBytes(n int) int {
	total := 0
	for i := range n {
		b, _ := json.Marshal(realNode(i))
		total += len(b)
	}
	return total / max(n, 1)
}

// createNode creates the i-th node with its status, which makes it a target, and returns the
// time just before the call that made it one was sent. The API server keeps a Node's status on
// create, as a kubelet registering relies on; when it does not, the status is posted after.
func createNode(ctx context.Context, c kubernetes.Interface, i int) (*corev1.Node, time.Time, error) {
	n := realNode(i)
	status := n.Status
	at := time.Now()
	created, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		return nil, at, fmt.Errorf("create node %s: %w", n.Name, err)
	}
	if len(created.Status.Addresses) > 0 {
		return created, at, nil
	}
	created.Status = status
	at = time.Now()
	updated, err := c.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return nil, at, fmt.Errorf("set status of node %s: %w", n.Name, err)
	}
	return updated, at, nil
}

// createNodes creates the nodes with indexes from to to-1, workers at a time, and returns them
// with the time each became a target.
func createNodes(ctx context.Context, c kubernetes.Interface, from, to, workers int) ([]*corev1.Node, []time.Time, error) {
	nodes := make([]*corev1.Node, to-from)
	at := make([]time.Time, to-from)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := range workers {
		wg.Go(func() {
			for i := range next {
				if errs[w] != nil {
					continue
				}
				nodes[i-from], at[i-from], errs[w] = createNode(ctx, c, i)
			}
		})
	}
	for i := from; i < to; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	return nodes, at, nil
}

// heartbeat re-posts the nodes' status with a new heartbeat time, as kubelets do every 10 s,
// and keeps the updated objects.
func heartbeat(ctx context.Context, c kubernetes.Interface, nodes []*corev1.Node, workers int) error {
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := range workers {
		wg.Go(func() {
			for i := range next {
				if errs[w] != nil {
					continue
				}
				n := nodes[i].DeepCopy()
				for j := range n.Status.Conditions {
					n.Status.Conditions[j].LastHeartbeatTime = now
				}
				nodes[i], errs[w] = c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
				if errs[w] != nil {
					nodes[i] = n
				}
			}
		})
	}
	for i := range nodes {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("heartbeat: %w", err)
		}
	}
	return nil
}
