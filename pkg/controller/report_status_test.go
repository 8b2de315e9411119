package controller

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
	"github.com/targetsync/targetsync/pkg/report"
	"github.com/targetsync/targetsync/pkg/sg"
)

func TestBindingStatus(t *testing.T) {
	b := Binding{Name: "http", TargetGroupARN: webHTTPARN}
	snap := informer.Snapshot{
		TrafficPort: 30080, HealthCheckPort: 30200,
		Targets: []informer.Node{clusterNode("worker-1", "10.0.1.11", ""), clusterNode("worker-2", "10.0.1.12", ""), clusterNode("worker-4", "10.0.1.14", "")},
		Skipped: []informer.Node{clusterNode("worker-3", "10.0.1.13", informer.ReasonCordoned)},
	}
	tg := elb.TargetGroup{
		ARN: webHTTPARN, Name: "web-http",
		HealthCheck: elb.HealthCheck{Protocol: "HTTP", Path: "/healthz"},
		Targets: []elb.Observed{
			{Target: tgt("10.0.1.11", 30080), State: elb.StateHealthy},
			{Target: tgt("10.0.1.12", 30080), State: elb.StateUnhealthy, Reason: "Target.FailedHealthChecks"},
			{Target: tgt("10.0.1.13", 30080), State: elb.StateHealthy},
			{Target: tgt("10.0.1.11", 30081), State: elb.StateDraining, Reason: "Target.DeregistrationInProgress"},
			{Target: tgt("10.0.1.99", 30080), State: elb.StateHealthy},
		},
		Tags: map[string]string{elb.TagCluster: "prod", elb.TagHealthCheckPort: "traffic-port"},
	}
	targets := []report.TargetStatus{
		{IP: "10.0.1.11", Port: 30080, Node: "worker-1", Registered: true, State: "healthy", Wanted: true},
		{IP: "10.0.1.11", Port: 30081, Node: "worker-1", Registered: true, State: "draining", Reason: "Target.DeregistrationInProgress", Why: "NodePort is now 30080"},
		{IP: "10.0.1.12", Port: 30080, Node: "worker-2", Registered: true, State: "unhealthy", Reason: "Target.FailedHealthChecks", Wanted: true},
		{IP: "10.0.1.13", Port: 30080, Node: "worker-3", Registered: true, State: "healthy", Why: "cordoned"},
		{IP: "10.0.1.14", Port: 30080, Node: "worker-4", Wanted: true},
		{IP: "10.0.1.99", Port: 30080, Registered: true, State: "healthy", Why: "no node has this IP"},
	}
	ref := report.TargetGroup{Name: "web-http", ARN: webHTTPARN}
	hcMissing := snap
	hcMissing.HealthCheckPort, hcMissing.HealthCheckErr = 0, &informer.ServiceError{Problem: "service not found", Ref: informer.PortRef{
		Service: types.NamespacedName{Namespace: "ingress-nginx", Name: "ingress-nginx-healthcheck"}}}
	noHC := snap
	noHC.HealthCheckPort = 0

	tests := []struct {
		name string
		snap *informer.Snapshot
		tg   *elb.TargetGroup
		want report.BindingStatus
	}{
		{
			name: "both sides read",
			snap: &snap, tg: &tg,
			want: report.BindingStatus{
				Binding: "http", TargetGroup: ref, OwnerCluster: "prod", TrafficPort: 30080, Targets: targets,
				HealthCheck: &report.HealthCheckStatus{Protocol: "HTTP", Port: "traffic-port", Path: "/healthz", ClusterPort: "30200", RecordedPort: "traffic-port"},
				Errors:      []string{},
			},
		},
		{
			name: "health-check Service missing: unknown",
			snap: &hcMissing, tg: &tg,
			want: report.BindingStatus{
				Binding: "http", TargetGroup: ref, OwnerCluster: "prod", TrafficPort: 30080, Targets: targets,
				HealthCheck: &report.HealthCheckStatus{Protocol: "HTTP", Port: "traffic-port", Path: "/healthz", ClusterPort: "unknown",
					ClusterDetail: "service ingress-nginx/ingress-nginx-healthcheck port 0: service not found", RecordedPort: "traffic-port"},
				Errors: []string{},
			},
		},
		{
			name: "no health-check Service: traffic-port",
			snap: &noHC, tg: &tg,
			want: report.BindingStatus{
				Binding: "http", TargetGroup: ref, OwnerCluster: "prod", TrafficPort: 30080, Targets: targets,
				HealthCheck: &report.HealthCheckStatus{Protocol: "HTTP", Port: "traffic-port", Path: "/healthz", ClusterPort: "traffic-port", RecordedPort: "traffic-port"},
				Errors:      []string{},
			},
		},
		{
			name: "cluster not read: AWS's side only, the cluster's unknown",
			tg:   &tg,
			want: report.BindingStatus{
				Binding: "http", TargetGroup: ref, OwnerCluster: "prod",
				Targets: []report.TargetStatus{
					{IP: "10.0.1.11", Port: 30080, Registered: true, State: "healthy"},
					{IP: "10.0.1.11", Port: 30081, Registered: true, State: "draining", Reason: "Target.DeregistrationInProgress"},
					{IP: "10.0.1.12", Port: 30080, Registered: true, State: "unhealthy", Reason: "Target.FailedHealthChecks"},
					{IP: "10.0.1.13", Port: 30080, Registered: true, State: "healthy"},
					{IP: "10.0.1.99", Port: 30080, Registered: true, State: "healthy"},
				},
				HealthCheck: &report.HealthCheckStatus{Protocol: "HTTP", Port: "traffic-port", Path: "/healthz", ClusterPort: "unknown",
					ClusterDetail: "the Service could not be read", RecordedPort: "traffic-port"},
				Errors: []string{},
			},
		},
		{
			name: "target group not read: the cluster's side only",
			snap: &snap,
			want: report.BindingStatus{
				Binding: "http", TargetGroup: ref, TrafficPort: 30080,
				Targets: []report.TargetStatus{
					{IP: "10.0.1.11", Port: 30080, Node: "worker-1", Wanted: true},
					{IP: "10.0.1.12", Port: 30080, Node: "worker-2", Wanted: true},
					{IP: "10.0.1.14", Port: 30080, Node: "worker-4", Wanted: true},
				},
				Errors: []string{},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, BindingStatus(b, tt.snap, tt.tg)); d != "" {
				t.Errorf("BindingStatus (-want +got):\n%s", d)
			}
		})
	}
}

