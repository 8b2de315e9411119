package controller

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
	"github.com/targetsync/targetsync/pkg/report"
	"github.com/targetsync/targetsync/pkg/sg"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, d)
	}
}

const webHTTPARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-http/0123456789abcdef"

func tgt(ip string, port int32) elb.Target {
	return elb.Target{IP: netip.MustParseAddr(ip), Port: port}
}

func clusterNode(name, ip, reason string) informer.Node {
	return informer.Node{Name: name, IP: netip.MustParseAddr(ip), Reason: reason, Ready: true}
}

// knownPlan has a row of every kind the plan table prints: one binding with every change and
// every way of waiting, one that could not be planned, one in sync, and security-group rules to
// authorize and revoke.
func knownPlan() ([]Outcome, *RulesOutcome) {
	web := Outcome{
		Binding: Binding{Name: "http", TargetGroupARN: webHTTPARN},
		Snapshot: informer.Snapshot{
			TrafficPort: 30080, HealthCheckPort: 30200,
			Targets: []informer.Node{clusterNode("worker-2", "10.0.1.12", ""), clusterNode("worker-3", "10.0.1.13", ""), clusterNode("worker-5", "10.0.1.15", "")},
			Skipped: []informer.Node{clusterNode("worker-1", "10.0.1.9", informer.ReasonCordoned), clusterNode("worker-4", "10.0.1.4", informer.ReasonCordoned)},
		},
		Desired: []elb.Target{tgt("10.0.1.12", 30080), tgt("10.0.1.13", 30080), tgt("10.0.1.15", 30080)},
		Plan: elb.Plan{
			Register: []elb.Target{tgt("10.0.1.13", 30080)},
			HealthCheck: &elb.HealthCheckChange{
				From: elb.HealthCheck{Protocol: "HTTP", Path: "/healthz"},
				To:   elb.HealthCheck{Protocol: "HTTP", Port: 30200, Path: "/healthz"},
			},
			Deregister: []elb.Target{tgt("10.0.1.9", 30080), tgt("10.0.1.99", 30080)},
		},
		Capacity:  Guarded{Deferred: []elb.Target{tgt("10.0.1.4", 30080)}, Healthy: 8, High: 8, Floor: 8},
		Waiting:   []elb.Target{tgt("10.0.1.15", 30080)},
		OverQuota: []elb.Target{tgt("10.0.1.16", 30080)},
		Held:      []elb.Target{tgt("10.0.1.12", 30081)},
		Rejected:  []elb.Rejection{{Target: tgt("10.0.1.17", 30080), Code: "InvalidTarget", Message: "The following targets are not in a running state"}},
	}
	web.Capacity.Plan = web.Plan
	broken := Outcome{
		Binding: Binding{Name: "https", TargetGroupARN: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-https/fedcba9876543210"},
		Err: &informer.ServiceError{Problem: "service not found", Ref: informer.PortRef{
			Service: types.NamespacedName{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"}, Port: intstr.FromString("https"),
		}},
	}
	synced := Outcome{
		Binding:  Binding{Name: "api", TargetGroupARN: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/00112233aabbccdd"},
		Snapshot: informer.Snapshot{TrafficPort: 30090, Targets: []informer.Node{clusterNode("worker-2", "10.0.1.12", "")}},
		Desired:  []elb.Target{tgt("10.0.1.12", 30090)},
	}
	rules := &RulesOutcome{
		Complete: true,
		Groups:   []string{"sg-0123456789abcdef0"},
		Outcomes: []sg.Outcome{{
			Current: sg.Group{ID: "sg-0123456789abcdef0"},
			Plan: sg.Plan{
				SecurityGroupID: "sg-0123456789abcdef0",
				Authorize:       []sg.Rule{{Protocol: "tcp", FromPort: 30200, ToPort: 30200, CIDR: netip.MustParsePrefix("10.0.0.0/16")}},
				Revoke: []sg.Observed{{
					Rule: sg.Rule{Protocol: "tcp", FromPort: 30443, ToPort: 30443, CIDR: netip.MustParsePrefix("10.0.0.0/16")},
					ID:   "sgr-0aa11bb22cc33dd44", Description: "targetsync:prod/shared", Owned: true,
				}},
			},
		}},
	}
	return []Outcome{web, broken, synced}, rules
}

func TestPlanReportGolden(t *testing.T) {
	outcomes, rules := knownPlan()
	var table bytes.Buffer
	if err := WritePlan(&table, outcomes, rules); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.txt", table.Bytes())

	p := PlanReport(outcomes, rules)
	for _, f := range []string{report.FormatJSON, report.FormatYAML} {
		var b bytes.Buffer
		if err := report.Encode(&b, f, p); err != nil {
			t.Fatal(err)
		}
		golden(t, "plan."+f, b.Bytes())
		// Both formats read back into the same value.
		var back report.Plan
		if err := yaml.UnmarshalStrict(b.Bytes(), &back); err != nil {
			t.Fatalf("%s does not read back: %v", f, err)
		}
		if d := cmp.Diff(p, back); d != "" {
			t.Errorf("%s read back differs (-want +got):\n%s", f, d)
		}
	}
}

// TestPlanReportHasTheTableRows ties the two outputs together: every row of the table is one
// change or waiting item of the report, with the same words, and each summary line says what
// the report's numbers say.
func TestPlanReportHasTheTableRows(t *testing.T) {
	outcomes, rules := knownPlan()
	var table bytes.Buffer
	if err := WritePlan(&table, outcomes, rules); err != nil {
		t.Fatal(err)
	}
	rows, summaries, _ := strings.Cut(table.String(), "\n\n")
	var fromTable []string
	for _, line := range strings.Split(rows, "\n")[1:] {
		fromTable = append(fromTable, strings.Join(regexp.MustCompile(`\s{2,}`).Split(line, 5), "|"))
	}

	p := PlanReport(outcomes, rules)
	var fromReport []string
	for _, b := range p.Bindings {
		for _, c := range slices.Concat(b.Changes, b.Waiting) {
			node := c.Node
			if node == "" {
				node = "-"
			}
			fromReport = append(fromReport, strings.Join([]string{b.TargetGroup.Name, c.Action, c.Target, node, c.Why}, "|"))
		}
	}
	for _, c := range p.SecurityGroups.Changes {
		fromReport = append(fromReport, strings.Join([]string{"(all)", c.Action, c.Rule.Text, c.SecurityGroupID, c.Why}, "|"))
	}
	slices.Sort(fromTable)
	slices.Sort(fromReport)
	if d := cmp.Diff(fromTable, fromReport); d != "" {
		t.Errorf("table rows and report rows differ (-table +report):\n%s", d)
	}

	for _, b := range p.Bindings {
		var want string
		switch {
		case b.Error != "":
			want = fmt.Sprintf("%s: not planned: %s", b.TargetGroup.Name, b.Error)
		case b.InSync:
			want = fmt.Sprintf("%s: in sync, %d targets on port %d", b.TargetGroup.Name, b.DesiredTargets, b.TrafficPort)
		default:
			want = fmt.Sprintf("%s: %d to register, %d to deregister, health check to change, %d waiting",
				b.TargetGroup.Name, b.Summary.Register, b.Summary.Deregister, b.Summary.Waiting)
		}
		if !strings.Contains(summaries, want+"\n") {
			t.Errorf("table summaries lack %q:\n%s", want, summaries)
		}
	}
	want := fmt.Sprintf("security groups: %d rules to authorize, %d to revoke", p.SecurityGroups.Summary.Authorize, p.SecurityGroups.Summary.Revoke)
	if !strings.Contains(summaries, want) {
		t.Errorf("table summaries lack %q:\n%s", want, summaries)
	}
	if p.InSync || p.Bindings[0].InSync || p.Bindings[1].InSync || !p.Bindings[2].InSync || p.SecurityGroups.InSync {
		t.Errorf("inSync: plan %v, bindings %v %v %v, security groups %v; want only api in sync",
			p.InSync, p.Bindings[0].InSync, p.Bindings[1].InSync, p.Bindings[2].InSync, p.SecurityGroups.InSync)
	}
}

func TestPlanReportInSyncHasEmptyListsNotNull(t *testing.T) {
	o := Outcome{Binding: Binding{Name: "api", TargetGroupARN: webHTTPARN}, Snapshot: informer.Snapshot{TrafficPort: 30090}}
	p := PlanReport([]Outcome{o}, nil)
	if !p.InSync {
		t.Fatalf("an empty plan is not in sync: %+v", p)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"changes":[]`, `"waiting":[]`, `"inSync":true`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	if strings.Contains(string(b), "null") || strings.Contains(string(b), "securityGroups") {
		t.Errorf("%s has a null or a securityGroups key without security groups", b)
	}
	if p := PlanReport([]Outcome{o}, &RulesOutcome{Err: errors.New("boom")}); p.InSync || p.SecurityGroups.Error != "boom" {
		t.Errorf("a failed security-group plan: inSync %v, error %q; want false, boom", p.InSync, p.SecurityGroups.Error)
	}
}
