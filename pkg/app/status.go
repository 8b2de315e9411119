package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap/zapcore"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/targetsync/targetsync/pkg/config"
	"github.com/targetsync/targetsync/pkg/controller"
	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
	"github.com/targetsync/targetsync/pkg/report"
	"github.com/targetsync/targetsync/pkg/sg"
)

// Status reads every binding's target group, the cluster, the security-group rules targetsync
// owns and the leader's Lease, and prints them (as a table, or report.Status in JSON or YAML).
// It writes nothing: its AWS clients can only read (targetGroupReader, ruleReader), and in the
// cluster it only lists and gets. It returns ExitOK when it could read everything and ExitError
// otherwise, after printing what it could read.
func Status(ctx context.Context, cfg config.Config, d Deps, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "targetsync status: %s\n", oneLine(err))
		return ExitError
	}
	if d.Logger == nil {
		cfg.LogLevel = zapcore.ErrorLevel // the report is the output
	}
	c, err := connect(ctx, cfg, d, nil)
	if err != nil {
		return fail(err)
	}
	w, err := newWiring(cfg, c.kube, c.groups, controller.Options{ClusterName: cfg.ClusterName, Logger: c.log})
	if err != nil {
		return fail(err)
	}
	w.informers.Start(ctx)
	defer w.informers.Shutdown()
	if !w.informers.WaitForSync(ctx) {
		return fail(fmt.Errorf("could not list nodes and services: %w", ctx.Err()))
	}

	r := statusReader{
		cluster: cfg.ClusterName,
		kube:    c.kube,
		snap:    w.informers.Source(),
		groups:  func(b controller.Binding) targetGroupReader { return c.groups(b) },
		lease:   types.NamespacedName{Namespace: cfg.LeaderElection.Namespace, Name: cfg.LeaderElection.ID},
		now:     time.Now,
	}
	if r.lease.Namespace == "" {
		r.lease.Namespace = podNamespace()
	}
	if c.sgs != nil {
		rules, ok := c.sgs.Rules.(ruleReader)
		if !ok {
			return fail(fmt.Errorf("security groups: %T cannot list rules", c.sgs.Rules))
		}
		r.rules, r.selector = rules, c.sgs.Selector
	}
	s := r.read(ctx, w.bindings)

	if cfg.Output == config.OutputJSON || cfg.Output == config.OutputYAML {
		err = report.Encode(stdout, cfg.Output, s)
	} else {
		err = report.WriteStatus(stdout, s)
	}
	if err != nil {
		return fail(err)
	}
	for _, e := range s.Errors {
		fmt.Fprintf(stderr, "targetsync status: %s\n", e)
	}
	if len(s.Errors) > 0 {
		return ExitError
	}
	return ExitOK
}

// targetGroupReader and ruleReader are the only AWS calls status can make: reads.
type targetGroupReader interface {
	Describe(ctx context.Context, arn string) (elb.TargetGroup, error)
	Tags(ctx context.Context, arn string) (map[string]string, error)
}

type ruleReader interface {
	ResolveGroups(ctx context.Context, sel sg.GroupSelector) ([]string, error)
	Describe(ctx context.Context, ids ...string) ([]sg.Group, error)
}

var (
	_ targetGroupReader = (*elb.Client)(nil)
	_ ruleReader        = (*sg.Client)(nil)
)

// statusReader reads what status prints.
type statusReader struct {
	cluster string
	// kube is used for two reads: the Events on the bindings' Services and the Lease.
	kube   kubernetes.Interface
	snap   controller.Snapshotter
	groups func(controller.Binding) targetGroupReader
	// rules is nil when security groups are not managed.
	rules    ruleReader
	selector sg.GroupSelector
	lease    types.NamespacedName
	now      func() time.Time
}

