// Package sg owns the worker security-group ingress rules that let the load balancer reach the
// NodePorts: TCP on exactly the traffic and health-check NodePorts in use, from each configured
// source (the VPC's CIDRs, the load balancer's private IPs, literal CIDRs), and nothing more.
//
// There is one owner marker per cluster, and one reconciler per cluster over the union of its
// bindings' ports. A rule is targetsync's only when it carries both halves of the marker: a
// description starting "targetsync:<cluster>/" (new rules get DescriptionFormat with
// SharedScope; older per-binding rules are recognised and migrated) and the rule tag OwnerTagKey
// set to the cluster name.
//
// The package never revokes a rule that lacks the marker, never edits any rule, never
// duplicates a rule someone else already opened, and never writes to a security group tagged
// GroupTagCluster for another cluster. It revokes nothing while the desired set is incomplete
// and authorizes before it revokes. Every change goes read (Describe) → pure plan (ComputePlan)
// → check (Check) → apply (Apply). It takes plain values and a narrow API interface, and never
// registers metrics itself: it returns counts (Budget, Result) for the caller to export.
package sg
