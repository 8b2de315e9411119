package report

// KindPlan is the kind of Plan.
const KindPlan = "Plan"

// Plan is what `targetsync plan -o json|yaml` prints: every row and summary of the plan table,
// per binding, and the security-group rule changes. InSync is what exit code 0 means; with an
// error in any binding or in the security groups the command exits 1, otherwise 2 when InSync
// is false.
type Plan struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// InSync is true when no binding and no security group has anything to change or waiting,
	// and nothing failed.
	InSync   bool          `json:"inSync"`
	Bindings []PlanBinding `json:"bindings"`
	// SecurityGroups is absent when security groups are not managed.
	SecurityGroups *RulesPlan `json:"securityGroups,omitempty"`
}

// TargetGroup names a target group.
type TargetGroup struct {
	// Name is the name inside the ARN.
	Name string `json:"name"`
	ARN  string `json:"arn"`
}

// PlanBinding is one binding's plan: the table's rows of its target group and its summary line.
type PlanBinding struct {
	Binding     string      `json:"binding"`
	TargetGroup TargetGroup `json:"targetGroup"`
	// InSync is true when nothing would change, nothing waits and nothing failed.
	InSync bool `json:"inSync"`
	// Error says why the binding was not planned (the summary's "not planned: ..."); empty
	// when it was.
	Error string `json:"error,omitempty"`
	// TrafficPort is the NodePort targets are registered on; 0 when the Service could not be read.
	TrafficPort int32 `json:"trafficPort"`
	// DesiredTargets counts the eligible nodes, the targets the target group should hold.
	DesiredTargets int `json:"desiredTargets"`
	// Changes are what would be applied now, in the order of the table: registrations, the
	// health check, deregistrations.
	Changes []Change `json:"changes"`
	// Waiting are changes that are held back for now, each with WaitsFor set.
	Waiting []Change `json:"waiting"`
	Summary Summary  `json:"summary"`
}

// Actions of a Change, as the table's CHANGE column spells them.
const (
	ActionRegister    = "register"
	ActionDeregister  = "deregister"
	ActionHealthCheck = "health-check"
)

// Why a change waits: the values of Change.WaitsFor.
const (
	// WaitsForSecurityGroupRule: a registration (or health-check change) on a NodePort whose
	// security-group rule is not in place yet.
	WaitsForSecurityGroupRule = "securityGroupRule"
	// WaitsForTargetQuota: a registration that does not fit in the target group's quota.
	WaitsForTargetQuota = "targetQuota"
	// WaitsForRetry: a target AWS rejected a short while ago; it is tried again later.
	WaitsForRetry = "retryAfterRejection"
	// WaitsForCapacityGuard: a deregistration the healthy-capacity guard holds back.
	WaitsForCapacityGuard = "capacityGuard"
	// WaitsForNewNodePort: the old target of a moved NodePort, kept until the node is
	// registered on the new one.
	WaitsForNewNodePort = "newNodePortRegistration"
)

// Change is one row of the plan table.
type Change struct {
	// Action is register, deregister or health-check.
	Action string `json:"action"`
	// Target is the TARGET column: ip:port, or for a health-check change the new health check
	// (HTTP:30200/healthz, or traffic-port).
	Target string `json:"target"`
	// IP and Port are the target's; absent for a health-check change.
	IP   string `json:"ip,omitempty"`
	Port int32  `json:"port,omitempty"`
	// Node is the node with this IP in the cluster; absent when no node has it.
	Node string `json:"node,omitempty"`
	// Why is the WHY column, word for word.
	Why string `json:"why"`
	// WaitsFor is set on waiting changes only; see the WaitsFor constants.
	WaitsFor string `json:"waitsFor,omitempty"`
	// Code is AWS's error code for a target it rejected.
	Code string `json:"code,omitempty"`
	// HealthCheck is set on health-check changes.
	HealthCheck *HealthCheckChange `json:"healthCheck,omitempty"`
}

// HealthCheckChange is a health-check modification.
type HealthCheckChange struct {
	From HealthCheck `json:"from"`
	To   HealthCheck `json:"to"`
	// RecordOnly is true when the health check is already right and only the
	// targetsync.io/health-check-port tag would be written.
	RecordOnly bool `json:"recordOnly"`
}

// HealthCheck is a target group's health check.
type HealthCheck struct {
	Protocol string `json:"protocol,omitempty"`
	// Port is "traffic-port" or a port number.
	Port string `json:"port"`
	Path string `json:"path,omitempty"`
}

// Summary is a binding's summary line in numbers.
type Summary struct {
	Register   int `json:"register"`
	Deregister int `json:"deregister"`
	// HealthCheck is true when the health check would change.
	HealthCheck bool `json:"healthCheck"`
	// Waiting counts the target rows in Waiting (a waiting health-check change is not counted,
	// as in the table's summary).
	Waiting int `json:"waiting"`
}

// RulesPlan is the plan of the worker security-group rules of the whole cluster.
type RulesPlan struct {
	InSync bool   `json:"inSync"`
	Error  string `json:"error,omitempty"`
	// Complete is false when some binding's ports are unknown; then nothing is revoked.
	Complete bool `json:"complete"`
	// Groups are the worker security groups the selector names.
	Groups  []string     `json:"groups"`
	Changes []RuleChange `json:"changes"`
	Summary RulesSummary `json:"summary"`
}

// Actions of a RuleChange.
const (
	ActionAuthorize = "authorize"
	ActionRevoke    = "revoke"
)

// RuleChange is one rule row of the plan table (target group "(all)").
type RuleChange struct {
	// Action is authorize or revoke.
	Action          string `json:"action"`
	SecurityGroupID string `json:"securityGroupID"`
	Rule            Rule   `json:"rule"`
	// RuleID is the ID of a rule to revoke.
	RuleID string `json:"ruleID,omitempty"`
	Why    string `json:"why"`
}

// Rule is one ingress rule.
type Rule struct {
	Protocol string `json:"protocol"`
	FromPort int32  `json:"fromPort"`
	ToPort   int32  `json:"toPort"`
	// CIDR is the source; empty for a rule whose source is not a CIDR.
	CIDR string `json:"cidr"`
	// Text is the rule as the table prints it: "tcp 30080 from 10.0.0.0/16".
	Text string `json:"text"`
}

// RulesSummary is the security-group summary line in numbers.
type RulesSummary struct {
	Authorize int `json:"authorize"`
	Revoke    int `json:"revoke"`
}
