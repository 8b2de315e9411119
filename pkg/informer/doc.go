// Package informer owns what targetsync reads from Kubernetes: shared informers on Nodes and
// Services, the rules that make a node a target, and the Snapshot a sync plans from.
//
// Event handlers here only decide whether a change matters and then call a trigger; they never
// call AWS. Nothing here writes to the cluster.
package informer
