package app

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/targetsync/targetsync/pkg/controller"
	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
	"github.com/targetsync/targetsync/pkg/report"
	"github.com/targetsync/targetsync/pkg/sg"
)

type fakeSnapshots map[string]informer.Snapshot

func (f fakeSnapshots) Snapshot(q informer.Query) (informer.Snapshot, error) {
	s, ok := f[q.Traffic.Service.Name]
	if !ok {
		return informer.Snapshot{}, &informer.ServiceError{Ref: q.Traffic, Problem: "service not found"}
	}
	return s, nil
}

// fakeGroup is a target group that can only be read.
type fakeGroup struct {
	tg          elb.TargetGroup
	describeErr error
	tagsErr     error
}

func (f fakeGroup) Describe(context.Context, string) (elb.TargetGroup, error) {
	return f.tg, f.describeErr
}

func (f fakeGroup) Tags(context.Context, string) (map[string]string, error) {
	if f.tagsErr != nil {
		return nil, f.tagsErr
	}
	return map[string]string{elb.TagCluster: "prod"}, nil
}

type fakeRules struct{ groups []sg.Group }

func (f fakeRules) ResolveGroups(context.Context, sg.GroupSelector) ([]string, error) {
	return []string{f.groups[0].ID}, nil
}

func (f fakeRules) Describe(context.Context, ...string) ([]sg.Group, error) { return f.groups, nil }

const (
	arnHTTP  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-http/0123456789abcdef"
	arnHTTPS = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-https/fedcba9876543210"
)

func binding(name, arn, service string) controller.Binding {
	b := controller.Binding{Name: name, TargetGroupARN: arn}
	b.Query.Traffic.Service = types.NamespacedName{Namespace: "ingress-nginx", Name: service}
	return b
}

