package integration

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/targetsync/targetsync/internal/testenv"
)

// TestStartUpWarnsAboutTheZoneQuota: a binding that wants more than 500 targets in one
// Availability Zone (AWS's default per zone per Network Load Balancer) gets one warning at
// start-up naming the zone, the count and the fix, and the sync goes on.
func TestStartUpWarnsAboutTheZoneQuota(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	rc := rest.CopyConfig(kube.Config)
	rc.QPS, rc.Burst = 500, 1000
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]int{"us-east-1a": 501, "us-east-1b": 3}
	var nodes []string // zone of each node
	for _, zone := range slices.Sorted(maps.Keys(zones)) {
		for range zones[zone] {
			nodes = append(nodes, zone)
		}
	}
	err = testenv.Parallel(len(nodes), 8, func(k int) error {
		return testenv.CreateNode(f.ctx, client, fmt.Sprintf("z%d", k), fmt.Sprintf("10.0.%d.%d", 100+k/250, k%250+1),
			func(n *corev1.Node) { n.Labels[corev1.LabelTopologyZone] = nodes[k] })
	})
	if err != nil {
		t.Fatal(err)
	}
	p := f.start("--log-format", "json")
	eventually(t, time.Minute, "all 504 nodes registered", func() (bool, string) {
		got, err := f.aws.Targets(f.ctx, f.nlb.TargetGroupARN)
		return err == nil && len(got) == 504, fmt.Sprint(len(got), " targets, err ", err)
	})
	var warned []map[string]any
	for l := range strings.SplitSeq(p.Output(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(l), &e) == nil && strings.HasPrefix(fmt.Sprint(e["msg"]), "more targets in one Availability Zone") {
			warned = append(warned, e)
		}
	}
	if len(warned) != 1 || warned[0]["zone"] != "us-east-1a" || warned[0]["desiredTargets"] != float64(501) ||
		warned[0]["zoneQuota"] != float64(500) || !strings.Contains(fmt.Sprint(warned[0]["fix"]), "--targets=ingress-nodes") {
		t.Errorf("zone warnings = %v, want one for us-east-1a naming 501 of 500 and the fix\n%s", warned, p.Output())
	}
}