func (r statusReader) read(ctx context.Context, bindings []controller.Binding) report.Status {
	now := r.now()
	s := report.Status{
		APIVersion: report.APIVersion, Kind: report.KindStatus, Cluster: r.cluster,
		ObservedAt: now.UTC(), Bindings: []report.BindingStatus{}, Errors: []string{},
	}
	ports := map[string][]int32{}
	events := map[types.NamespacedName][]corev1.Event{}
	for _, b := range bindings {
		var errs []error
		var snap *informer.Snapshot
		if got, err := r.snap.Snapshot(b.Query); err != nil {
			errs = append(errs, err)
		} else {
			snap = &got
			ports[b.Name] = []int32{got.TrafficPort, got.HealthCheckPort}
		}
		tg, err := r.targetGroup(ctx, b)
		if err != nil {
			errs = append(errs, err)
		}
		svc := b.Query.Traffic.Service
		if _, ok := events[svc]; !ok {
			if events[svc], err = r.events(ctx, svc); err != nil {
				errs = append(errs, err)
			}
		}
		bs := controller.BindingStatus(b, snap, tg)
		bs.LastChange, bs.LastWarning = controller.LastEvents(b, events[svc])
		for _, err := range errs {
			bs.Errors = append(bs.Errors, oneLine(err))
			s.Errors = append(s.Errors, fmt.Sprintf("binding %s: %s", b.Name, oneLine(err)))
		}
		s.Bindings = append(s.Bindings, bs)
	}
	if r.rules != nil {
		// A rule's usedBy names only bindings whose Service could be read; the others are
		// errors already.
		sgs, err := r.securityGroups(ctx, ports)
		if err != nil {
			sgs.Error = oneLine(err)
			s.Errors = append(s.Errors, "security groups: "+sgs.Error)
		}
		s.SecurityGroups = &sgs
	}
	var err error
	if s.Leader, err = r.leader(ctx, now); err != nil {
		s.Errors = append(s.Errors, oneLine(err))
	}
	return s
}

// targetGroup reads a binding's target group with its tags; nil when it could not be read.
func (r statusReader) targetGroup(ctx context.Context, b controller.Binding) (*elb.TargetGroup, error) {
	g := r.groups(b)
	tg, err := g.Describe(ctx, b.TargetGroupARN)
	if err != nil && tg.ARN == "" {
		return nil, err
	}
	// A group of the wrong target type is still reported, with the error.
	tags, tagErr := g.Tags(ctx, b.TargetGroupARN)
	if tagErr != nil {
		tagErr = fmt.Errorf("read tags of target group %s: %w", b.TargetGroupName(), tagErr)
	}
	tg.Tags = tags
	return &tg, errors.Join(err, tagErr)
}

// events lists the Events targetsync recorded on a Service.
func (r statusReader) events(ctx context.Context, svc types.NamespacedName) ([]corev1.Event, error) {
	sel := fields.Set{
		"involvedObject.kind": "Service",
		"involvedObject.name": svc.Name,
		"source":              controller.EventComponent,
	}.AsSelector().String()
	list, err := r.kube.CoreV1().Events(svc.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list Events of Service %s: %w", svc, err)
	}
	return list.Items, nil
}

func (r statusReader) securityGroups(ctx context.Context, ports map[string][]int32) (report.SecurityGroupsStatus, error) {
	empty := report.SecurityGroupsStatus{Groups: []report.SecurityGroupStatus{}}
	ids, err := r.rules.ResolveGroups(ctx, r.selector)
	if err != nil {
		return empty, err
	}
	groups, err := r.rules.Describe(ctx, ids...)
	if err != nil {
		return empty, err
	}
	return controller.SecurityGroupsStatus(groups, ports), nil
}

// leader reads the leader-election Lease. A missing Lease is no error: targetsync may run
// without --leader-elect.
func (r statusReader) leader(ctx context.Context, now time.Time) (report.Leader, error) {
	l := report.Leader{Namespace: r.lease.Namespace, Name: r.lease.Name}
	lease, err := r.kube.CoordinationV1().Leases(r.lease.Namespace).Get(ctx, r.lease.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return l, nil
	case err != nil:
		return l, fmt.Errorf("read Lease %s: %w", r.lease, err)
	}
	return leaderOf(l, lease.Spec, now), nil
}

// leaderOf fills l from a Lease's spec: who holds it, when it was last renewed, and whether
// that is within its duration of now.
func leaderOf(l report.Leader, spec coordinationv1.LeaseSpec, now time.Time) report.Leader {
	l.Found = true
	if spec.HolderIdentity != nil {
		l.Holder = *spec.HolderIdentity
	}
	if spec.LeaseDurationSeconds != nil {
		l.LeaseDurationSeconds = *spec.LeaseDurationSeconds
	}
	if spec.RenewTime != nil {
		t := spec.RenewTime.UTC()
		l.RenewTime = &t
		expires := t.Add(time.Duration(l.LeaseDurationSeconds) * time.Second)
		l.Held = l.Holder != "" && !now.After(expires)
	}
	return l
}
