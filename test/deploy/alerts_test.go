package deploy

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/targetsync/targetsync/pkg/controller"
	"github.com/targetsync/targetsync/pkg/elb"
)

var update = flag.Bool("update", false, "regenerate deploy/manifests from deploy/helm/targetsync, and the chart's copies of the alerts and the dashboard (make manifests)")

// requiredAlerts are the alerts operations relies on; removing one must be a decision.
var requiredAlerts = []string{
	"TargetsyncAWSThrottled",
	"TargetsyncDeregistrationsDeferred",
	"TargetsyncNoHealthyTargets",
	"TargetsyncNoLeader",
	"TargetsyncNoRecentSync",
	"TargetsyncSecurityGroupRulesNearQuota",
	"TargetsyncSecurityGroupSyncsFailing",
	"TargetsyncSyncsFailing",
	"TargetsyncTargetQuotaReached",
	"TargetsyncTargetsDrift",
	"TargetsyncTargetsRejected",
	"TargetsyncTargetsUnhealthy",
	"TargetsyncWaitingForSecurityGroupRule",
}

var (
	alertsFile      = repoPath("deploy", "prometheus", "alerts.yaml")
	alertsTestFile  = repoPath("deploy", "prometheus", "alerts_test.yaml")
	ruleCRFile      = repoPath("deploy", "manifests", "monitoring", "prometheusrule.yaml")
	dashboardFile   = repoPath("deploy", "grafana", "targetsync-dashboard.json")
	ruleCRGenerator = manifestsGenerator
)

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []rule `json:"rules"`
	} `json:"groups"`
}

type rule struct {
	Alert       string            `json:"alert"`
	Record      string            `json:"record"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestPromtoolCheckRules(t *testing.T) {
	r := run(time.Minute, repoRoot(), nil, promtool(t), "check", "rules", alertsFile)
	if r.err != nil {
		t.Fatalf("promtool check rules:\n%s", r)
	}
	t.Log(strings.TrimSpace(r.stdout))
}

func TestPromtoolTestRules(t *testing.T) {
	r := run(2*time.Minute, repoRoot(), nil, promtool(t), "test", "rules", alertsTestFile)
	if r.err != nil {
		t.Fatalf("promtool test rules:\n%s", r)
	}
	t.Log(strings.TrimSpace(r.stdout))
}

func TestAlertsAreCompleteAndEachHasFiringAndSilentTests(t *testing.T) {
	var rf ruleFile
	readYAML(t, alertsFile, &rf)
	if len(rf.Groups) != 1 || rf.Groups[0].Name != "targetsync" {
		t.Fatalf("want one rule group named targetsync, got %d groups", len(rf.Groups))
	}
	var names []string
	for _, r := range rf.Groups[0].Rules {
		names = append(names, r.Alert)
		if r.Alert == "" {
			t.Errorf("rule %q is not an alert; recording rules have no place in this file", r.Record)
			continue
		}
		if r.For == "" {
			t.Errorf("%s has no for: a single evaluation would page", r.Alert)
		}
		if s := r.Labels["severity"]; s != "warning" && s != "critical" {
			t.Errorf("%s has severity %q, want warning or critical", r.Alert, s)
		}
		for _, a := range []string{"summary", "description", "runbook"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s has no %s annotation", r.Alert, a)
			}
		}
		if rb := r.Annotations["runbook"]; !strings.Contains(rb, "kubectl ") && !strings.Contains(rb, "aws ") {
			t.Errorf("%s's runbook names no command to run", r.Alert)
		}
	}
	sort.Strings(names)
	if !slices.Equal(names, requiredAlerts) {
		t.Errorf("alerts:\n got %q\nwant %q", names, requiredAlerts)
	}

	var tf struct {
		Tests []struct {
			Name          string `json:"name"`
			AlertRuleTest []struct {
				Alertname string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	readYAML(t, alertsTestFile, &tf)
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				silent[a.Alertname] = true
			}
		}
	}
	for _, n := range names {
		if !fires[n] {
			t.Errorf("alerts_test.yaml never checks that %s fires", n)
		}
		if !silent[n] {
			t.Errorf("alerts_test.yaml never checks that %s stays silent", n)
		}
	}
}

// TestPrometheusRuleMatchesAlerts checks that the PrometheusRule the chart renders (as
// deploy/manifests/monitoring/prometheusrule.yaml, which TestManifestsAreGeneratedFromTheChart
// keeps equal to the chart) holds exactly the rules of alerts.yaml.
func TestPrometheusRuleMatchesAlerts(t *testing.T) {
	var cr struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			Groups json.RawMessage `json:"groups"`
		} `json:"spec"`
	}
	readYAML(t, ruleCRFile, &cr)
	if cr.APIVersion != "monitoring.coreos.com/v1" || cr.Kind != "PrometheusRule" {
		t.Fatalf("%s is a %s %s", ruleCRFile, cr.APIVersion, cr.Kind)
	}

	// Compare as generic values, so every field counts, not only those this test knows.
	var fromCR any
	if err := json.Unmarshal(cr.Spec.Groups, &fromCR); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var plain map[string]any
	if err := yaml.Unmarshal(b, &plain); err != nil {
		t.Fatal(err)
	}
	if groups, _ := plain["groups"].([]any); len(groups) == 0 {
		t.Fatal("alerts.yaml has no groups")
	}
	if !reflect.DeepEqual(fromCR, plain["groups"]) {
		got, _ := json.MarshalIndent(fromCR, "", "  ")
		want, _ := json.MarshalIndent(plain["groups"], "", "  ")
		t.Fatalf("the PrometheusRule's rules differ from alerts.yaml; run\n  %s\nPrometheusRule:\n%s\nalerts.yaml:\n%s",
			ruleCRGenerator, got, want)
	}
}

// grafanaDashboard is the part of the dashboard JSON the checks read.
type grafanaDashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr  string `json:"expr"`
			RefID string `json:"refId"`
		} `json:"targets"`
	} `json:"panels"`
}

func readDashboard(t *testing.T) grafanaDashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var d grafanaDashboard
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	return d
}

// grafanaVariables stand in for the dashboard's variables so that promtool can parse the queries.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$job", ".+", "$target_group", ".+")

func TestDashboardQueriesAreValidPromQL(t *testing.T) {
	d := readDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Error("the dashboard needs a uid and a title, so that imports update it instead of duplicating it")
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" {
		t.Error("the dashboard must pick its Prometheus through a datasource variable, not a fixed uid")
	}

	// Each query becomes a recording rule, which promtool parses and checks.
	var rf strings.Builder
	rf.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	ids := map[int]bool{}
	var titles []string
	n := 0
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		titles = append(titles, p.Title)
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			n++
			expr, err := json.Marshal(grafanaVariables.Replace(q.Expr))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&rf, "      - record: dashboard:panel_%d_%s\n        expr: %s\n", p.ID, q.RefID, expr)
		}
	}
	file := filepath.Join(t.TempDir(), "dashboard-queries.yaml")
	if err := os.WriteFile(file, []byte(rf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(time.Minute, repoRoot(), nil, promtool(t), "check", "rules", file)
	if r.err != nil {
		t.Fatalf("dashboard queries are not valid PromQL:\n%s\nqueries:\n%s", r, rf.String())
	}
	t.Logf("%d queries in %d panels parse", n, len(titles))

	for _, want := range []string{"Targets by state", "Desired vs registered", "Target changes", "Syncs by result",
		"Sync latency", "Capacity guard", "Pending and rejected targets", "AWS calls by operation", "AWS errors by code",
		"Leader by replica", "Security-group rules vs quota"} {
		if !slices.Contains(titles, want) {
			t.Errorf("the dashboard has no %q panel", want)
		}
	}
}

// exportedLabelValues are, for the labels whose values the code fixes, every value it exports.
// An alert, a dashboard query or a promtool test naming any other value watches a series that
// never exists: the alert stays silent, the test passes against a world that is not ours.
func exportedLabelValues() map[string]map[string][]string {
	var results []string
	for _, r := range controller.Results {
		results = append(results, r.Label())
	}
	return map[string]map[string][]string{
		"targetsync_syncs_total":                {"result": results},
		"targetsync_security_group_syncs_total": {"result": results},
		"targetsync_pending_registrations":      {"reason": {controller.PendingQuota, controller.PendingRule}},
		"targetsync_target_group_targets":       {"state": elb.States},
	}
}

var (
	// selectorRE finds a metric name with its label matchers, in PromQL, in runbook text and in
	// promtool series alike; quotes may be escaped inside a template string.
	selectorRE = regexp.MustCompile(`\b(targetsync_[a-z0-9_]+)\{([^}]*)\}`)
	matcherRE  = regexp.MustCompile(`([a-z_]+)\s*(=~|!~|!=|=)\s*\\?"([^"\\]*)\\?"`)
)

