package integration

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
		rules = append(rules, fmt.Sprintf("%s %d-%d %s", aws.ToString(r.IpProtocol), aws.ToInt32(r.FromPort), aws.ToInt32(r.ToPort), aws.ToString(r.CidrIpv4)))
	}
	slices.Sort(rules)
	return rules
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

	f.waitRules(group, "tcp 30080-30080 10.0.0.0/16", "tcp 30200-30200 10.0.0.0/16")
	f.waitTargets(testenv.Expect(30080, "10.0.1.151"))

	// The NodePort moves: the new port is opened and the old one, ours, is closed.
	f.setNodePort(svc.Name, 30081)
	f.waitRules(group, "tcp 30081-30081 10.0.0.0/16", "tcp 30200-30200 10.0.0.0/16")
	f.waitTargets(testenv.Expect(30081, "10.0.1.151"))
	if n := proxy.Count("AuthorizeSecurityGroupIngress"); n == 0 {
		t.Errorf("calls = %v, want AuthorizeSecurityGroupIngress", proxy.Counts())
	}

	code, out, errOut := testenv.Exec(f.ctx, f.args("plan", "--security-group-id", group,
		"--health-check-service", f.ns+"/ingress-nginx-healthcheck", "--health-check-service-port", "healthz")...)
	if code != 0 || !strings.Contains(out, "in sync") {
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
	if !strings.Contains(out, "authorize") || !strings.Contains(out, group) || !strings.Contains(out, "1 security group rules to authorize") {
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
	p := f.start("--log-level", "info")
	f.waitTargets(testenv.Expect(30080, "10.0.1.171"))
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
	f.start("--security-group-id", group, "--resync-period", "1s", "--min-sync-interval", "100ms")
	f.waitRules(group, "tcp 30080-30080 10.0.0.0/16")
	f.waitTargets(testenv.Expect(30080, "10.0.1.201"))
	// Let the verification sync after the changes pass, then count a few resyncs.
	eventually(t, 30*time.Second, "a quiet resync", func() (bool, string) {
		proxy.ResetCounts()
		before := proxy.Count("DescribeTargetHealth")
		eventually(t, 10*time.Second, "next resync", func() (bool, string) {
			return proxy.Count("DescribeTargetHealth") > before, fmt.Sprint(proxy.Counts())
		})
		return proxy.Mutations() == 0, fmt.Sprint(proxy.Counts())
	})
	proxy.ResetCounts()
	eventually(t, 30*time.Second, "three resyncs", func() (bool, string) {
		return proxy.Count("DescribeTargetHealth") >= 3, fmt.Sprint(proxy.Counts())
	})
	c := proxy.Counts()
	syncs := c["DescribeTargetHealth"]
	ec2Calls := 0
	for _, a := range ec2Actions {
		ec2Calls += c[a]
	}
	t.Logf("steady state: %d syncs made %v", syncs, c)
	// Per sync: DescribeVpcs (vpc-cidr source) and DescribeSecurityGroupRules; group IDs given,
	// so no DescribeSecurityGroups. Allow one sync in flight at either end of the window.
	if ec2Calls > 2*(syncs+1) || c["DescribeSecurityGroups"] != 0 {
		t.Errorf("EC2 calls in steady state = %v for %d syncs, want 2 reads per sync", c, syncs)
	}
	if n := proxy.Mutations(); n != 0 {
		t.Errorf("steady state made %d mutating calls: %v", n, c)
	}
}
