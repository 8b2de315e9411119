// Package bench measures the real targetsync binary against a real kube-apiserver and the test
// AWS (moto behind testenv's proxy): latency from a node's change to the target group's, AWS
// calls by operation, resident memory and CPU time, scenario by scenario.
//
// It drives the binary through its flags only, as a Deployment would, and reads what it does
// from the outside: the proxy's journal of calls and target changes, the binary's /metrics,
// and /proc. It never decides a scenario is over by sleeping: it waits for a sync that
// changed nothing, as the metrics show it.
package bench
