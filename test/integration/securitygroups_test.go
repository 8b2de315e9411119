package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/targetsync/targetsync/internal/testenv"
)

var ec2Actions = []string{"DescribeSecurityGroups", "DescribeSecurityGroupRules", "DescribeVpcs",
	"DescribeNetworkInterfaces", "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"}

func (f *fixture) securityGroup() string {
	f.t.Helper()
	out, err := f.aws.EC2.CreateSecurityGroup(f.ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("workers"), Description: aws.String("worker nodes"), VpcId: aws.String(f.nlb.VpcID),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return aws.ToString(out.GroupId)
}

// ingressRules lists the group's ingress rules as "proto from-to cidr [description]", sorted.
func (f *fixture) ingressRules(group string) []string {
	f.t.Helper()
	out, err := f.aws.EC2.DescribeSecurityGroupRules(f.ctx, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{group}}},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	var rules []string
	for _, r := range out.SecurityGroupRules {
		if aws.ToBool(r.IsEgress) {
			continue
		}
		rule := fmt.Sprintf("%s %d-%d %s", aws.ToString(r.IpProtocol), aws.ToInt32(r.FromPort), aws.ToInt32(r.ToPort), aws.ToString(r.CidrIpv4))
		if d := aws.ToString(r.Description); d != "" {
			rule += " " + d
		}
		rules = append(rules, rule)
	}
	slices.Sort(rules)
	return rules
}

// ours is the ingress rule targetsync opens on port from the VPC, as ingressRules lists it: every
// binding of the cluster shares it, and its description says so.
func ours(port int) string {
	return fmt.Sprintf("tcp %d-%d 10.0.0.0/16 targetsync:%s/shared", port, port, clusterName)
}

// waitRulePorts waits until the group's ingress rules open exactly ports from the VPC, whatever
// their descriptions.
func (f *fixture) waitRulePorts(group string, ports ...int) {
	f.t.Helper()
	var want []string
	for _, p := range ports {
		want = append(want, fmt.Sprintf("tcp %d-%d 10.0.0.0/16", p, p))
	}
	slices.Sort(want)
	eventually(f.t, 30*time.Second, fmt.Sprintf("rules on %v", ports), func() (bool, string) {
		var got []string
		for _, r := range f.ingressRules(group) {
			fields := strings.Fields(r)
			got = append(got, strings.Join(fields[:min(3, len(fields))], " "))
		}
		slices.Sort(got)
		return slices.Equal(got, want), fmt.Sprint(got)
	})
}

func (f *fixture) waitRules(group string, want ...string) {
	f.t.Helper()
	slices.Sort(want)
	eventually(f.t, 30*time.Second, fmt.Sprintf("rules %v", want), func() (bool, string) {
		got := f.ingressRules(group)
		return slices.Equal(got, want), fmt.Sprint(got)
	})
}