// TestLastEventsReadsTheEventsTheControllerRecords records Events the way a sync does, then
// picks from them, so the message formats and the matching cannot drift apart.
func TestLastEventsReadsTheEventsTheControllerRecords(t *testing.T) {
	rec := record.NewFakeRecorder(100)
	c := New(nil, nil, nil, Options{Recorder: rec})
	// Two bindings on one Service, with target groups whose names are prefixes of each other.
	web := Binding{Name: "http", TargetGroupARN: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"}
	webHTTP := Binding{Name: "https", TargetGroupARN: webHTTPARN}
	for _, b := range []*Binding{&web, &webHTTP} {
		b.Query.Traffic.Service = types.NamespacedName{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"}
	}
	hc := &elb.HealthCheckChange{To: elb.HealthCheck{Protocol: "HTTP", Port: 30200, Path: "/healthz"}}
	c.recordEvents(web, Outcome{Binding: web, Applied: elb.Result{Registered: []elb.Target{tgt("10.0.1.1", 30080)}}}, c.log)
	c.recordEvents(webHTTP, Outcome{Binding: webHTTP, Plan: elb.Plan{HealthCheck: hc}, Applied: elb.Result{HealthCheck: true}}, c.log)
	c.recordEvents(web, Outcome{Binding: web, Applied: elb.Result{Deregistered: []elb.Target{tgt("10.0.1.1", 30080)}}}, c.log)
	c.record(webHTTP, Outcome{Binding: webHTTP, Err: errors.New("throttled"), Result: Retry}, c.opts.Clock.Now(), c.log)
	c.record(web, Outcome{Binding: web, Err: ErrWouldEmpty, Result: Refused}, c.opts.Clock.Now(), c.log)
	c.recordEvents(webHTTP, Outcome{Binding: webHTTP, Applied: elb.Result{Registered: []elb.Target{tgt("10.0.1.2", 30080)}}}, c.log)
	close(rec.Events)

	// FakeRecorder gives "Type Reason Message"; turn them into the Events the API server keeps,
	// one second apart, in the order recorded.
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var events []corev1.Event
	for s := range rec.Events {
		typ, rest, _ := strings.Cut(s, " ")
		reason, msg, _ := strings.Cut(rest, " ")
		events = append(events, corev1.Event{
			InvolvedObject: *web.serviceRef(),
			Type:           typ, Reason: reason, Message: msg,
			Source:        corev1.EventSource{Component: EventComponent},
			LastTimestamp: metav1.NewTime(base.Add(time.Duration(len(events)) * time.Second)),
			Count:         1,
		})
	}
	// Noise: another component's Event, and one on another Service.
	other := events[0]
	other.Source.Component, other.LastTimestamp = "someone-else", metav1.NewTime(base.Add(time.Hour))
	elsewhere := events[0]
	elsewhere.InvolvedObject.Name, elsewhere.LastTimestamp = "other", metav1.NewTime(base.Add(time.Hour))
	events = append(events, other, elsewhere)

	at := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		b                    Binding
		wantChange, wantWarn *report.Event
	}{
		{web,
			&report.Event{Time: at(2), Type: "Normal", Reason: ReasonTargetsDeregistered, Message: "Deregistered 1 targets from target group web", Count: 1},
			&report.Event{Time: at(4), Type: "Warning", Reason: ReasonSyncRefused, Message: "Target group web left unchanged: " + ErrWouldEmpty.Error(), Count: 1}},
		{webHTTP,
			&report.Event{Time: at(5), Type: "Normal", Reason: ReasonTargetsRegistered, Message: "Registered 1 targets in target group web-http", Count: 1},
			&report.Event{Time: at(3), Type: "Warning", Reason: ReasonSyncFailed, Message: "Sync of target group web-http failed: throttled", Count: 1}},
	}
	for _, tt := range tests {
		change, warn := LastEvents(tt.b, events)
		if d := cmp.Diff(tt.wantChange, change); d != "" {
			t.Errorf("%s: last change (-want +got):\n%s", tt.b.TargetGroupName(), d)
		}
		if d := cmp.Diff(tt.wantWarn, warn); d != "" {
			t.Errorf("%s: last warning (-want +got):\n%s", tt.b.TargetGroupName(), d)
		}
	}
	if change, warn := LastEvents(Binding{TargetGroupARN: webHTTPARN}, events); change != nil || warn != nil {
		t.Errorf("a binding on another Service got %v, %v", change, warn)
	}
}

func TestEventTimeTakesTheNewestStamp(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		e    corev1.Event
		want time.Time
	}{
		{"first only", corev1.Event{FirstTimestamp: metav1.NewTime(t0)}, t0},
		{"last", corev1.Event{FirstTimestamp: metav1.NewTime(t0), LastTimestamp: metav1.NewTime(t0.Add(time.Minute))}, t0.Add(time.Minute)},
		{"events.k8s.io series", corev1.Event{EventTime: metav1.NewMicroTime(t0), Series: &corev1.EventSeries{LastObservedTime: metav1.NewMicroTime(t0.Add(time.Hour))}}, t0.Add(time.Hour)},
	}
	for _, tt := range tests {
		if got := eventTime(tt.e); !got.Equal(tt.want) {
			t.Errorf("%s: eventTime = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestSecurityGroupsStatus(t *testing.T) {
	vpc := netip.MustParsePrefix("10.0.0.0/16")
	owned := func(id string, from, to int32) sg.Observed {
		return sg.Observed{Rule: sg.Rule{Protocol: "tcp", FromPort: from, ToPort: to, CIDR: vpc}, ID: id, Description: "targetsync:prod/shared", Owned: true}
	}
	groups := []sg.Group{
		{ID: "sg-a", Rules: []sg.Observed{
			owned("sgr-1", 30080, 30081),
			owned("sgr-2", 30200, 30200),
			owned("sgr-3", 30443, 30443),
			{Rule: sg.Rule{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: vpc}, ID: "sgr-9", Description: "ssh"},
		}},
		{ID: "sg-b"},
	}
	ports := map[string][]int32{"https": {30081, 0}, "http": {30080, 30200}}
	rule := func(from, to int32, text string) report.Rule {
		return report.Rule{Protocol: "tcp", FromPort: from, ToPort: to, CIDR: "10.0.0.0/16", Text: text}
	}
	want := report.SecurityGroupsStatus{Groups: []report.SecurityGroupStatus{
		{ID: "sg-a", OtherRules: 1, Rules: []report.OwnedRule{
			{ID: "sgr-1", Rule: rule(30080, 30081, "tcp 30080-30081 from 10.0.0.0/16"), Description: "targetsync:prod/shared", UsedBy: []string{"http", "https"}},
			{ID: "sgr-2", Rule: rule(30200, 30200, "tcp 30200 from 10.0.0.0/16"), Description: "targetsync:prod/shared", UsedBy: []string{"http"}},
			{ID: "sgr-3", Rule: rule(30443, 30443, "tcp 30443 from 10.0.0.0/16"), Description: "targetsync:prod/shared", UsedBy: []string{}},
		}},
		{ID: "sg-b", Rules: []report.OwnedRule{}},
	}}
	if d := cmp.Diff(want, SecurityGroupsStatus(groups, ports)); d != "" {
		t.Errorf("SecurityGroupsStatus (-want +got):\n%s", d)
	}
}
