// Package elb owns the targets and the health-check settings of NLB target groups of type ip.
//
// It reads a target group's current state, computes a pure Plan from desired targets, and applies
// that plan in bounded chunks, registering before it deregisters. It takes plain values
// (Target, HealthCheck) and a narrow API interface; it never imports the informer or the
// controller, and it never touches a target group it was not handed by ARN.
package elb
