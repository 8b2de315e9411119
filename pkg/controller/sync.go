package controller

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
	"github.com/targetsync/targetsync/pkg/metrics"
	"github.com/targetsync/targetsync/pkg/sg"
)

// Event reasons recorded on the ingress Service.
const (
	ReasonTargetsRegistered   = "TargetsRegistered"
	ReasonTargetsDeregistered = "TargetsDeregistered"
	ReasonHealthCheckModified = "HealthCheckModified"
	ReasonSyncFailed          = "SyncFailed"
	ReasonSyncRefused         = "SyncRefused"
	ReasonRulesChanged        = "SecurityGroupRulesChanged"
)

// Outcome is everything one sync of one binding saw and did.
type Outcome struct {
	Binding  Binding
	Snapshot informer.Snapshot
	Current  elb.TargetGroup
	Desired  []elb.Target
	Plan     elb.Plan
	Applied  elb.Result
	// Rules are the security-group reconciles, when security groups are managed.
	Rules []sg.Outcome
	// Result is one of the metrics.Result* values.
	Result string
	Err    error
}

// Sync brings one binding's target group in line with the cluster. With apply false it only
// plans: that is dry-run mode and the plan command.
func (c *Controller) Sync(ctx context.Context, b Binding, apply bool) Outcome {
	start := c.opts.Clock.Now()
	log := c.log.With(zap.String("binding", b.Name), zap.String("targetGroupARN", b.TargetGroupARN))
	out := c.sync(ctx, b, apply, log)
	c.record(b, out, start, log)
	return out
}

func (c *Controller) sync(ctx context.Context, b Binding, apply bool, log *zap.Logger) Outcome {
	out := Outcome{Binding: b}
	snap, err := c.snap.Snapshot(b.Query)
	if err != nil {
		out.Err = err
		out.Result = metrics.ResultError
		if errors.Is(err, informer.ErrService) {
			// The Service is the source of truth for the port; without it nothing is known,
			// so the registered targets are left exactly as they are.
			out.Result = metrics.ResultInvalid
		}
		return out
	}
	out.Snapshot = snap
	for _, n := range snap.Targets {
		out.Desired = append(out.Desired, elb.Target{IP: n.IP, Port: snap.TrafficPort})
	}

	groups := c.groups(b)
	current, err := groups.Describe(ctx, b.TargetGroupARN)
	if err != nil {
		out.Err, out.Result = err, metrics.ResultError
		return out
	}
	out.Current = current

	var hc elb.HealthCheck
	if snap.HealthCheckPort != 0 {
		hc = elb.HealthCheck{Protocol: "HTTP", Port: snap.HealthCheckPort, Path: b.HealthCheckPath}
	}
	out.Plan = elb.ComputePlan(out.Desired, hc, current)
	if err := checkPlan(out.Plan, current); err != nil {
		out.Err, out.Result = err, metrics.ResultInvalid
		return out
	}
	if c.opts.SecurityGroups != nil {
		out.Rules, err = c.syncRules(ctx, b, snap, current, apply)
		if err != nil {
			out.Err, out.Result = err, metrics.ResultError
			if errors.Is(err, sg.ErrNoSources) || errors.Is(err, sg.ErrNoGroups) {
				out.Result = metrics.ResultInvalid
			}
			return out
		}
	}
	if out.Plan.Empty() {
		out.Result = metrics.ResultSuccess
		return out
	}
	if !apply {
		logPlan(log, out.Plan, "planned change (dry run)")
		out.Result = metrics.ResultSuccess
		return out
	}
	out.Applied, err = groups.Apply(ctx, b.TargetGroupARN, out.Plan)
	logApplied(log, out.Plan, out.Applied)
	if err != nil {
		out.Err, out.Result = err, metrics.ResultError
		return out
	}
	out.Result = metrics.ResultSuccess
	return out
}

// InSync reports whether the sync found nothing to change.
func (o Outcome) InSync() bool {
	if !o.Plan.Empty() {
		return false
	}
	for _, r := range o.Rules {
		if !r.Plan.Empty() {
			return false
		}
	}
	return true
}

// changed reports whether the sync changed anything in AWS.
func (o Outcome) changed() bool {
	if !o.Applied.Empty() {
		return true
	}
	for _, r := range o.Rules {
		if !r.Applied.Empty() {
			return true
		}
	}
	return false
}