func TestSecurityGroupIsOpenedOnTheNodePortsInUse(t *testing.T) {
	f := newFixture(t)
	svc := f.ingress(30080)
	if _, err := kube.Client.CoreV1().Services(f.ns).Create(f.ctx, testenv.HealthCheckService(f.ns, 30200), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	group := f.securityGroup()
	f.node("w1", "10.0.1.151")
	f.start("--security-group-id", group,
		"--health-check-service", f.ns+"/ingress-nginx-healthcheck", "--health-check-service-port", "healthz")

	f.waitRules(group, ours(30080), ours(30200))
	f.waitTargets(testenv.Expect(30080, "10.0.1.151"))

	// The NodePort moves: the new port is opened and the old one, ours, is closed.
	f.setNodePort(svc.Name, 30081)
	f.waitRules(group, ours(30081), ours(30200))
	f.waitTargets(testenv.Expect(30081, "10.0.1.151"))
	if n := proxy.Count("AuthorizeSecurityGroupIngress"); n == 0 {
		t.Errorf("calls = %v, want AuthorizeSecurityGroupIngress", proxy.Counts())
	}

	code, out, errOut := testenv.Exec(f.ctx, f.args("plan", "--security-group-id", group,
		"--health-check-service", f.ns+"/ingress-nginx-healthcheck", "--health-check-service-port", "healthz")...)
	if code != 0 || !strings.Contains(out, "web-http: in sync, 1 targets on port 30081") || !strings.Contains(out, "security groups: in sync, 1 groups") {
		t.Errorf("plan after convergence exited %d:\n%s\n%s", code, out, errOut)
	}
}

func TestSecurityGroupRuleNotNeededIsShownByPlan(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	group := f.securityGroup()
	f.node("w1", "10.0.1.161")
	code, out, errOut := testenv.Exec(f.ctx, f.args("plan", "--security-group-id", group, "--source", "cidr:10.0.0.0/16")...)
	if code != 2 {
		t.Fatalf("plan exited %d, want 2\n%s\n%s", code, out, errOut)
	}
	t.Logf("plan output:\n%s", out)
	// The rule serves every binding: its row says (all) where a target group would be.
	row := regexp.MustCompile(`(?m)^\(all\)\s+authorize\s+tcp 30080 from 10\.0\.0\.0/16\s+` + regexp.QuoteMeta(group) + `\s+NodePort in use$`)
	if !row.MatchString(out) || !strings.Contains(out, "security groups: 1 rules to authorize, 0 to revoke") {
		t.Errorf("plan does not show the security-group change:\n%s", out)
	}
	if n := proxy.Mutations(); n != 0 {
		t.Errorf("plan made %d mutating calls", n)
	}
}

func TestSecurityGroupManagementOffMakesNoEC2Calls(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	f.node("w1", "10.0.1.171")
	p, addr := f.startMetered("--log-level", "info")
	f.waitTargets(testenv.Expect(30080, "10.0.1.171"))
	f.waitSettled(addr) // the registering sync and the one after it have ended
	for _, a := range ec2Actions {
		if n := proxy.Count(a); n != 0 {
			t.Errorf("%s called %d times with security-group management off", a, n)
		}
	}
	if !strings.Contains(p.Output(), "security-group management off") {
		t.Errorf("start-up does not say security-group management is off:\n%s", p.Output())
	}
}

func TestSecurityGroupSteadyStateResyncOnlyReads(t *testing.T) {
	f := newFixture(t)
	f.ingress(30080)
	group := f.securityGroup()
	f.node("w1", "10.0.1.201")
	_, addr := f.startMetered("--security-group-id", group, "--resync-period", "1s", "--min-sync-interval", "100ms")
	f.waitRules(group, ours(30080))
	f.waitTargets(testenv.Expect(30080, "10.0.1.201"))
	// Let the syncs that follow the changes find nothing to do, then count a few resyncs.
	f.waitSettled(addr)
	waitRulesSettled(t, addr)
	counts := func() (float64, float64) {
		m := scrape(t, addr)
		return syncs(m, "web-http"), metricSum(m, "targetsync_security_group_syncs_total")
	}
	syncs0, reconciles0 := counts()
	proxy.ResetCounts()
	eventually(t, 30*time.Second, "three resyncs of each", func() (bool, string) {
		s, r := counts()
		return s >= syncs0+3 && r >= reconciles0+3, fmt.Sprintf("%v syncs, %v reconciles", s-syncs0, r-reconciles0)
	})
	c := proxy.Counts()
	syncs1, reconciles1 := counts()
	reconciles := int(reconciles1 - reconciles0)
	t.Logf("steady state: %d syncs and %d reconciles made %v", int(syncs1-syncs0), reconciles, c)
	// A reconcile reads the rules once (DescribeSecurityGroupRules); the group's ownership
	// tags, the VPC's CIDRs and the sources are reused for minutes, so a resync reads nothing
	// else from EC2. Allow one reconcile in flight at the end of the window.
	for _, a := range ec2Actions {
		want := 0
		if a == "DescribeSecurityGroupRules" {
			want = reconciles + 1
		}
		if c[a] > want {
			t.Errorf("%s called %d times in %d reconciles, want at most %d", a, c[a], reconciles, want)
		}
	}
	if c["DescribeSecurityGroupRules"] < reconciles-1 {
		t.Errorf("DescribeSecurityGroupRules called %d times in %d reconciles: the rules are not being read", c["DescribeSecurityGroupRules"], reconciles)
	}
	if n := proxy.Mutations(); n != 0 || writes() != 0 {
		t.Errorf("steady state made %d mutating calls: %v", n, c)
	}
}

// Bindings that share a worker security group share its rules: one reconcile over the union of
// their ports, each rule marked targetsync:<cluster>/shared. A binding removed from the config
// takes its port's rule with it at the next start. Before the change (f3af150) each binding
// owned its own rules (targetsync:<cluster>/<binding>), so the descriptions differ, and a
// removed binding's rules were nobody's to revoke and stayed for ever.
func TestBindingsSharingASecurityGroupShareItsRules(t *testing.T) {
	f := newFixture(t)
	svc := testenv.IngressService(f.ns, 30080)
	svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: "https", Port: 443, TargetPort: intstr.FromString("https"), NodePort: 30443, Protocol: corev1.ProtocolTCP})
	if _, err := kube.Client.CoreV1().Services(f.ns).Create(f.ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	https, err := f.aws.CreateTargetGroup(f.ctx, "web-https", f.nlb.VpcID, 30443)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.aws.ELB.CreateListener(f.ctx, &elbv2.CreateListenerInput{
		LoadBalancerArn: aws.String(f.nlb.LoadBalancerARN), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(443),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(https)}},
	}); err != nil {
		t.Fatal(err)
	}
	group := f.securityGroup()
	f.node("w1", "10.0.1.211")

	file := filepath.Join(t.TempDir(), "targetsync.yaml")
	write := func(bindings ...[2]string) {
		cfg := fmt.Sprintf("apiVersion: targetsync.io/v1alpha1\nkind: Config\nkubeconfig: %s\nclusterName: %s\nmetricsBindAddress: \"0\"\nhealthProbeBindAddress: \"0\"\nlogLevel: warn\nbindings:\n",
			kube.Kubeconfig, clusterName)
		for _, b := range bindings {
			cfg += fmt.Sprintf("  - bindingName: %s\n    targetGroupArn: %s\n    service: %s/ingress-nginx-controller\n    servicePort: %s\n", b[0], b[1], f.ns, b[0])
		}
		if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func() *testenv.Process {
		return testenv.Start("run", "--config", file, "--security-group-id", group, "--resync-period", "2s", "--min-sync-interval", "100ms")
	}
	write([2]string{"http", f.nlb.TargetGroupARN}, [2]string{"https", https})
	p := run()
	f.waitRulePorts(group, 30080, 30443)
	if got, want := f.ingressRules(group), []string{ours(30080), ours(30443)}; !slices.Equal(got, want) {
		t.Errorf("rules = %v, want %v: one shared rule per port", got, want)
	}
	f.waitTargets(testenv.Expect(30080, "10.0.1.211"))
	eventually(t, 30*time.Second, "https targets", func() (bool, string) {
		got, err := f.aws.Targets(f.ctx, https)
		return err == nil && slices.Equal(got, testenv.Expect(30443, "10.0.1.211")), fmt.Sprint(got, err)
	})
	if code := p.Stop(); code != 0 {
		t.Fatalf("run with two bindings exited %d:\n%s", code, p.Output())
	}

	// The https binding goes: plan shows its rule to revoke, for every binding ((all)), ...
	write([2]string{"http", f.nlb.TargetGroupARN})
	code, out, errOut := testenv.Exec(f.ctx, "plan", "--config", file, "--security-group-id", group)
	row := regexp.MustCompile(`(?m)^\(all\)\s+revoke\s+tcp 30443 from 10\.0\.0\.0/16\s+` + regexp.QuoteMeta(group) + `\s+NodePort no longer in use$`)
	if code != 2 || !row.MatchString(out) || !strings.Contains(out, "security groups: 0 rules to authorize, 1 to revoke") {
		t.Errorf("plan after removing a binding exited %d, want 2 and the revoke row:\n%s\n%s", code, out, errOut)
	}
	// ... and run revokes it, keeping the rule the remaining binding needs.
	proxy.ResetCounts()
	p = run()
	t.Cleanup(func() {
		if code := p.Stop(); code != 0 {
			t.Errorf("run with one binding exited %d:\n%s", code, p.Output())
		}
	})
	f.waitRulePorts(group, 30080)
	if got, want := f.ingressRules(group), []string{ours(30080)}; !slices.Equal(got, want) {
		t.Errorf("rules = %v, want %v", got, want)
	}
	if n := proxy.Count("RevokeSecurityGroupIngress"); n == 0 {
		t.Errorf("calls = %v, want RevokeSecurityGroupIngress", proxy.Counts())
	}
}
