// Package elb owns the targets and the health-check settings of NLB target groups of type ip.
//
// It reads a target group's current state (Describe, Tags), computes a pure, sorted Plan from
// the desired targets and health-check mode, and applies it. It takes plain values (Target,
// HealthCheck, netip.Prefix) and a narrow API interface; it never imports the informer or the
// controller, and it never touches a target group it was not handed by ARN.
//
// Its rules:
//   - Each change stands on its own. One rejected target never blocks another: a refused request
//     is halved until the refused targets stand alone, and the rest goes in.
//   - Make-before-break only where it protects something: a deregistration waits only for the
//     registration of the same node on its new port. Gone nodes are deregistered whatever
//     happened to the registrations.
//   - A full target group takes what fits; the rest is reported as over quota, not as an error,
//     and retried once if deregistrations made room.
//   - A target outside the VPC is sent with AvailabilityZone "all", in and out.
//   - The health check is changed only in HealthCheckSet and HealthCheckRelease modes, and a
//     release gives back only the port targetsync recorded in TagHealthCheckPort.
//   - Requests carry at most MaxTargetsPerCall targets. Apply never panics and always says,
//     target by target, what it did.
package elb