func TestStatusReaderReadsEverythingAndWritesNothing(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ip := netip.MustParseAddr("10.0.1.11")
	kube := fake.NewClientset(
		&corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Namespace: "ingress-nginx", Name: "e1"},
			InvolvedObject: corev1.ObjectReference{Kind: "Service", APIVersion: "v1", Namespace: "ingress-nginx", Name: "ingress-nginx-controller"},
			Type:           corev1.EventTypeNormal, Reason: controller.ReasonTargetsRegistered, Message: "Registered 1 targets in target group web-http",
			Source: corev1.EventSource{Component: controller.EventComponent}, LastTimestamp: metav1.NewTime(now.Add(-time.Minute)), Count: 1,
		},
		&coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: "targetsync", Name: "targetsync"},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("pod-a_1"), LeaseDurationSeconds: ptr.To[int32](15),
				RenewTime: ptr.To(metav1.NewMicroTime(now.Add(-2 * time.Second)))},
		},
	)
	groups := map[string]fakeGroup{
		arnHTTP: {tg: elb.TargetGroup{ARN: arnHTTP, HealthCheck: elb.HealthCheck{Protocol: "HTTP", Path: "/healthz"},
			Targets: []elb.Observed{{Target: elb.Target{IP: ip, Port: 30080}, State: elb.StateHealthy}}}},
		arnHTTPS: {describeErr: errors.New("describe target group: AccessDenied")},
	}
	r := statusReader{
		cluster: "prod",
		kube:    kube,
		snap: fakeSnapshots{"ingress-nginx-controller": {TrafficPort: 30080, HealthCheckPort: 30200,
			Targets: []informer.Node{{Name: "worker-1", IP: ip, Ready: true}}}},
		groups: func(b controller.Binding) targetGroupReader { return groups[b.TargetGroupARN] },
		rules: fakeRules{[]sg.Group{{ID: "sg-1", Rules: []sg.Observed{{
			Rule: sg.Rule{Protocol: "tcp", FromPort: 30080, ToPort: 30080, CIDR: netip.MustParsePrefix("10.0.0.0/16")}, ID: "sgr-1", Owned: true}}}}},
		lease: types.NamespacedName{Namespace: "targetsync", Name: "targetsync"},
		now:   func() time.Time { return now },
	}
	s := r.read(context.Background(), []controller.Binding{
		binding("http", arnHTTP, "ingress-nginx-controller"),
		binding("https", arnHTTPS, "ingress-nginx-controller"),
		binding("gone", arnHTTPS, "missing"),
	})

	want := []string{
		"binding https: describe target group: AccessDenied",
		"binding gone: service ingress-nginx/missing port 0: service not found",
		"binding gone: describe target group: AccessDenied",
	}
	if d := cmp.Diff(want, s.Errors); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
	http := s.Bindings[0]
	if len(http.Errors) != 0 || len(http.Targets) != 1 || http.Targets[0].Node != "worker-1" || !http.Targets[0].Wanted || http.Targets[0].State != "healthy" {
		t.Errorf("binding http: %+v", http)
	}
	if http.HealthCheck == nil || http.HealthCheck.Port != "traffic-port" || http.HealthCheck.ClusterPort != "30200" {
		t.Errorf("binding http health check: %+v", http.HealthCheck)
	}
	if http.LastChange == nil || http.LastChange.Reason != controller.ReasonTargetsRegistered || http.OwnerCluster != "prod" {
		t.Errorf("binding http: last change %+v, owner %q", http.LastChange, http.OwnerCluster)
	}
	if https := s.Bindings[1]; https.HealthCheck != nil || https.LastChange != nil || len(https.Targets) != 1 || https.Targets[0].Registered {
		t.Errorf("binding https (AWS not read, cluster read): %+v", https)
	}
	renewed := now.Add(-2 * time.Second)
	wantLeader := report.Leader{Namespace: "targetsync", Name: "targetsync", Found: true, Holder: "pod-a_1", RenewTime: &renewed, LeaseDurationSeconds: 15, Held: true}
	if d := cmp.Diff(wantLeader, s.Leader); d != "" {
		t.Errorf("leader (-want +got):\n%s", d)
	}
	if sgs := s.SecurityGroups; sgs == nil || len(sgs.Groups) != 1 || len(sgs.Groups[0].Rules) != 1 || !cmp.Equal(sgs.Groups[0].Rules[0].UsedBy, []string{"http", "https"}) {
		t.Errorf("security groups: %+v", s.SecurityGroups)
	}
	// The Events were listed once for the Service the bindings share, and nothing was written.
	lists := 0
	for _, a := range kube.Actions() {
		switch a.GetVerb() {
		case "list":
			lists++
		case "get":
		default:
			t.Errorf("status made a %s of %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
	if lists != 2 {
		t.Errorf("%d lists, want one per Service (2)", lists)
	}
}

func TestStatusReaderLeaseErrors(t *testing.T) {
	kube := fake.NewClientset()
	r := statusReader{kube: kube, snap: fakeSnapshots{}, lease: types.NamespacedName{Namespace: "ns", Name: "targetsync"}, now: time.Now}
	if s := r.read(context.Background(), nil); len(s.Errors) != 0 || s.Leader.Found {
		t.Errorf("no Lease: errors %v, leader %+v; want none, not found", s.Errors, s.Leader)
	}
	kube.PrependReactor("get", "leases", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("leases.coordination.k8s.io is forbidden")
	})
	if s := r.read(context.Background(), nil); len(s.Errors) != 1 || !strings.Contains(s.Errors[0], "read Lease ns/targetsync") {
		t.Errorf("forbidden Lease: errors %v", s.Errors)
	}
}

func TestLeaderOf(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	base := report.Leader{Namespace: "ns", Name: "targetsync"}
	renew := func(ago time.Duration) *metav1.MicroTime { return ptr.To(metav1.NewMicroTime(now.Add(-ago))) }
	tests := []struct {
		name string
		spec coordinationv1.LeaseSpec
		held bool
	}{
		{"renewed within its duration", coordinationv1.LeaseSpec{HolderIdentity: ptr.To("a"), LeaseDurationSeconds: ptr.To[int32](15), RenewTime: renew(10 * time.Second)}, true},
		{"expired", coordinationv1.LeaseSpec{HolderIdentity: ptr.To("a"), LeaseDurationSeconds: ptr.To[int32](15), RenewTime: renew(16 * time.Second)}, false},
		{"released", coordinationv1.LeaseSpec{HolderIdentity: ptr.To(""), LeaseDurationSeconds: ptr.To[int32](1), RenewTime: renew(0)}, false},
		{"never renewed", coordinationv1.LeaseSpec{HolderIdentity: ptr.To("a")}, false},
	}
	for _, tt := range tests {
		if got := leaderOf(base, tt.spec, now); got.Held != tt.held || !got.Found {
			t.Errorf("%s: %+v, want held %v", tt.name, got, tt.held)
		}
	}
}

func TestMainStatusFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"help lists status", []string{"help"}, ExitOK, "\n  status ", ""},
		{"help status lists --output", []string{"help", "status"}, ExitOK, "-o, --output format", ""},
		{"status -h", []string{"status", "-h"}, ExitOK, "Usage:\n  targetsync status [flags]", ""},
		{"cluster name required", []string{"status", "--target-group-arn", arnHTTP, "--service", "ns/svc", "--service-port", "http"},
			ExitError, "", "targetsync status: "},
		{"unknown format", []string{"status", "-o", "xml"}, ExitError, "", `targetsync status: invalid argument "xml" for "-o, --output" flag: want table, json or yaml`},
		{"plan takes -o too", []string{"plan", "--output", "csv"}, ExitError, "", `targetsync plan: invalid argument "csv" for "-o, --output" flag`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(context.Background(), tt.args, &out, &errOut, "test")
			if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errOut.String(), tt.err) {
				t.Errorf("Main(%q) = %d\nstdout: %s\nstderr: %s\nwant %d, stdout with %q, stderr with %q", tt.args, code, out.String(), errOut.String(), tt.code, tt.out, tt.err)
			}
		})
	}
}
