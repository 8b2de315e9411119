// Package testenv starts the real components targetsync's integration tests run against: a
// kube-apiserver with etcd (controller-runtime's envtest, binaries from hack/setup-envtest.sh)
// and moto_server, which speaks the real ELBv2 and EC2 protocols, all on 127.0.0.1.
//
// Between the code under test and moto sits Proxy, a test double that fails the way AWS fails
// and moto does not: target quotas (TooManyTargets), IPs outside the VPC without
// AvailabilityZone all (ValidationError), per-target rejections, targets initial after
// registering and draining after deregistering, unhealthy on demand, Throttling,
// RequestLimitExceeded, 5xx and connection resets per operation, and calls held in flight for
// crash tests. It also journals every target registered and deregistered, for invariants.
//
// A missing component is a test failure, never a skip.
package testenv
