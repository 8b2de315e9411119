package controller

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
)

// fakeSnapshots returns a fixed snapshot or error.
type fakeSnapshots struct {
	mu   sync.Mutex
	snap informer.Snapshot
	err  error
}

func (f *fakeSnapshots) Snapshot(informer.Query) (informer.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap, f.err
}

func (f *fakeSnapshots) set(s informer.Snapshot, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snap, f.err = s, err
}

// fakeGroups is an in-memory target group that applies plans to itself.
type fakeGroups struct {
	mu          sync.Mutex
	group       elb.TargetGroup
	tags        map[string]string
	tagReads    int
	describeErr error
	tagsErr     error
	applyErr    error
	// rejectAll makes Apply reject every registration, as AWS does targets it will not accept.
	rejectAll bool
	describes int
	// settingsReads counts DescribeSettings; describes counts target reads.
	settingsReads int
	applies       []elb.Plan
}

func (f *fakeGroups) Describe(context.Context, string) (elb.TargetGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describes++
	g := f.group
	g.Targets = append([]elb.Observed(nil), f.group.Targets...)
	return g, f.describeErr
}

func (f *fakeGroups) DescribeSettings(context.Context, string) (elb.TargetGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settingsReads++
	g := f.group
	g.Targets = nil
	return g, f.describeErr
}

func (f *fakeGroups) DescribeTargets(_ context.Context, settings elb.TargetGroup) (elb.TargetGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describes++
	settings.Targets = append([]elb.Observed(nil), f.group.Targets...)
	return settings, f.describeErr
}

func (f *fakeGroups) Tags(context.Context, string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tagReads++
	out := map[string]string{}
	for k, v := range f.tags {
		out[k] = v
	}
	return out, f.tagsErr
}

func (f *fakeGroups) Apply(_ context.Context, _ string, p elb.Plan) (elb.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applies = append(f.applies, p)
	if f.applyErr != nil {
		return elb.Result{}, f.applyErr
	}
	gone := map[elb.Target]bool{}
	for _, t := range p.Deregister {
		gone[t] = true
	}
	var kept []elb.Observed
	for _, o := range f.group.Targets {
		if !gone[o.Target] {
			kept = append(kept, o)
		}
	}
	if f.rejectAll {
		var rejected []elb.Rejection
		for _, t := range p.Register {
			rejected = append(rejected, elb.Rejection{Target: t, Code: "InvalidTarget", Message: "not accepted"})
		}
		f.group.Targets = kept
		return elb.Result{Deregistered: p.Deregister, Rejected: rejected}, nil
	}
	for _, t := range p.Register {
		kept = append(kept, elb.Observed{Target: t, State: elb.StateInitial})
	}
	f.group.Targets = kept
	if p.HealthCheck != nil {
		f.group.HealthCheck = p.HealthCheck.To
		if f.tags == nil {
			f.tags = map[string]string{}
		}
		f.tags[elb.TagHealthCheckPort] = "traffic-port"
		if p.HealthCheck.To.Port != 0 {
			f.tags[elb.TagHealthCheckPort] = fmt.Sprint(p.HealthCheck.To.Port)
		}
	}
	return elb.Result{Registered: p.Register, Deregistered: p.Deregister, HealthCheck: p.HealthCheck != nil}, nil
}

func (f *fakeGroups) counts() (describes, applies int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.describes, len(f.applies)
}

func snapshot(port int32, ips ...string) informer.Snapshot {
	s := informer.Snapshot{TrafficPort: port}
	for _, ip := range ips {
		s.Targets = append(s.Targets, informer.Node{Name: "node-" + ip, IP: netip.MustParseAddr(ip), Ready: true})
	}
	return s
}

func observed(port int32, state string, ips ...string) []elb.Observed {
	var out []elb.Observed
	for _, ip := range ips {
		out = append(out, elb.Observed{Target: elb.Target{IP: netip.MustParseAddr(ip), Port: port}, State: state})
	}
	return out
}

// turnHealthy makes every registered target healthy, as AWS's health check would once the
// targets answer.
func (f *fakeGroups) turnHealthy() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.group.Targets {
		if f.group.Targets[i].State == elb.StateInitial {
			f.group.Targets[i].State = elb.StateHealthy
		}
	}
}

// setState gives the targets of ips state, as AWS's health check would.
func (f *fakeGroups) setState(state string, ips ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ip := range ips {
		for i := range f.group.Targets {
			if f.group.Targets[i].IP == netip.MustParseAddr(ip) {
				f.group.Targets[i].State = state
			}
		}
	}
}
