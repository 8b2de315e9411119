package controller

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
	"github.com/targetsync/targetsync/pkg/metrics"
	"github.com/targetsync/targetsync/pkg/sg"
)

var vpcCIDR = netip.MustParsePrefix("10.0.0.0/16")

// fakeRules is an in-memory cluster-wide rule syncer: one group, rules from the VPC CIDR.
type fakeRules struct {
	mu         sync.Mutex
	group      sg.Group
	err        error // returned by Reconcile, as a throttled EC2 would
	reconciles []sg.Desired
}

func (f *fakeRules) ResolveGroups(context.Context, sg.GroupSelector) ([]string, error) {
	return []string{"sg-workers"}, nil
}

func (f *fakeRules) ResolveSources(context.Context, []sg.Source, sg.Scope) ([]netip.Prefix, error) {
	return []netip.Prefix{vpcCIDR}, nil
}

func (f *fakeRules) VPCCIDRs(context.Context, string) ([]netip.Prefix, error) {
	return []netip.Prefix{vpcCIDR}, nil
}

func (f *fakeRules) Reconcile(_ context.Context, _ []string, d sg.Desired, apply bool) ([]sg.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reconciles = append(f.reconciles, d)
	if f.err != nil {
		return nil, f.err
	}
	o := sg.Outcome{Current: f.group, Plan: sg.ComputePlan(d, f.group)}
	if apply {
		for _, r := range o.Plan.Authorize {
			f.group.Rules = append(f.group.Rules, sg.Observed{Rule: r, Owned: true})
			o.Applied.Authorized++
			o.Applied.AuthorizedRules = append(o.Applied.AuthorizedRules, r)
		}
	}
	o.After = f.group
	return []sg.Outcome{o}, nil
}

func (f *fakeRules) opened(port int32) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sg.Open(f.group, port, []netip.Prefix{vpcCIDR})
}

// snapsByService answers each binding with the snapshot of its traffic Service.
type snapsByService struct {
	mu    sync.Mutex
	snaps map[string]informer.Snapshot
	errs  map[string]error
}

func (s *snapsByService) Snapshot(q informer.Query) (informer.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snaps[q.Traffic.Service.Name], s.errs[q.Traffic.Service.Name]
}

type rulesHarness struct {
	ctrl   *Controller
	snaps  *snapsByService
	groups map[string]*fakeGroups
	rules  *fakeRules
}

