package controller

import (
	"fmt"
	"net/netip"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/metrics"
)

// Event reasons. Events about a binding are recorded on its ingress Service, those about one
// node's target on the Node, and those about the security-group rules on the first binding's
// Service.
const (
	ReasonTargetsRegistered      = "TargetsRegistered"
	ReasonTargetsDeregistered    = "TargetsDeregistered"
	ReasonHealthCheckModified    = "HealthCheckModified"
	ReasonSyncFailed             = "SyncFailed"
	ReasonSyncRefused            = "SyncRefused"
	ReasonRulesChanged           = "SecurityGroupRulesChanged"
	ReasonTargetRejected         = "TargetRejected"
	ReasonTargetQuotaReached     = "TargetQuotaReached"
	ReasonDeregistrationDeferred = "DeregistrationDeferred"
	ReasonWaitingForRule         = "WaitingForSecurityGroupRule"
	ReasonHealthCheckUnknown     = "HealthCheckServiceMissing"
)

// Reasons a registration waits, the values of the reason label of targetsync_pending_registrations.
const (
	PendingQuota = "quota"
	PendingRule  = "security_group_rule"
)

// record turns an outcome into metrics, Events and logs.
func (c *Controller) record(b Binding, out Outcome, start time.Time, log *zap.Logger) {
	tg := b.TargetGroupName()
	now := c.opts.Clock.Now()
	if m := c.opts.Metrics; m != nil {
		c.recordMetrics(m, tg, out, now.Sub(start))
		if out.Err == nil {
			m.LastSuccessfulSync.WithLabelValues(tg).Set(float64(now.UnixNano()) / 1e9)
		}
	}
	if out.Err == nil {
		st := c.state(b.Name)
		st.mu.Lock()
		st.lastSuccess = now
		st.mu.Unlock()
	}
	c.logChanges(out, log)
	c.recordEvents(b, out, log)

	switch out.Result {
	case Success:
		log.Debug("sync done", zap.Int("count", len(out.Desired)), zap.Duration("duration", now.Sub(start)))
	case Refused:
		log.Warn("sync refused; targets left as they are", zap.Error(out.Err))
		c.opts.Recorder.Eventf(b.serviceRef(), corev1.EventTypeWarning, ReasonSyncRefused, "Target group %s left unchanged: %v", tg, out.Err)
	default:
		log.Error("sync failed", zap.Error(out.Err), zap.String("result", out.Result.Label()))
		c.opts.Recorder.Eventf(b.serviceRef(), corev1.EventTypeWarning, ReasonSyncFailed, "Sync of target group %s failed: %v", tg, out.Err)
	}
}

func (c *Controller) recordMetrics(m *metrics.Metrics, tg string, out Outcome, took time.Duration) {
	m.Syncs.WithLabelValues(tg, out.Result.Label()).Inc()
	m.SyncDuration.WithLabelValues(tg).Observe(took.Seconds())
	m.TargetChanges.WithLabelValues(tg, metrics.OpRegister).Add(float64(len(out.Applied.Registered)))
	m.TargetChanges.WithLabelValues(tg, metrics.OpDeregister).Add(float64(len(out.Applied.Deregistered)))
	if out.Applied.HealthCheck {
		m.TargetChanges.WithLabelValues(tg, metrics.OpHealthCheck).Inc()
	}
	if out.Current.ARN == "" {
		return // nothing was read; the gauges keep their last values
	}
	counts := make(map[string]int, len(elb.States))
	for _, t := range out.Current.Targets {
		counts[t.State]++
	}
	for _, s := range elb.States {
		m.TargetGroupTargets.WithLabelValues(tg, s).Set(float64(counts[s]))
	}
	if out.Err == nil {
		m.TargetGroupDesiredTargets.WithLabelValues(tg).Set(float64(len(out.Desired)))
	}
	m.DeferredDeregistrations.WithLabelValues(tg).Set(float64(len(out.Capacity.Deferred)))
	m.CapacityFloor.WithLabelValues(tg).Set(float64(out.Capacity.Floor))
	m.PendingRegistrations.WithLabelValues(tg, PendingQuota).Set(float64(len(out.OverQuota)))
	m.PendingRegistrations.WithLabelValues(tg, PendingRule).Set(float64(len(out.Waiting)))
	reasons := map[string]int{}
	for _, r := range out.Rejected {
		reasons[r.Code]++
	}
	m.RejectedTargets.DeletePartialMatch(map[string]string{"target_group": tg})
	for code, n := range reasons {
		m.RejectedTargets.WithLabelValues(tg, code).Set(float64(n))
	}
}

