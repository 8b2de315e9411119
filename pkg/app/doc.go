// Package app wires targetsync together for its commands: it builds the logger, the Kubernetes
// and AWS clients, the informers and the controller from a validated config, and serves the
// probes and metrics. It holds no logic of its own beyond wiring and exit codes.
package app