// newRulesHarness has two bindings, "http" and "https", each on its own Service and target
// group in one VPC, and the worker security group managed.
func newRulesHarness(t *testing.T) *rulesHarness {
	t.Helper()
	h := &rulesHarness{
		snaps:  &snapsByService{snaps: map[string]informer.Snapshot{}, errs: map[string]error{}},
		groups: map[string]*fakeGroups{},
		rules:  &fakeRules{group: sg.Group{ID: "sg-workers"}},
	}
	var bindings []Binding
	for _, name := range []string{"http", "https"} {
		a := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/" + name + "/0123456789abcdef"
		h.groups[name] = &fakeGroups{group: elb.TargetGroup{ARN: a, Name: name, TargetType: "ip", VpcID: "vpc-1",
			LoadBalancerARNs: []string{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/web/1"}}}
		bindings = append(bindings, Binding{Name: name, TargetGroupARN: a, HealthCheckPath: "/healthz",
			Query: informer.Query{Traffic: informer.PortRef{Service: types.NamespacedName{Namespace: "ingress", Name: name}}}})
	}
	h.ctrl = New(bindings, h.snaps, func(b Binding) TargetGroups { return h.groups[b.Name] }, Options{
		ClusterName:    "test",
		SecurityGroups: &SecurityGroups{Rules: h.rules, Sources: []sg.Source{{Kind: sg.SourceVPCCIDR}}},
		Metrics:        metrics.New(prometheus.NewRegistry()),
		Recorder:       record.NewFakeRecorder(100),
		Clock:          clocktesting.NewFakeClock(time.Unix(1_700_000_000, 0)),
	})
	t.Cleanup(h.ctrl.queue.ShutDown)
	return h
}

func (h *rulesHarness) sync(name string) Outcome {
	return h.ctrl.Sync(context.Background(), h.ctrl.bindings[name], true)
}

func TestRulesServeTheUnionOfEveryBindingInOneReconcile(t *testing.T) {
	h := newRulesHarness(t)
	h.snaps.snaps["http"] = snapshot(30080, "10.0.1.1")
	https := snapshot(30443, "10.0.1.1")
	https.HealthCheckPort = 30200
	h.snaps.snaps["https"] = https
	h.sync("http")
	h.sync("https")

	out := h.ctrl.SyncRules(context.Background(), true)
	if out.Err != nil || !out.Complete {
		t.Fatalf("SyncRules: complete %v, err %v", out.Complete, out.Err)
	}
	for _, port := range []int32{30080, 30200, 30443} {
		if !h.rules.opened(port) {
			t.Errorf("port %d not opened; rules %v", port, h.rules.group.Rules)
		}
	}
	// The rules are in place: registrations on the new ports go ahead.
	for _, name := range []string{"http", "https"} {
		if out := h.sync(name); len(out.Applied.Registered) != 1 || len(out.Waiting) != 0 {
			t.Errorf("%s: registered %v, waiting %v; want the node registered", name, out.Applied.Registered, out.Waiting)
		}
	}
}

func TestEC2FailureNeverBlocksTargetsOnAPortAlreadyInUse(t *testing.T) {
	h := newRulesHarness(t)
	h.rules.err = &smithy.GenericAPIError{Code: "RequestLimitExceeded", Message: "Request limit exceeded."}
	h.snaps.snaps["http"] = snapshot(30080, "10.0.1.1", "10.0.1.2")
	h.snaps.snaps["https"] = snapshot(30443, "10.0.1.1")
	// 10.0.1.9 is gone; 10.0.1.1 is registered, so port 30080 is known to be open.
	h.groups["http"].group.Targets = observed(30080, elb.StateHealthy, "10.0.1.1", "10.0.1.9")

	h.sync("https") // learns the load balancer, so the reconcile has something to do
	if out := h.ctrl.SyncRules(context.Background(), true); out.Result != Retry {
		t.Fatalf("SyncRules result = %s, want retry (err %v)", out.Result.Label(), out.Err)
	}
	out := h.sync("http")
	if out.Err != nil {
		t.Fatalf("sync: %v", out.Err)
	}
	if got := strs(out.Applied.Registered); !slices.Equal(got, []string{"10.0.1.2:30080"}) {
		t.Errorf("registered %v, want the joining node on the port already in use", got)
	}
	if got := strs(out.Applied.Deregistered); !slices.Equal(got, []string{"10.0.1.9:30080"}) {
		t.Errorf("deregistered %v, want the gone node", got)
	}
}

func TestOnlyANewlyNeededPortWaitsForItsRule(t *testing.T) {
	h := newRulesHarness(t)
	h.rules.err = errors.New("connection reset")
	// The NodePort moved from 30080 to 30081; 10.0.1.9 is gone.
	h.snaps.snaps["http"] = snapshot(30081, "10.0.1.1", "10.0.1.2")
	h.snaps.snaps["https"] = snapshot(30443, "10.0.1.1")
	h.groups["http"].group.Targets = observed(30080, elb.StateHealthy, "10.0.1.1", "10.0.1.2", "10.0.1.9")

	h.ctrl.SyncRules(context.Background(), true)
	out := h.sync("http")
	if len(out.Applied.Registered) != 0 || len(out.Waiting) != 2 {
		t.Errorf("registered %v, waiting %v: want both registrations waiting for the rule of 30081", strs(out.Applied.Registered), strs(out.Waiting))
	}
	if got := strs(out.Held); !slices.Equal(got, []string{"10.0.1.1:30080", "10.0.1.2:30080"}) {
		t.Errorf("held %v, want the old ports kept until the new ones are registered", got)
	}
	if got := strs(out.Applied.Deregistered); !slices.Equal(got, []string{"10.0.1.9:30080"}) {
		t.Errorf("deregistered %v, want the gone node, which waits for nothing", got)
	}

	// EC2 recovers: the rule goes in, and then the move completes.
	h.rules.err = nil
	if out := h.ctrl.SyncRules(context.Background(), true); out.Err != nil || !h.rules.opened(30081) {
		t.Fatalf("SyncRules: %v; 30081 open %v", out.Err, h.rules.opened(30081))
	}
	h.sync("http")
	out = h.sync("http")
	if got := strs(observedTargets(h.groups["http"].group)); !slices.Equal(got, []string{"10.0.1.1:30081", "10.0.1.2:30081"}) {
		t.Errorf("targets after the rule = %v, want both nodes on 30081 only", got)
	}
}

func TestRulesRevokeNothingWhileABindingIsUnknown(t *testing.T) {
	h := newRulesHarness(t)
	h.snaps.snaps["http"] = snapshot(30080, "10.0.1.1")
	h.snaps.errs["https"] = &informer.ServiceError{Problem: "service not found"}
	h.sync("http")
	h.ctrl.SyncRules(context.Background(), true)
	if n := len(h.rules.reconciles); n != 1 || h.rules.reconciles[0].Complete {
		t.Fatalf("reconciles %+v, want one with Complete false", h.rules.reconciles)
	}
}

func observedTargets(tg elb.TargetGroup) []elb.Target {
	var out []elb.Target
	for _, o := range tg.Targets {
		if o.State != elb.StateDraining {
			out = append(out, o.Target)
		}
	}
	slices.SortFunc(out, elb.Target.Compare)
	return out
}
