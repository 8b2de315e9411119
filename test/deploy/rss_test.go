//go:build measure

package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/targetsync/targetsync/internal/testenv"
)

// TestMeasureRSS is the measurement behind the Deployment's resource requests, run on demand:
//
//	go test -tags measure -run TestMeasureRSS -v -timeout 20m ./test/deploy/
//
// It runs the real binary, built as the Dockerfile builds it, against 200 nodes shaped like
// real ones (40 images, node info, four conditions), with every node re-posting its status
// every 10s as kubelets do and a 10s resync, for a minute. It fails when the peak RSS does not
// fit the memory request.
func TestMeasureRSS(t *testing.T) {
	const nodes = 200
	ctx := context.Background()
	cp := controlPlaneFor(t)
	moto, clients := motoFor(t)

	bin := filepath.Join(t.TempDir(), "targetsync")
	if r := run(10*time.Minute, repoRoot(), []string{"CGO_ENABLED=0"}, goBinary(t), "build", "-trimpath",
		"-ldflags", "-s -w -X main.version=measure", "-o", bin, "./cmd/targetsync"); r.err != nil {
		t.Fatalf("go build:\n%s", r)
	}
	nlb, err := clients.CreateNLB(ctx, "measure", 30443)
	if err != nil {
		t.Fatal(err)
	}
	if err := testenv.CreateNamespace(ctx, cp.client, "ingress-measure"); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.client.CoreV1().Services("ingress-measure").Create(ctx, testenv.IngressService("ingress-measure", 30443), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := testenv.DeleteAllNodes(ctx, cp.client); err != nil {
		t.Fatal(err)
	}
	images := make([]corev1.ContainerImage, 40)
	for i := range images {
		repo := fmt.Sprintf("111122223333.dkr.ecr.us-east-1.amazonaws.com/team/app-%d", i)
		images[i] = corev1.ContainerImage{Names: []string{fmt.Sprintf("%s@sha256:%064d", repo, i), repo + ":v1.2.3"}, SizeBytes: 123456789}
	}
	for i := range nodes {
		name := fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", i/250, i%250+1)
		if err := testenv.CreateNode(ctx, cp.client, name, fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), func(n *corev1.Node) {
			n.Labels["topology.kubernetes.io/zone"] = "us-east-1a"
			n.Labels["node.kubernetes.io/instance-type"] = "m6i.xlarge"
			n.Annotations = map[string]string{"volumes.kubernetes.io/controller-managed-attach-detach": "true"}
			n.Status.Images = images
			n.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OSImage: "Amazon Linux 2023",
				KernelVersion: "6.1.0", ContainerRuntimeVersion: "containerd://2.0.0", Architecture: "amd64", OperatingSystem: "linux"}
			for _, c := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
				n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: c, Status: corev1.ConditionFalse,
					Reason: "KubeletHasSufficient" + string(c), Message: "kubelet has no " + string(c)})
			}
		}); err != nil {
			t.Fatal(err)
		}
	}

	config := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf("apiVersion: targetsync.io/v1alpha1\nkind: Config\nclusterName: measure\nbindings:\n  - targetGroupArn: %s\n    service: ingress-measure/ingress-nginx-controller\n    servicePort: http\n",
		nlb.TargetGroupARN)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--kubeconfig", cp.kubeconfig, "--config", config, "--leader-elect",
		"--leader-election-namespace", "ingress-measure", "--metrics-bind-address", "0", "--health-probe-bind-address", "0",
		"--resync-period", "10s", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+moto.URL)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	deadline := time.Now().Add(2 * time.Minute)
	tick := time.NewTicker(200 * time.Millisecond)
	for {
		got, err := clients.Targets(ctx, nlb.TargetGroupARN)
		if err == nil && len(got) == nodes {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d targets registered after 2m, want %d (%v)", len(got), nodes, err)
		}
		<-tick.C
	}
	tick.Stop()
	t.Logf("all %d targets registered: %s", nodes, procStatus(t, cmd.Process.Pid))

	heartbeat := time.NewTicker(10 * time.Second)
	defer heartbeat.Stop()
	cpuBefore := cpuSeconds(t, cmd.Process.Pid)
	for round := range 6 {
		list, err := cp.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			n := &list.Items[i]
			for j := range n.Status.Conditions {
				n.Status.Conditions[j].LastHeartbeatTime = metav1.Now()
			}
			if _, err := cp.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		<-heartbeat.C
		t.Logf("heartbeat round %d: %s", round+1, procStatus(t, cmd.Process.Pid))
	}
	cpu := cpuSeconds(t, cmd.Process.Pid) - cpuBefore
	peak := procField(t, cmd.Process.Pid, "VmHWM")
	t.Logf("peak RSS %d MiB; CPU %.0f millicores averaged over the heartbeat minute", peak>>20, cpu/60*1000)

	objs := render(t, repoPath("deploy", "manifests"))
	d := typed[appsv1.Deployment](t, find(t, objs, "Deployment", "targetsync"))
	request := d.Spec.Template.Spec.Containers[0].Resources.Requests.Memory().Value()
	if peak > request {
		t.Errorf("peak RSS %d MiB is above the memory request of %d MiB", peak>>20, request>>20)
	}
}

func procStatus(t *testing.T, pid int) string {
	t.Helper()
	return fmt.Sprintf("RSS %d MiB, peak %d MiB, CPU %.2fs", procField(t, pid, "VmRSS")>>20, procField(t, pid, "VmHWM")>>20, cpuSeconds(t, pid))
}

// procField reads a kB field of /proc/<pid>/status, in bytes.
func procField(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field+":" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// cpuSeconds is the process's user plus system time.
func cpuSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may contain spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ
}
