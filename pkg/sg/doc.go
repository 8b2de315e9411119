// Package sg owns the worker security-group ingress rules that let the load balancer reach the
// NodePorts. It never revokes a rule that lacks the targetsync ownership marker.
package sg
