// Package controller owns the sync loop: for each binding it takes a snapshot of the cluster,
// reads the target group, computes a plan, takes out what must wait, checks the rest against
// the safety rules and applies it; one more worker keeps the worker security groups open on
// the union of every binding's NodePorts.
//
// Its rules:
//   - Nothing is planned from a snapshot it cannot trust, and nothing is written to a target
//     group or security group tagged as another cluster's.
//   - A plan never leaves a target group empty, and deregistering targets of nodes that still
//     exist never takes the healthy targets below the capacity guard's floor.
//   - One failure stops only what depends on it: a rule that is not in place holds back only
//     registrations on its new NodePort, never changes on a port already in use.
//   - Plans are made from a fresh read of the targets, except where the last read is as good
//     as a fresh one (seen.go): registrations, deleted nodes' targets, and healthy targets of
//     nodes no longer eligible while the last read is younger than one health-check interval.
//     Those are made from the targets as last read plus the changes applied since. Ownership
//     is checked the same way either way.
//   - Every sync ends in one Result, decided in classify; requeueing, the metric label and the
//     Event derive from it. Work waiting on AWS (target health, a rule, the quota) is polled.
//
// Changes are merged: the first change after a quiet period syncs at once, and changes that
// arrive while a sync runs, or within the minimum interval after a sync that changed something,
// are folded into the next one.
package controller