// maxNodeEvents bounds the Events one sync records on Nodes. A start or a burst changes
// hundreds of targets at once: an Event each would be as many API writes, queued behind the
// client's rate limit for minutes (1,000 nodes: most of the idle CPU after a start), while the
// Service's Event already carries the count and the log names every target. Rejections name
// their first maxNodeEvents nodes; the log and targetsync_rejected_targets have them all.
const maxNodeEvents = 10

func (c *Controller) recordEvents(b Binding, out Outcome, log *zap.Logger) {
	tg := b.TargetGroupName()
	ref := b.serviceRef()
	rec := c.opts.Recorder
	if n := len(out.Applied.Registered); n > 0 {
		rec.Eventf(ref, corev1.EventTypeNormal, ReasonTargetsRegistered, "Registered %d targets in target group %s", n, tg)
	}
	if n := len(out.Applied.Deregistered); n > 0 {
		rec.Eventf(ref, corev1.EventTypeNormal, ReasonTargetsDeregistered, "Deregistered %d targets from target group %s", n, tg)
	}
	if out.Applied.HealthCheck {
		rec.Eventf(ref, corev1.EventTypeNormal, ReasonHealthCheckModified, "Health check of target group %s set to %s", tg, out.Plan.HealthCheck.To)
	}
	nodes := nodesByIP(out)
	// Each node whose target changed is told which and why, as plan says it, unless the sync
	// changed more targets than maxNodeEvents: then the Service's Event carries the count.
	if len(out.Applied.Registered) <= maxNodeEvents {
		for _, t := range out.Applied.Registered {
			if n, ok := nodes[t.IP]; ok {
				rec.Eventf(nodeRef(n), corev1.EventTypeNormal, ReasonTargetsRegistered,
					"Registered %s in target group %s: %s", t, tg, registerReason)
			}
		}
	}
	if len(out.Applied.Deregistered) <= maxNodeEvents {
		for _, t := range out.Applied.Deregistered {
			if n, ok := nodes[t.IP]; ok {
				rec.Eventf(nodeRef(n), corev1.EventTypeNormal, ReasonTargetsDeregistered,
					"Deregistered %s from target group %s: %s", t, tg, whyDeregister(nodes, t, out))
			}
		}
	}
	for i, r := range out.Applied.Rejected {
		log.Warn("target rejected by AWS", zap.String("ip", r.Target.IP.String()), zap.Int32("port", r.Target.Port),
			zap.String("code", r.Code), zap.String("message", r.Message))
		if n, ok := nodes[r.Target.IP]; ok && i < maxNodeEvents {
			rec.Eventf(nodeRef(n), corev1.EventTypeWarning, ReasonTargetRejected,
				"Target group %s rejected target %s: %s: %s", tg, r.Target, r.Code, r.Message)
		}
	}
	if err := out.Snapshot.HealthCheckErr; err != nil {
		rec.Eventf(ref, corev1.EventTypeWarning, ReasonHealthCheckUnknown, "Health check of target group %s left as it is: %v", tg, err)
	}
	if len(out.Waiting) > 0 || out.WaitingHealthCheck != nil {
		log.Info("waiting for security-group rule", zap.Int("count", len(out.Waiting)))
		rec.Eventf(ref, corev1.EventTypeNormal, ReasonWaitingForRule, "%d registrations in target group %s wait for the security-group rule of their NodePort", len(out.Waiting), tg)
	}

	st := c.state(b.Name)
	st.mu.Lock()
	deferredChanged := len(out.Capacity.Deferred) != st.lastDeferred
	quotaChanged := len(out.OverQuota) != st.lastOverQuota
	st.lastDeferred, st.lastOverQuota = len(out.Capacity.Deferred), len(out.OverQuota)
	st.mu.Unlock()
	if deferredChanged && len(out.Capacity.Deferred) > 0 {
		g := out.Capacity
		log.Info("deregistrations deferred by the capacity guard", zap.Int("count", len(g.Deferred)),
			zap.Int("healthy", g.Healthy), zap.Int("high", g.High), zap.Int("floor", g.Floor))
		rec.Eventf(ref, corev1.EventTypeNormal, ReasonDeregistrationDeferred,
			"%d deregistrations from target group %s wait: %d healthy targets, keeping at least %d (%s of the %d seen in the last %s)",
			len(g.Deferred), tg, g.Healthy, g.Floor, percent(1-c.opts.Capacity.MaxFraction), g.High, c.opts.Capacity.Window)
	}
	if quotaChanged && len(out.OverQuota) > 0 {
		log.Warn("target quota reached", zap.Int("count", len(out.OverQuota)))
		rec.Eventf(ref, corev1.EventTypeWarning, ReasonTargetQuotaReached,
			"%d targets do not fit in target group %s: its target quota is reached; deregistrations still happen", len(out.OverQuota), tg)
	}
}