// record turns an outcome into metrics, Events, logs and readiness.
func (c *Controller) record(b Binding, out Outcome, start time.Time, log *zap.Logger) {
	tg := b.TargetGroupName()
	now := c.opts.Clock.Now()
	if m := c.opts.Metrics; m != nil {
		m.Syncs.WithLabelValues(tg, out.Result).Inc()
		m.SyncDuration.WithLabelValues(tg).Observe(now.Sub(start).Seconds())
		m.TargetChanges.WithLabelValues(tg, metrics.OpRegister).Add(float64(out.Applied.Registered))
		m.TargetChanges.WithLabelValues(tg, metrics.OpDeregister).Add(float64(out.Applied.Deregistered))
		if out.Applied.HealthCheck {
			m.TargetChanges.WithLabelValues(tg, metrics.OpHealthCheck).Inc()
		}
		if out.Current.ARN != "" {
			counts := make(map[string]int, len(elb.States))
			for _, t := range out.Current.Targets {
				counts[t.State]++
			}
			for _, s := range elb.States {
				m.TargetGroupTargets.WithLabelValues(tg, s).Set(float64(counts[s]))
			}
		}
		for _, r := range out.Rules {
			m.SecurityGroupRuleChanges.WithLabelValues(metrics.OpAuthorize).Add(float64(r.Applied.Authorized))
			m.SecurityGroupRuleChanges.WithLabelValues(metrics.OpRevoke).Add(float64(r.Applied.Revoked))
			m.SecurityGroupRules.WithLabelValues(r.Current.ID, metrics.OwnerTargetsync).Set(float64(r.Budget.Owned))
			m.SecurityGroupRules.WithLabelValues(r.Current.ID, metrics.OwnerOther).Set(float64(r.Budget.Other))
		}
		if out.Err == nil {
			m.TargetGroupDesiredTargets.WithLabelValues(tg).Set(float64(len(out.Desired)))
			m.LastSuccessfulSync.WithLabelValues(tg).Set(float64(now.UnixNano()) / 1e9)
		}
	}
	c.setStatus(b.Name, out, now)

	ref := b.serviceRef()
	if out.Applied.Registered > 0 {
		c.opts.Recorder.Eventf(ref, corev1.EventTypeNormal, ReasonTargetsRegistered, "Registered %d targets in target group %s", out.Applied.Registered, tg)
	}
	if out.Applied.Deregistered > 0 {
		c.opts.Recorder.Eventf(ref, corev1.EventTypeNormal, ReasonTargetsDeregistered, "Deregistered %d targets from target group %s", out.Applied.Deregistered, tg)
	}
	if out.Applied.HealthCheck {
		c.opts.Recorder.Eventf(ref, corev1.EventTypeNormal, ReasonHealthCheckModified, "Health check of target group %s set to %s", tg, out.Plan.HealthCheck.To)
	}
	for _, r := range out.Rules {
		if r.Applied.Empty() {
			continue
		}
		log.Info("security group rules changed", zap.String("securityGroupID", r.Current.ID),
			zap.Int("authorized", r.Applied.Authorized), zap.Int("revoked", r.Applied.Revoked))
		c.opts.Recorder.Eventf(ref, corev1.EventTypeNormal, ReasonRulesChanged, "Security group %s: %d rules authorized, %d revoked", r.Current.ID, r.Applied.Authorized, r.Applied.Revoked)
	}
	switch {
	case out.Err == nil:
		log.Debug("sync done", zap.Int("count", len(out.Desired)), zap.Duration("duration", now.Sub(start)))
	case out.Result == metrics.ResultInvalid:
		log.Warn("sync refused; targets left as they are", zap.Error(out.Err))
		c.opts.Recorder.Eventf(ref, corev1.EventTypeWarning, ReasonSyncRefused, "Target group %s left unchanged: %v", tg, out.Err)
	default:
		log.Error("sync failed", zap.Error(out.Err))
		c.opts.Recorder.Eventf(ref, corev1.EventTypeWarning, ReasonSyncFailed, "Sync of target group %s failed: %v", tg, out.Err)
	}
}

func logPlan(log *zap.Logger, p elb.Plan, msg string) {
	for _, t := range p.Register {
		log.Info(msg, zap.String("op", metrics.OpRegister), zap.String("ip", t.IP.String()), zap.Int32("port", t.Port))
	}
	if hc := p.HealthCheck; hc != nil {
		log.Info(msg, zap.String("op", metrics.OpHealthCheck), zap.Stringer("from", hc.From), zap.Stringer("to", hc.To))
	}
	for _, t := range p.Deregister {
		log.Info(msg, zap.String("op", metrics.OpDeregister), zap.String("ip", t.IP.String()), zap.Int32("port", t.Port))
	}
}

// logApplied logs what was really changed: on a partial failure, only the part that was done.
func logApplied(log *zap.Logger, p elb.Plan, r elb.Result) {
	done := elb.Plan{Register: p.Register[:r.Registered], Deregister: p.Deregister[:r.Deregistered]}
	if r.HealthCheck {
		done.HealthCheck = p.HealthCheck
	}
	logPlan(log, done, "target group changed")
}
