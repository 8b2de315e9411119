package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/targetsync/targetsync/internal/testenv"
)

func (f *fixture) ingress(nodePort int32) *corev1.Service {
	f.t.Helper()
	svc, err := kube.Client.CoreV1().Services(f.ns).Create(f.ctx, testenv.IngressService(f.ns, nodePort), metav1.CreateOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return svc
}

// setNodePort changes the NodePort of the Service's first port, as recreating it would.
func (f *fixture) setNodePort(name string, port int32) {
	f.t.Helper()
	svc, err := kube.Client.CoreV1().Services(f.ns).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	svc.Spec.Ports[0].NodePort = port
	if _, err := kube.Client.CoreV1().Services(f.ns).Update(f.ctx, svc, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) patchNode(name, patch string) {
	f.t.Helper()
	if _, err := kube.Client.CoreV1().Nodes().Patch(f.ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

func TestWorkersAreRegisteredOnTheTrafficNodePort(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("worker-1", "10.0.1.11")
	f.node("worker-2", "10.0.2.12")
	f.node("control-plane", "10.0.1.5", testenv.ControlPlane)
	f.node("ipv6-only", "fd00::7")
	f.start()

	f.waitTargets(testenv.Expect(30080, "10.0.1.11", "10.0.2.12"))

	f.node("worker-3", "10.0.1.13")
	f.waitTargets(testenv.Expect(30080, "10.0.1.11", "10.0.1.13", "10.0.2.12"))
}

func TestIneligibleNodesAreDeregistered(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *fixture)
	}{
		{"deleted", func(f *fixture) {
			if err := kube.Client.CoreV1().Nodes().Delete(f.ctx, "leaving", metav1.DeleteOptions{}); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"cordoned", func(f *fixture) { f.patchNode("leaving", `{"spec":{"unschedulable":true}}`) }},
		{"excluded by label", func(f *fixture) {
			f.patchNode("leaving", `{"metadata":{"labels":{"node.kubernetes.io/exclude-from-external-load-balancers":"true"}}}`)
		}},
		{"tainted for deletion by the cluster autoscaler", func(f *fixture) {
			f.patchNode("leaving", `{"spec":{"taints":[{"key":"ToBeDeletedByClusterAutoscaler","value":"1700000000","effect":"NoSchedule"}]}}`)
		}},
		{"tainted disrupted by karpenter", func(f *fixture) {
			f.patchNode("leaving", `{"spec":{"taints":[{"key":"karpenter.sh/disrupted","effect":"NoSchedule"}]}}`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.ingress(30080)
			f.node("staying", "10.0.1.21")
			f.node("leaving", "10.0.1.22")
			var extra []string
			if tt.name != "deleted" {
				// Taking one of two healthy targets out is below the capacity guard's floor, so
				// the guard would defer it for good; these cases are about which nodes are
				// eligible, not about the guard. A deleted node is exempt from the guard, so
				// that case runs with the default guard on and proves the exemption too.
				extra = []string{"--max-deregister-fraction", "1"}
			}
			f.start(extra...)
			f.waitTargets(testenv.Expect(30080, "10.0.1.21", "10.0.1.22"))

			tt.change(f)
			f.waitTargets(testenv.Expect(30080, "10.0.1.21"))
		})
	}
}

func TestNotReadyNodesStayRegisteredByDefault(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("ready", "10.0.1.31")
	f.node("not-ready", "10.0.1.32", testenv.NotReady)
	f.start()
	f.waitTargets(testenv.Expect(30080, "10.0.1.31", "10.0.1.32"))
}

func TestMassNotReadyNeverEmptiesTheTargetGroup(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("a", "10.0.1.41")
	f.node("b", "10.0.1.42")
	p := f.start("--not-ready", "remove", "--resync-period", "2s", "--min-sync-interval", "100ms")
	f.waitTargets(testenv.Expect(30080, "10.0.1.41", "10.0.1.42"))

	for _, n := range []string{"a", "b"} {
		node, err := kube.Client.CoreV1().Nodes().Get(f.ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown"}}
		if _, err := kube.Client.CoreV1().Nodes().UpdateStatus(f.ctx, node, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The controller must see the change and refuse the plan, not merely miss it.
	eventually(t, 30*time.Second, "refusal logged", func() (bool, string) {
		return strings.Contains(p.Output(), "sync refused"), p.Output()
	})
	got, err := f.aws.Targets(f.ctx, f.nlb.TargetGroupARN)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("targets after every node went NotReady = %v, want both kept", got)
	}
	if n := proxy.Count("DeregisterTargets"); n != 0 {
		t.Errorf("DeregisterTargets called %d times, want 0", n)
	}
}

func TestNodePortChangeMovesTargetsMakeBeforeBreak(t *testing.T) {
	f := newFixture(t)
	svc := f.ingress(30080)
	f.node("w1", "10.0.1.51")
	f.node("w2", "10.0.1.52")
	f.start()
	f.waitTargets(testenv.Expect(30080, "10.0.1.51", "10.0.1.52"))
	proxy.ResetCounts()

	f.setNodePort(svc.Name, 30081)
	// moto keys targets by Id alone, so deregistering ip:30080 also drops ip:30081 there; the
	// verification sync registers them again. On AWS the first sync is final.
	f.waitTargets(testenv.Expect(30081, "10.0.1.51", "10.0.1.52"))
	// moto shows the new port as soon as it is registered, so the deregistration of the old one
	// may still be on its way.
	eventually(t, 30*time.Second, "RegisterTargets and DeregisterTargets", func() (bool, string) {
		return proxy.Count("RegisterTargets") > 0 && proxy.Count("DeregisterTargets") > 0, fmt.Sprint(proxy.Counts())
	})
}

func TestHealthCheckPortFollowsTheHealthCheckService(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	hc, err := kube.Client.CoreV1().Services(f.ns).Create(f.ctx, testenv.HealthCheckService(f.ns, 30200), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.node("w1", "10.0.1.61")
	f.start("--health-check-service", f.ns+"/ingress-nginx-healthcheck", "--health-check-service-port", "healthz")

	waitHC := func(want string) {
		eventually(t, 30*time.Second, "health check port "+want, func() (bool, string) {
			got, err := f.aws.HealthCheckPort(f.ctx, f.nlb.TargetGroupARN)
			return err == nil && got == want, got
		})
	}
	waitHC("30200")

	f.setNodePort(hc.Name, 30201)
	waitHC("30201")
	f.waitTargets(testenv.Expect(30080, "10.0.1.61"))
}

func TestHealthCheckPortFollowsHealthCheckNodePortWithLocalTrafficPolicy(t *testing.T) {
	f := newFixture(t)
	svc := testenv.IngressService(f.ns, 30080)
	svc.Spec.Type = corev1.ServiceTypeLoadBalancer
	svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	svc.Spec.HealthCheckNodePort = 30210
	if _, err := kube.Client.CoreV1().Services(f.ns).Create(f.ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.node("w1", "10.0.1.62")
	f.start()
	eventually(t, 30*time.Second, "health check port 30210", func() (bool, string) {
		got, err := f.aws.HealthCheckPort(f.ctx, f.nlb.TargetGroupARN)
		return err == nil && got == "30210", got
	})
}

func TestDriftMadeByHandIsCorrectedWithinAResync(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.71")
	f.node("w2", "10.0.1.72")
	f.start("--resync-period", "2s", "--min-sync-interval", "100ms")
	f.waitTargets(testenv.Expect(30080, "10.0.1.71", "10.0.1.72"))

	if err := f.aws.Deregister(f.ctx, f.nlb.TargetGroupARN, "10.0.1.71", 30080); err != nil {
		t.Fatal(err)
	}
	if err := f.aws.Register(f.ctx, f.nlb.TargetGroupARN, "10.0.9.9", 30080); err != nil {
		t.Fatal(err)
	}
	f.waitTargets(testenv.Expect(30080, "10.0.1.71", "10.0.1.72"))
}

func TestRestartInSyncMakesNoMutatingCalls(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.81")
	f.node("w2", "10.0.1.82")
	firstAddr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	first := testenv.Start(f.args("run", "--min-sync-interval", "50ms", "--metrics-bind-address", firstAddr)...)
	f.waitTargets(testenv.Expect(30080, "10.0.1.81", "10.0.1.82"))
	// Wait for the verification sync that follows a change to find nothing to do, then stop.
	f.waitSettled(firstAddr)
	if code := first.Stop(); code != 0 {
		t.Fatalf("first run exited %d: %s", code, first.Output())
	}

	proxy.ResetCounts()
	_, addr := f.startMetered("--resync-period", "1s", "--min-sync-interval", "100ms")
	// The start-up sync and the resync after it have both ended: anything they were going to
	// write has reached the proxy.
	f.waitSyncs(addr, 2)
	if n := metric(scrape(t, addr), "targetsync_syncs_total", `result="success"`, `target_group="web-http"`); n < 2 {
		t.Fatalf("successful syncs after restart = %v, want >= 2: a failing sync writes nothing either", n)
	}
	if n := writes(); n != 0 || proxy.Mutations() != 0 {
		t.Errorf("restart with everything in sync made %d mutating calls: %v", n, proxy.Counts())
	}
}

// A health-check Service that goes away leaves the health check as it is, and the target group
// still follows the nodes. Before the change (f3af150) a missing health-check Service failed
// the whole snapshot: every sync was refused (Event SyncRefused, "service not found"), so w2
// was never registered and the test times out waiting for it.
func TestMissingHealthCheckServiceDoesNotBlockTargetChanges(t *testing.T) {
	f := newFixture(t)
	svc := f.ingress(30080)
	hc, err := kube.Client.CoreV1().Services(f.ns).Create(f.ctx, testenv.HealthCheckService(f.ns, 30230), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.node("w1", "10.0.1.86")
	// Start-up requires the health-check Service; it goes away afterwards.
	_, addr := f.startMetered("--health-check-service", f.ns+"/ingress-nginx-healthcheck", "--health-check-service-port", "healthz")
	f.waitTargets(testenv.Expect(30080, "10.0.1.86"))
	f.waitHealthCheckPort("30230")
	f.waitSettled(addr) // the health-check tag is written too

	if err := kube.Client.CoreV1().Services(f.ns).Delete(f.ctx, hc.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Only a sync that saw the Service gone proves anything: wait for its Event, which names it.
	reason := f.waitEvent(svc.Name, "", hc.Name)
	if reason != "HealthCheckServiceMissing" {
		t.Errorf("Event naming the missing health-check Service has reason %s, want HealthCheckServiceMissing", reason)
	}
	proxy.ResetCounts()

	f.node("w2", "10.0.1.87")
	f.waitTargets(testenv.Expect(30080, "10.0.1.86", "10.0.1.87"))
	f.waitSettled(addr)
	if got, err := f.aws.HealthCheckPort(f.ctx, f.nlb.TargetGroupARN); err != nil || got != "30230" {
		t.Errorf("health-check port = %q, %v; want 30230 left as it was", got, err)
	}
	if n := proxy.Count("ModifyTargetGroup"); n != 0 {
		t.Errorf("ModifyTargetGroup called %d times while the health-check Service was missing", n)
	}
	if got := f.tags()[tagHealthCheckPort]; got != "30230" {
		t.Errorf("tag %s = %q, want 30230 left as it was", tagHealthCheckPort, got)
	}
}

// When the health check stops being managed (externalTrafficPolicy Local -> Cluster, no
// separate health-check Service), the port targetsync set is given back: nothing serves the
// healthCheckNodePort any more. Before the change (f3af150) a health check that was no longer
// wanted was left alone, on a port nobody answered, and the test times out waiting for
// traffic-port.
func TestHealthCheckIsGivenBackWhenNoLongerManaged(t *testing.T) {
	f := newFixture(t)
	svc := testenv.IngressService(f.ns, 30080)
	svc.Spec.Type = corev1.ServiceTypeLoadBalancer
	svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	svc.Spec.HealthCheckNodePort = 30240
	if _, err := kube.Client.CoreV1().Services(f.ns).Create(f.ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.node("w1", "10.0.1.88")
	_, addr := f.startMetered()
	f.waitHealthCheckPort("30240")
	// A port is given back only if targetsync recorded it as the one it set, which the sync
	// that set it does last.
	f.waitSettled(addr)
	if tags := f.tags(); tags[tagHealthCheckPort] != "30240" {
		t.Errorf("tags = %v, want %s=30240 recorded", tags, tagHealthCheckPort)
	}

	cur, err := kube.Client.CoreV1().Services(f.ns).Get(f.ctx, svc.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	cur.Spec.HealthCheckNodePort = 0
	if _, err := kube.Client.CoreV1().Services(f.ns).Update(f.ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.waitHealthCheckPort("traffic-port")
	eventually(t, 30*time.Second, "traffic-port recorded", func() (bool, string) {
		tags := f.tags()
		return tags[tagHealthCheckPort] == "traffic-port", fmt.Sprint(tags)
	})
	f.waitTargets(testenv.Expect(30080, "10.0.1.88"))
}

// waitHealthCheckPort waits until the target group's health-check port setting is want.
func (f *fixture) waitHealthCheckPort(want string) {
	f.t.Helper()
	eventually(f.t, 30*time.Second, "health check port "+want, func() (bool, string) {
		got, err := f.aws.HealthCheckPort(f.ctx, f.nlb.TargetGroupARN)
		return err == nil && got == want, got
	})
}

// tags reads the fixture's target group's tags from moto.
func (f *fixture) tags() map[string]string {
	f.t.Helper()
	out, err := f.aws.ELB.DescribeTags(f.ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{f.nlb.TargetGroupARN}})
	if err != nil {
		f.t.Fatal(err)
	}
	tags := map[string]string{}
	for _, d := range out.TagDescriptions {
		for _, tag := range d.Tags {
			tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
	}
	return tags
}

// waitEvent waits for an Event with reason (any, if empty) on the Service named service whose
// message contains text, and returns its reason.
func (f *fixture) waitEvent(service, reason, text string) string {
	f.t.Helper()
	var found string
	eventually(f.t, 30*time.Second, fmt.Sprintf("Event %s on %s naming %s", reason, service, text), func() (bool, string) {
		evs, err := kube.Client.CoreV1().Events(f.ns).List(f.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range evs.Items {
			if (reason == "" || e.Reason == reason) && e.InvolvedObject.Name == service && strings.Contains(e.Message, text) {
				found = e.Reason
				return true, ""
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		return false, fmt.Sprint(seen)
	})
	return found
}
