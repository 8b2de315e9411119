package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "targetsync"

// Target change operations, the values of the op label.
const (
	OpRegister    = "register"
	OpDeregister  = "deregister"
	OpHealthCheck = "modify_health_check"
	OpAuthorize   = "authorize"
	OpRevoke      = "revoke"
)

// Owners of security-group rules, the values of the owner label.
const (
	OwnerTargetsync = "targetsync"
	OwnerOther      = "other"
)

// Metrics holds every metric targetsync exports.
type Metrics struct {
	TargetGroupTargets        *prometheus.GaugeVec
	TargetGroupDesiredTargets *prometheus.GaugeVec
	Syncs                     *prometheus.CounterVec
	SyncDuration              *prometheus.HistogramVec
	LastSuccessfulSync        *prometheus.GaugeVec
	TargetChanges             *prometheus.CounterVec
	AWSAPICalls               *prometheus.CounterVec
	AWSAPICallDuration        *prometheus.HistogramVec
	IsLeader                  prometheus.Gauge
	SecurityGroupRules        *prometheus.GaugeVec
	SecurityGroupRuleChanges  *prometheus.CounterVec
	SecurityGroupSyncs        *prometheus.CounterVec
	DeferredDeregistrations   *prometheus.GaugeVec
	CapacityFloor             *prometheus.GaugeVec
	PendingRegistrations      *prometheus.GaugeVec
	RejectedTargets           *prometheus.GaugeVec
	// BuildInfo is 1, labelled with the version and the Go version; the app sets it.
	BuildInfo *prometheus.GaugeVec
}

// New creates the metrics and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		TargetGroupTargets: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "target_group_targets",
			Help: "Targets registered in the target group, by health state as AWS reports it.",
		}, []string{"target_group", "state"}),
		TargetGroupDesiredTargets: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "target_group_desired_targets",
			Help: "Targets the cluster says the target group should hold.",
		}, []string{"target_group"}),
		Syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "syncs_total",
			Help: "Syncs of a target group, by result: success, retry (AWS or the API server failed; retried with backoff), no_retry (retrying cannot help; waits for a change or the resync), refused (input not trustworthy or owned by another cluster; nothing changed).",
		}, []string{"target_group", "result"}),
		SyncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "sync_duration_seconds",
			Help:    "Time one sync of a target group took, reads and changes included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"target_group"}),
		LastSuccessfulSync: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "last_successful_sync_timestamp_seconds",
			Help: "Unix time of the last sync that left the target group matching the cluster.",
		}, []string{"target_group"}),
		TargetChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "target_changes_total",
			Help: "Changes made to target groups: targets registered or deregistered, health checks modified.",
		}, []string{"target_group", "op"}),
		AWSAPICalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "aws_api_calls_total",
			Help: "AWS API requests, each attempt counted, by service, operation and result code (OK on success).",
		}, []string{"service", "operation", "code"}),
		AWSAPICallDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "aws_api_call_duration_seconds",
			Help:    "Duration of AWS API request attempts.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"service", "operation"}),
		IsLeader: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "is_leader",
			Help: "1 while this replica holds the leader Lease (or runs without leader election), 0 otherwise.",
		}),
		SecurityGroupRules: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "security_group_rules",
			Help: "Ingress rules of a managed worker security group, by owner: targetsync or other. Their sum counts against the per-group rule quota.",
		}, []string{"security_group", "owner"}),
		SecurityGroupRuleChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "security_group_rule_changes_total",
			Help: "Security-group ingress rules authorized or revoked.",
		}, []string{"op"}),
		SecurityGroupSyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "security_group_syncs_total",
			Help: "Reconciles of the worker security-group rules, which serve every binding at once, by result as for syncs_total.",
		}, []string{"result"}),
		DeferredDeregistrations: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "deferred_deregistrations",
			Help: "Deregistrations the healthy-capacity guard holds back until enough targets are healthy.",
		}, []string{"target_group"}),
		CapacityFloor: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "capacity_floor_targets",
			Help: "Least number of healthy targets the capacity guard keeps while deregistering targets of nodes that still exist; 0 when nothing is being deregistered.",
		}, []string{"target_group"}),
		PendingRegistrations: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "pending_registrations",
			Help: "Registrations that wait, by reason: quota (the target group's target quota is reached) or security_group_rule (the rule for a new NodePort is not in place yet).",
		}, []string{"target_group", "reason"}),
		RejectedTargets: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "rejected_targets",
			Help: "Targets AWS refused to register, by its error code; each is reported on its Node and tried again later.",
		}, []string{"target_group", "reason"}),
		BuildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "build_info",
			Help: "Always 1, labelled with the version of targetsync and the Go version it was built with.",
		}, []string{"version", "goversion"}),
	}
	reg.MustRegister(m.BuildInfo, m.SecurityGroupSyncs, m.DeferredDeregistrations, m.CapacityFloor, m.PendingRegistrations, m.RejectedTargets,
		m.SecurityGroupRules, m.SecurityGroupRuleChanges, m.TargetGroupTargets, m.TargetGroupDesiredTargets, m.Syncs, m.SyncDuration,
		m.LastSuccessfulSync, m.TargetChanges, m.AWSAPICalls, m.AWSAPICallDuration, m.IsLeader)
	return m
}
