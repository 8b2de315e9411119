// Package controller owns the sync loop: for each binding it takes a snapshot of the cluster,
// reads the target group, computes a plan, checks it against the safety rules and applies it.
//
// Changes are merged: the first change after a quiet period syncs at once, and changes that
// arrive while a sync runs, or within the minimum interval after a sync that changed the target
// group, are folded into the next one. The controller never plans from a snapshot it cannot trust, and never applies a plan that
// would leave a target group with no target at all.
package controller
