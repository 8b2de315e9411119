package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/targetsync/targetsync/internal/fakenode"
	"github.com/targetsync/targetsync/internal/testenv"
)

// nodeJSONBytes is the mean size of the nodes' JSON over n of them.
func nodeJSONBytes(n int) int {
	total := 0
	for i := range n {
		b, _ := json.Marshal(fakenode.Real(i))
		total += len(b)
	}
	return total / max(n, 1)
}

// createNode creates the i-th node with its status, which makes it a target, and returns the
// time just before the call that made it one was sent. The API server keeps a Node's status on
// create, as a kubelet registering relies on; when it does not, the status is posted after.
func createNode(ctx context.Context, c kubernetes.Interface, i int) (time.Time, error) {
	n := fakenode.Real(i)
	status := n.Status
	at := time.Now()
	created, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		return at, fmt.Errorf("create node %s: %w", n.Name, err)
	}
	if len(created.Status.Addresses) > 0 {
		return at, nil
	}
	created.Status = status
	at = time.Now()
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return at, fmt.Errorf("set status of node %s: %w", n.Name, err)
	}
	return at, nil
}

// createNodes creates the nodes with indexes from to to-1, workers at a time, and returns the
// time each became a target.
func createNodes(ctx context.Context, c kubernetes.Interface, from, to, workers int) ([]time.Time, error) {
	at := make([]time.Time, to-from)
	err := testenv.Parallel(to-from, workers, func(k int) (err error) {
		at[k], err = createNode(ctx, c, from+k)
		return err
	})
	if err != nil {
		return nil, err
	}
	return at, nil
}

// heartbeat re-posts the nodes' status with a new heartbeat time, as kubelets do every 10 s,
// and keeps the updated objects.
func heartbeat(ctx context.Context, c kubernetes.Interface, nodes []*corev1.Node, workers int) error {
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	err := testenv.Parallel(len(nodes), workers, func(i int) error {
		n := nodes[i].DeepCopy()
		for j := range n.Status.Conditions {
			n.Status.Conditions[j].LastHeartbeatTime = now
		}
		updated, err := c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		if err != nil {
			nodes[i] = n
			return err
		}
		nodes[i] = updated
		return nil
	})
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// cordonNode returns a change that marks the i-th node unschedulable (or schedulable again), as
// kubectl cordon (uncordon) does, and returns the time just before the API call.
func cordonNode(cordon bool) func(ctx context.Context, c kubernetes.Interface, i int) (time.Time, error) {
	patch := []byte(fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, cordon))
	return func(ctx context.Context, c kubernetes.Interface, i int) (time.Time, error) {
		t0 := time.Now()
		_, err := c.CoreV1().Nodes().Patch(ctx, fakenode.Name(i), types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		return t0, err
	}
}

// deleteNode deletes the i-th node and returns the time just before the API call.
func deleteNode(ctx context.Context, c kubernetes.Interface, i int) (time.Time, error) {
	t0 := time.Now()
	return t0, c.CoreV1().Nodes().Delete(ctx, fakenode.Name(i), metav1.DeleteOptions{})
}
