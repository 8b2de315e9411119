package report

import "time"

// KindStatus is the kind of Status.
const KindStatus = "Status"

// Status is what `targetsync status` prints: for each binding the targets AWS holds and the
// cluster wants, the health-check port on both sides, and what the API server records of
// targetsync's last work; the security-group rules targetsync owns; and the leader's Lease.
//
// Nothing outside a running replica records when a sync last succeeded: a sync in steady state
// reads and writes nothing. What can be known is told instead: the last change AWS accepted
// (an Event on the Service; the API server keeps Events for its --event-ttl, 1h by default),
// the last warning, and whether a replica holds and renews the Lease.
type Status struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Cluster is --cluster-name.
	Cluster string `json:"cluster"`
	// ObservedAt is when status read the state.
	ObservedAt time.Time       `json:"observedAt"`
	Bindings   []BindingStatus `json:"bindings"`
	// SecurityGroups is absent when security groups are not managed.
	SecurityGroups *SecurityGroupsStatus `json:"securityGroups,omitempty"`
	// Leader is the leader-election Lease.
	Leader Leader `json:"leader"`
	// Errors lists what could not be read, the bindings' errors included; status exits 1 when
	// there is any.
	Errors []string `json:"errors"`
}

// BindingStatus is one binding as AWS and the cluster see it now.
type BindingStatus struct {
	Binding     string      `json:"binding"`
	TargetGroup TargetGroup `json:"targetGroup"`
	// OwnerCluster is the target group's targetsync.io/cluster tag; empty when untagged.
	OwnerCluster string `json:"ownerCluster,omitempty"`
	// TrafficPort is the NodePort the cluster wants targets on; 0 when the Service could not
	// be read.
	TrafficPort int32 `json:"trafficPort"`
	// Targets are the targets AWS holds and those the cluster wants, sorted by address and port.
	Targets []TargetStatus `json:"targets"`
	// HealthCheck is absent when the target group could not be read.
	HealthCheck *HealthCheckStatus `json:"healthCheck,omitempty"`
	// LastChange is the newest Event of a change AWS accepted for this target group
	// (TargetsRegistered, TargetsDeregistered, HealthCheckModified); absent when the API server
	// keeps none.
	LastChange *Event `json:"lastChange,omitempty"`
	// LastWarning is the newest Warning Event targetsync recorded for this target group
	// (SyncFailed, SyncRefused, ...); absent when there is none.
	LastWarning *Event `json:"lastWarning,omitempty"`
	// Errors lists what could not be read for this binding.
	Errors []string `json:"errors"`
}

// TargetStatus is one target.
type TargetStatus struct {
	IP   string `json:"ip"`
	Port int32  `json:"port"`
	// Node is the node with this IP; absent when no node has it.
	Node string `json:"node,omitempty"`
	// Registered is true when AWS lists the target (draining included).
	Registered bool `json:"registered"`
	// State and Reason are AWS's target health state and reason code; absent when not registered.
	State  string `json:"state,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Wanted is true when the cluster wants this target registered.
	Wanted bool `json:"wanted"`
	// Why says why the cluster does not want it: the node's reason (cordoned, ...), "no node
	// has this IP", or "NodePort is now N". Empty with Wanted false when the cluster's side is
	// unknown (the Service could not be read).
	Why string `json:"why,omitempty"`
}

// Values of HealthCheckStatus.ClusterPort besides a port number.
const (
	PortTraffic = "traffic-port"
	PortUnknown = "unknown"
)

// HealthCheckStatus is the health check in AWS next to what the cluster asks for.
type HealthCheckStatus struct {
	// Protocol, Port and Path are the target group's setting; Port is "traffic-port" or a number.
	Protocol string `json:"protocol,omitempty"`
	Port     string `json:"port"`
	Path     string `json:"path,omitempty"`
	// ClusterPort is what the cluster asks for: the health-check NodePort, "traffic-port"
	// when it names none, or "unknown" when the health-check Service or port is missing (the
	// health check is then left as it is).
	ClusterPort string `json:"clusterPort"`
	// ClusterDetail says why ClusterPort is unknown.
	ClusterDetail string `json:"clusterDetail,omitempty"`
	// RecordedPort is the targetsync.io/health-check-port tag: the port targetsync last set.
	RecordedPort string `json:"recordedPort,omitempty"`
}

// Event is one Kubernetes Event targetsync recorded.
type Event struct {
	// Time is when it last happened.
	Time    time.Time `json:"time"`
	Type    string    `json:"type"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	// Count is how often it happened, as the API server aggregated it.
	Count int32 `json:"count,omitempty"`
}

// Leader is the leader-election Lease.
type Leader struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Found is false when there is no such Lease: targetsync runs without --leader-elect, or
	// in another namespace.
	Found bool `json:"found"`
	// Holder is the replica holding it; empty when released.
	Holder               string     `json:"holder,omitempty"`
	RenewTime            *time.Time `json:"renewTime,omitempty"`
	LeaseDurationSeconds int32      `json:"leaseDurationSeconds,omitempty"`
	// Held is true when a replica holds the Lease and renewed it within its duration before
	// ObservedAt.
	Held bool `json:"held"`
}

// SecurityGroupsStatus lists the worker security groups and the rules targetsync owns in them.
type SecurityGroupsStatus struct {
	Groups []SecurityGroupStatus `json:"groups"`
	// Error says why the groups or their rules could not be read.
	Error string `json:"error,omitempty"`
}

// SecurityGroupStatus is one worker security group.
type SecurityGroupStatus struct {
	ID string `json:"id"`
	// Rules are the ingress rules carrying targetsync's ownership marker for this cluster.
	Rules []OwnedRule `json:"rules"`
	// OtherRules counts the group's other ingress rules, which share its rule quota.
	OtherRules int `json:"otherRules"`
}

// OwnedRule is an ingress rule targetsync owns.
type OwnedRule struct {
	ID          string `json:"id"`
	Rule        Rule   `json:"rule"`
	Description string `json:"description"`
	// UsedBy are the bindings whose traffic or health-check NodePort the rule's port range
	// holds; empty when none does (run revokes such a rule once every binding's ports are known).
	UsedBy []string `json:"usedBy"`
}
