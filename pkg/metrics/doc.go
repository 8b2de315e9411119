// Package metrics owns targetsync's Prometheus metrics. Their names and labels are a contract:
// alerts and dashboards are written against them.
//
// Labels come only from small fixed sets (state, op, result, operation, code) and the target
// group's name; never an IP, a node name or an instance ID. Metrics are registered on the
// registry handed to New, never in init.
package metrics