func percent(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }

// nodesByIP names the node behind each address the outcome knows.
func nodesByIP(out Outcome) map[netip.Addr]string {
	m := make(map[netip.Addr]string, len(out.Snapshot.Targets)+len(out.Snapshot.Skipped))
	for _, n := range out.Snapshot.Skipped {
		if n.IP.IsValid() {
			m[n.IP] = n.Name
		}
	}
	for _, n := range out.Snapshot.Targets {
		m[n.IP] = n.Name
	}
	return m
}

// eventTarget is the object Events about the security-group rules are recorded on.
func (c *Controller) eventTarget() *corev1.ObjectReference {
	if len(c.order) == 0 {
		return nil
	}
	return c.order[0].serviceRef()
}

// registerReason is why a target is registered, as plan says it.
const registerReason = "eligible node"

func nodeRef(name string) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: name}
}

// logChanges logs one line per change, naming the node and the reason as plan does, e.g. the
// message "target group changed" with change "deregistered 10.0.1.12:30080 (worker-2:
// cordoned)". In dry-run mode it logs the plan ("planned change (dry run)", "would
// deregister ..."); otherwise what was really changed: on a partial failure, only the part
// that was done.
func (c *Controller) logChanges(out Outcome, log *zap.Logger) {
	msg, p, verbs := "target group changed", elb.Plan{Register: out.Applied.Registered, Deregister: out.Applied.Deregistered},
		[3]string{"registered", "deregistered", "health check set to"}
	if out.Applied.HealthCheck {
		p.HealthCheck = out.Plan.HealthCheck
	}
	if c.opts.DryRun {
		msg, p, verbs = "planned change (dry run)", out.Plan, [3]string{"would register", "would deregister", "would set the health check to"}
	}
	nodes := nodesByIP(out)
	line := func(op, verb string, t elb.Target, node, reason string) {
		about := reason
		if node != "-" {
			about = node + ": " + reason
		}
		log.Info(msg, zap.String("change", fmt.Sprintf("%s %s (%s)", verb, t, about)), zap.String("op", op),
			zap.String("ip", t.IP.String()), zap.Int32("port", t.Port), zap.String("node", node), zap.String("reason", reason))
	}
	for _, t := range p.Register {
		line(metrics.OpRegister, verbs[0], t, nodeName(nodes, t.IP), registerReason)
	}
	if hc := p.HealthCheck; hc != nil {
		log.Info(msg, zap.String("change", fmt.Sprintf("%s %s (was %s)", verbs[2], hc.To, hc.From)),
			zap.String("op", metrics.OpHealthCheck), zap.Stringer("from", hc.From), zap.Stringer("to", hc.To))
	}
	for _, t := range p.Deregister {
		line(metrics.OpDeregister, verbs[1], t, nodeName(nodes, t.IP), whyDeregister(nodes, t, out))
	}
}
