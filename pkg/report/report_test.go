package report_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/targetsync/targetsync/pkg/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

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

var observedAt = time.Date(2026, 1, 2, 3, 10, 0, 0, time.UTC)

func at(d time.Duration) *time.Time {
	t := observedAt.Add(-d)
	return &t
}

// knownStatus has every kind of row and summary line: targets healthy, unhealthy, draining,
// not registered and not wanted; a health check that differs from the cluster's; a binding
// whose health-check Service is missing and whose target group is another cluster's; owned
// rules in and out of use; and a held Lease.
func knownStatus() report.Status {
	return report.Status{
		APIVersion: report.APIVersion, Kind: report.KindStatus, Cluster: "prod", ObservedAt: observedAt,
		Bindings: []report.BindingStatus{
			{
				Binding:     "http",
				TargetGroup: report.TargetGroup{Name: "web-http", ARN: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-http/0123456789abcdef"},
				TrafficPort: 30080, OwnerCluster: "prod",
				Targets: []report.TargetStatus{
					{IP: "10.0.1.11", Port: 30080, Node: "worker-1", Registered: true, State: "healthy", Wanted: true},
					{IP: "10.0.1.12", Port: 30080, Node: "worker-2", Registered: true, State: "unhealthy", Reason: "Target.FailedHealthChecks", Wanted: true},
					{IP: "10.0.1.13", Port: 30080, Node: "worker-3", Registered: true, State: "healthy", Why: "cordoned"},
					{IP: "10.0.1.14", Port: 30080, Node: "worker-4", Wanted: true},
					{IP: "10.0.1.99", Port: 30080, Registered: true, State: "draining", Reason: "Target.DeregistrationInProgress", Why: "no node has this IP"},
				},
				HealthCheck: &report.HealthCheckStatus{Protocol: "HTTP", Port: "traffic-port", Path: "/healthz", ClusterPort: "30200"},
				LastChange:  &report.Event{Time: *at(2 * time.Minute), Type: "Normal", Reason: "TargetsRegistered", Message: "Registered 3 targets in target group web-http", Count: 1},
				LastWarning: &report.Event{Time: *at(50 * time.Minute), Type: "Warning", Reason: "SyncFailed", Message: "Sync of target group web-http failed: Throttling: Rate exceeded", Count: 4},
				Errors:      []string{},
			},
			{
				Binding:     "https",
				TargetGroup: report.TargetGroup{Name: "web-https", ARN: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-https/fedcba9876543210"},
				TrafficPort: 30443, OwnerCluster: "staging",
				Targets: []report.TargetStatus{
					{IP: "10.0.1.11", Port: 30443, Node: "worker-1", Registered: true, State: "healthy", Wanted: true},
				},
				HealthCheck: &report.HealthCheckStatus{Protocol: "HTTP", Port: "30200", Path: "/healthz", ClusterPort: "unknown",
					ClusterDetail: "service ingress-nginx/ingress-nginx-healthcheck port healthz: service not found", RecordedPort: "30200"},
				Errors: []string{},
			},
		},
		SecurityGroups: &report.SecurityGroupsStatus{Groups: []report.SecurityGroupStatus{
			{ID: "sg-0123456789abcdef0", OtherRules: 3, Rules: []report.OwnedRule{
				{ID: "sgr-0aa11bb22cc33dd44", Rule: report.Rule{Protocol: "tcp", FromPort: 30080, ToPort: 30080, CIDR: "10.0.0.0/16", Text: "tcp 30080 from 10.0.0.0/16"},
					Description: "targetsync:prod/shared", UsedBy: []string{"http"}},
				{ID: "sgr-0ee55ff66aa77bb88", Rule: report.Rule{Protocol: "tcp", FromPort: 30090, ToPort: 30090, CIDR: "10.0.0.0/16", Text: "tcp 30090 from 10.0.0.0/16"},
					Description: "targetsync:prod/shared", UsedBy: []string{}},
			}},
		}},
		Leader: report.Leader{Namespace: "targetsync", Name: "targetsync", Found: true, Holder: "targetsync-7d9f-abcde_5f0c", RenewTime: at(3 * time.Second), LeaseDurationSeconds: 15, Held: true},
		Errors: []string{},
	}
}

func TestStatusGolden(t *testing.T) {
	s := knownStatus()
	var table bytes.Buffer
	if err := report.WriteStatus(&table, s); err != nil {
		t.Fatal(err)
	}
	golden(t, "status.txt", table.Bytes())
	for _, f := range []string{report.FormatJSON, report.FormatYAML} {
		var b bytes.Buffer
		if err := report.Encode(&b, f, s); err != nil {
			t.Fatal(err)
		}
		golden(t, "status."+f, b.Bytes())
		var back report.Status
		if err := yaml.UnmarshalStrict(b.Bytes(), &back); err != nil {
			t.Fatalf("%s does not read back: %v", f, err)
		}
		if d := cmp.Diff(s, back); d != "" {
			t.Errorf("%s read back differs (-want +got):\n%s", f, d)
		}
	}
}

func TestStatusSummaryLines(t *testing.T) {
	tests := []struct {
		name   string
		change func(*report.Status)
		want   string
	}{
		{"no Lease", func(s *report.Status) { s.Leader = report.Leader{Namespace: "default", Name: "targetsync"} },
			"leader: no Lease default/targetsync: targetsync runs without --leader-elect, or in another namespace (--leader-election-namespace)\n"},
		{"released", func(s *report.Status) {
			s.Leader.Holder, s.Leader.Held, s.Leader.RenewTime = "", false, at(time.Minute)
		},
			"leader: Lease targetsync/targetsync not held, released 2026-01-02T03:09:00Z (1m0s ago)\n"},
		{"expired", func(s *report.Status) { s.Leader.Held, s.Leader.RenewTime = false, at(time.Hour) },
			"leader: Lease targetsync/targetsync held by targetsync-7d9f-abcde_5f0c, renewed 2026-01-02T02:10:00Z (1h0m0s ago); expired: no replica renews it\n"},
		{"no Event", func(s *report.Status) { s.Bindings[0].LastChange = nil },
			"web-http: no change recorded in the Events the API server keeps (--event-ttl, 1h by default)\n"},
		{"target group not read", func(s *report.Status) {
			s.Bindings[0].HealthCheck, s.Bindings[0].Targets = nil, []report.TargetStatus{}
		},
			"web-http: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-http/0123456789abcdef, not read\n"},
		{"cluster not read", func(s *report.Status) {
			s.Bindings[1].TrafficPort = 0
			s.Bindings[1].Targets[0].Wanted, s.Bindings[1].Targets[0].Node = false, ""
		}, "web-https 10.0.1.11:30443 - healthy unknown\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := knownStatus()
			tt.change(&s)
			var b bytes.Buffer
			if err := report.WriteStatus(&b, s); err != nil {
				t.Fatal(err)
			}
			// Columns are compared with their padding squeezed to one space.
			if got := regexp.MustCompile(` {2,}`).ReplaceAllString(b.String(), " "); !strings.Contains(got, tt.want) {
				t.Errorf("table lacks %q:\n%s", tt.want, b.String())
			}
		})
	}
}

func TestEncodeRefusesUnknownFormats(t *testing.T) {
	if err := report.Encode(&bytes.Buffer{}, report.FormatTable, report.Plan{}); err == nil {
		t.Error("Encode wrote the table format; tables have their own writers")
	}
}
