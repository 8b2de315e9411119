// Package testenv starts the real components targetsync's integration tests run against: a
// kube-apiserver with etcd (controller-runtime's envtest, binaries from hack/setup-envtest.sh)
// and moto_server, which speaks the real ELBv2 and EC2 protocols, all on 127.0.0.1. It also has
// a recording proxy in front of moto, for counting AWS calls and for faking target health
// transitions moto does not model.
//
// A missing component is a test failure, never a skip.
package testenv