func TestAlertsAndDashboardUseLabelValuesTheCodeExports(t *testing.T) {
	texts := map[string]string{}
	for _, f := range []string{alertsFile, alertsTestFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts[filepath.Base(f)] = string(b)
	}
	var queries []string
	for _, p := range readDashboard(t).Panels {
		for _, q := range p.Targets {
			queries = append(queries, q.Expr)
		}
	}
	texts[filepath.Base(dashboardFile)] = strings.Join(queries, "\n")

	known := exportedLabelValues()
	seen := map[string]bool{}
	for file, text := range texts {
		for _, sel := range selectorRE.FindAllStringSubmatch(text, -1) {
			metric, matchers := sel[1], sel[2]
			for _, m := range matcherRE.FindAllStringSubmatch(matchers, -1) {
				label, op, value := m[1], m[2], m[3]
				allowed, fixed := known[metric][label]
				if !fixed {
					continue
				}
				values := []string{value}
				if op == "=~" || op == "!~" {
					values = strings.Split(value, "|")
				}
				for _, v := range values {
					seen[metric+" "+label+"="+v] = true
					if !slices.Contains(allowed, v) {
						t.Errorf("%s: %s{%s%s%q}: the code exports %s only as %q", file, metric, label, op, value, label, allowed)
					}
				}
			}
		}
	}
	// The alerts must still look at the values that mean trouble.
	for _, want := range []string{
		"targetsync_syncs_total result=retry", "targetsync_syncs_total result=no_retry",
		"targetsync_security_group_syncs_total result=retry", "targetsync_security_group_syncs_total result=no_retry",
		"targetsync_security_group_syncs_total result=refused",
		"targetsync_pending_registrations reason=quota", "targetsync_pending_registrations reason=security_group_rule",
	} {
		if !seen[want] {
			t.Errorf("no alert, test or panel selects %s", want)
		}
	}
}
