package integration

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/targetsync/targetsync/internal/testenv"
	"github.com/targetsync/targetsync/pkg/report"
)

// TestStatusShowsAWSAndTheClusterAndWritesNothing: three workers registered by run, then one
// cordoned and one failing its health check while nothing runs. status shows every target with
// its node, AWS state and reason and what the cluster wants, the health-check port on both
// sides, the last change from the Events and the Lease; it makes no AWS write. plan -o json and
// -o yaml show the same drift as data.
func TestStatusShowsAWSAndTheClusterAndWritesNothing(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	const hcPort = 30240
	if _, err := kube.Client.CoreV1().Services(f.ns).Create(f.ctx, testenv.HealthCheckService(f.ns, hcPort), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.node("worker-1", "10.0.1.201")
	f.node("worker-2", "10.0.1.202")
	f.node("worker-3", "10.0.1.203")
	// run keeps the health check on traffic-port (it is not told about the health-check
	// Service), so status and plan below find AWS and the cluster apart.
	p := f.start("--leader-elect", "--leader-election-namespace", f.ns)
	f.waitTargets(testenv.Expect(30080, "10.0.1.201", "10.0.1.202", "10.0.1.203"))

	hcFlags := []string{"--health-check-service", f.ns + "/ingress-nginx-healthcheck", "--health-check-service-port", "healthz"}
	status := f.args("status", append(hcFlags, "--leader-election-namespace", f.ns)...)
	lastChange := regexp.MustCompile(`(?m)^web-http: last change \S+Z \(\S+ ago\): TargetsRegistered: Registered \d+ targets in target group web-http$`)
	leading := regexp.MustCompile(`(?m)^leader: Lease ` + f.ns + `/targetsync held by \S+, renewed \S+Z \(\S+ ago\)$`)
	eventually(t, 30*time.Second, "status shows the leader and the registration's Event", func() (bool, string) {
		code, out, errOut := testenv.Exec(f.ctx, status...)
		return code == 0 && lastChange.MatchString(out) && leading.MatchString(out), fmt.Sprintf("exit %d\n%s%s", code, out, errOut)
	})
	if code := p.Stop(); code != 0 {
		t.Fatalf("run exited %d:\n%s", code, p.Output())
	}

	f.patchNode("worker-3", `{"spec":{"unschedulable":true}}`)
	proxy.SetHealth("10.0.1.202", "unhealthy")
	t.Cleanup(func() { proxy.SetHealth("10.0.1.202", "") })
	proxy.ResetCounts()

	code, out, errOut := testenv.Exec(f.ctx, status...)
	t.Logf("status:\n%s", out)
	if code != 0 {
		t.Fatalf("status exited %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		`^TARGET GROUP\s+TARGET\s+NODE/GROUP\s+AWS\s+CLUSTER$`,
		`^web-http\s+10\.0\.1\.201:30080\s+worker-1\s+healthy\s+wanted$`,
		`^web-http\s+10\.0\.1\.202:30080\s+worker-2\s+unhealthy \(Target\.ResponseCodeMismatch\)\s+wanted$`,
		`^web-http\s+10\.0\.1\.203:30080\s+worker-3\s+healthy\s+not wanted: cordoned$`,
		fmt.Sprintf(`^web-http\s+health-check port\s+-\s+traffic-port\s+%d$`, hcPort),
		`^web-http: ` + regexp.QuoteMeta(f.nlb.TargetGroupARN) + `, 3 registered \(2 healthy\), 2 wanted on NodePort 30080$`,
		lastChange.String(),
		// run released the Lease when it stopped.
		`^leader: Lease ` + f.ns + `/targetsync not held, released \S+Z`,
	} {
		if !regexp.MustCompile("(?m)" + want).MatchString(out) {
			t.Errorf("status output lacks %s", want)
		}
	}
	if n := writes(); n != 0 {
		t.Errorf("status made %d mutating AWS calls: %v", n, proxy.Counts())
	}
	if proxy.Count("DescribeTargetHealth") == 0 || proxy.Count("DescribeTags") == 0 {
		t.Errorf("status did not read the target group: %v", proxy.Counts())
	}

	// The same as data.
	code, out, errOut = testenv.Exec(f.ctx, append(status, "-o", "json")...)
	if code != 0 {
		t.Fatalf("status -o json exited %d\n%s\n%s", code, out, errOut)
	}
	var s report.Status
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, out)
	}
	wantTargets := []report.TargetStatus{
		{IP: "10.0.1.201", Port: 30080, Node: "worker-1", Registered: true, State: "healthy", Wanted: true},
		{IP: "10.0.1.202", Port: 30080, Node: "worker-2", Registered: true, State: "unhealthy", Reason: "Target.ResponseCodeMismatch", Wanted: true},
		{IP: "10.0.1.203", Port: 30080, Node: "worker-3", Registered: true, State: "healthy", Why: "cordoned"},
	}
	if len(s.Bindings) != 1 || len(s.Errors) != 0 {
		t.Fatalf("status -o json: %d bindings, errors %v", len(s.Bindings), s.Errors)
	}
	b := s.Bindings[0]
	if d := cmp.Diff(wantTargets, b.Targets); d != "" {
		t.Errorf("status -o json targets (-want +got):\n%s", d)
	}
	if hc := b.HealthCheck; hc == nil || hc.Port != "traffic-port" || hc.ClusterPort != fmt.Sprint(hcPort) || hc.Path != "/healthz" {
		t.Errorf("status -o json health check: %+v", hc)
	}
	if b.LastChange == nil || b.LastChange.Reason != "TargetsRegistered" || s.Leader.Held || !s.Leader.Found {
		t.Errorf("status -o json: last change %+v, leader %+v", b.LastChange, s.Leader)
	}

	// The health-check Service is missing: its port is unknown, which is no error.
	code, out, errOut = testenv.Exec(f.ctx, f.args("status", "--health-check-service", f.ns+"/nope", "--health-check-service-port", "healthz")...)
	if code != 0 || !regexp.MustCompile(`(?m)^web-http\s+health-check port\s+-\s+traffic-port\s+unknown$`).MatchString(out) ||
		!strings.Contains(out, "web-http: health-check port unknown, left as it is: service "+f.ns+"/nope port healthz: service not found") {
		t.Errorf("status with the health-check Service missing exited %d, want 0 and the port unknown\n%s\n%s", code, out, errOut)
	}
	// The Service is missing: AWS's side is still shown, and status exits 1.
	code, out, errOut = testenv.Exec(f.ctx, f.argsWith("status", "--service", f.ns+"/nope")...)
	if code != 1 || !strings.Contains(errOut, "targetsync status: binding http: service "+f.ns+"/nope port http: service not found") ||
		!regexp.MustCompile(`(?m)^web-http\s+10\.0\.1\.203:30080\s+-\s+healthy\s+unknown$`).MatchString(out) {
		t.Errorf("status with the Service missing exited %d, want 1, the error and AWS's targets\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if n := writes(); n != 0 {
		t.Errorf("status made %d mutating AWS calls: %v", n, proxy.Counts())
	}

	// plan -o json: the health check would change; the cordoned node's deregistration waits,
	// since it would take the healthy targets below the guard's floor (2 of 2 healthy).
	code, out, errOut = testenv.Exec(f.ctx, f.args("plan", append(hcFlags, "-o", "json")...)...)
	if code != 2 {
		t.Fatalf("plan -o json exited %d, want 2 (drift)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	var plan report.Plan
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("plan -o json: %v\n%s", err, out)
	}
	want := report.Plan{
		APIVersion: "targetsync.io/v1", Kind: "Plan", InSync: false,
		Bindings: []report.PlanBinding{{
			Binding:     "http",
			TargetGroup: report.TargetGroup{Name: "web-http", ARN: f.nlb.TargetGroupARN},
			TrafficPort: 30080, DesiredTargets: 2,
			Changes: []report.Change{{
				Action: "health-check", Target: fmt.Sprintf("HTTP:%d/healthz", hcPort), Why: "was traffic-port",
				HealthCheck: &report.HealthCheckChange{
					From: report.HealthCheck{Protocol: "HTTP", Port: "traffic-port", Path: "/healthz"},
					To:   report.HealthCheck{Protocol: "HTTP", Port: fmt.Sprint(hcPort), Path: "/healthz"},
				},
			}},
			Waiting: []report.Change{{
				Action: "deregister", Target: "10.0.1.203:30080", IP: "10.0.1.203", Port: 30080, Node: "worker-3",
				Why: "cordoned; deferred: capacity guard keeps 2 healthy of 2", WaitsFor: "capacityGuard",
			}},
			Summary: report.Summary{HealthCheck: true, Waiting: 1},
		}},
	}
	if d := cmp.Diff(want, plan); d != "" {
		t.Errorf("plan -o json (-want +got):\n%s", d)
	}
	code, out, errOut = testenv.Exec(f.ctx, f.args("plan", append(hcFlags, "-o", "yaml")...)...)
	var fromYAML report.Plan
	if err := yaml.UnmarshalStrict([]byte(out), &fromYAML); code != 2 || err != nil {
		t.Fatalf("plan -o yaml exited %d, %v\n%s\n%s", code, err, out, errOut)
	}
	if d := cmp.Diff(plan, fromYAML); d != "" {
		t.Errorf("plan -o yaml differs from -o json (-json +yaml):\n%s", d)
	}
	if n := writes(); n != 0 {
		t.Errorf("plan made %d mutating AWS calls: %v", n, proxy.Counts())
	}
}

// TestStatusListsTheRulesTargetsyncOwns: run opened the worker group on the NodePort; status
// lists that rule with the binding using it, counts the group's other rules, and once the
// NodePort moved shows the rule unused and the target on the old port unwanted. No AWS write.
func TestStatusListsTheRulesTargetsyncOwns(t *testing.T) {
	f := newFixture(t)
	svc := f.ingress(30080)
	group := f.securityGroup()
	if _, err := f.aws.EC2.AuthorizeSecurityGroupIngress(f.ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(group), IpPermissions: []ec2types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/16"), Description: aws.String("ssh")}},
		}},
	}); err != nil {
		t.Fatal(err)
	}
	f.node("w1", "10.0.1.211")
	p := f.start("--security-group-id", group)
	f.waitRules(group, ours(30080), "tcp 22-22 10.0.0.0/16 ssh")
	f.waitTargets(testenv.Expect(30080, "10.0.1.211"))
	if code := p.Stop(); code != 0 {
		t.Fatalf("run exited %d:\n%s", code, p.Output())
	}
	proxy.ResetCounts()

	status := f.args("status", "--security-group-id", group)
	code, out, errOut := testenv.Exec(f.ctx, status...)
	t.Logf("status:\n%s", out)
	rule := `^\(all\)\s+tcp 30080 from 10\.0\.0\.0/16\s+` + group + `\s+sgr-\S+\s+`
	for _, want := range []string{
		rule + `in use: http$`,
		`^security groups: ` + group + ` 1 rules of targetsync, 1 others$`,
	} {
		if !regexp.MustCompile("(?m)" + want).MatchString(out) {
			t.Errorf("status output lacks %s", want)
		}
	}
	if code != 0 {
		t.Errorf("status exited %d, want 0\n%s", code, errOut)
	}

	f.setNodePort(svc.Name, 30081)
	code, out, errOut = testenv.Exec(f.ctx, status...)
	t.Logf("status after the NodePort moved:\n%s", out)
	for _, want := range []string{
		rule + `not in use$`,
		`^web-http\s+10\.0\.1\.211:30080\s+w1\s+healthy\s+not wanted: NodePort is now 30081$`,
		`^web-http\s+10\.0\.1\.211:30081\s+w1\s+not registered\s+wanted$`,
	} {
		if !regexp.MustCompile("(?m)" + want).MatchString(out) {
			t.Errorf("status output lacks %s", want)
		}
	}
	if code != 0 {
		t.Errorf("status exited %d, want 0\n%s", code, errOut)
	}
	if n := writes(); n != 0 {
		t.Errorf("status made %d mutating AWS calls: %v", n, proxy.Counts())
	}
	if proxy.Count("DescribeSecurityGroupRules") == 0 {
		t.Errorf("status did not read the rules: %v", proxy.Counts())
	}
}
