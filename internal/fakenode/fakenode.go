// Package fakenode makes Nodes shaped like the ones kubelets on EC2 post, for benchmarks and
// the bench harness: sizes and field counts matter there, not the values.
package fakenode

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Name and IP of the i-th node: every index below 65,000 is a distinct address in the
// VPC's 10.0.0.0/16.
func Name(i int) string { return fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", i/250, i%250+1) }
func IP(i int) string   { return fmt.Sprintf("10.0.%d.%d", i/250, i%250+1) }

// Real is a Node shaped like one a kubelet on EC2 posts: the usual labels and annotations,
// capacity, four conditions, three addresses, node info and 20 to 50 images, about 12 KB of
// JSON in all.
func Real(i int) *corev1.Node {
	name := Name(i)
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
				"alpha.kubernetes.io/provided-node-ip":                   IP(i),
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
			{Type: corev1.NodeInternalIP, Address: IP(i)},
			{Type: corev1.NodeHostName, Address: name},
			{Type: corev1.NodeInternalDNS, Address: name},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID: fmt.Sprintf("ec2%029x", i), SystemUUID: fmt.Sprintf("ec2%029x", i), BootID: fmt.Sprintf("%032x", i),
			KernelVersion: "6.1.112-124.190.amzn2023.x86_64", OSImage: "Amazon Linux 2023.6.20241121",
			ContainerRuntimeVersion: "containerd://1.7.23", KubeletVersion: "v1.37.2",
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
