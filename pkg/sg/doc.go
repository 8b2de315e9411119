// Package sg owns the worker security-group ingress rules that let the load balancer reach the
// NodePorts: TCP on exactly the traffic and health-check NodePorts in use, from each configured
// source (the VPC's CIDRs, the load balancer's private IPs, literal CIDRs), and nothing more.
//
// A rule is targetsync's only when it carries both halves of the ownership marker: the
// description "targetsync:<cluster>/<binding>" (DescriptionFormat, with SharedScope as the
// binding for rules serving every binding) and the rule tag OwnerTagKey set to the cluster name.
// The package never revokes a rule that lacks the targetsync ownership marker, never edits any
// rule, and never duplicates a rule someone else already opened. It authorizes before it
// revokes, takes plain values and a narrow API interface, and never registers metrics itself:
// it returns counts (Budget, Result) for the caller to export.
package sg
