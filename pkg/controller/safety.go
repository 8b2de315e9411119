package controller

import (
	"errors"
	"fmt"

	"github.com/targetsync/targetsync/pkg/elb"
)

// ErrWouldEmpty is returned for a plan that would leave the target group with no target.
var ErrWouldEmpty = errors.New("plan would leave the target group with no target")

// checkPlan is the safety rule between plan and apply, so that run, plan and every later path
// share it: a plan that deregisters the last targets is refused. An empty target group drops
// every connection, and the snapshot behind such a plan (no eligible node at all) is far more
// often a cluster-wide blip than an intent; the stale targets cost nothing while they stay.
func checkPlan(p elb.Plan, current elb.TargetGroup) error {
	if len(p.Deregister) > 0 && len(p.Registered(current)) == 0 {
		return fmt.Errorf("%w: refusing to deregister all %d targets while no node is eligible", ErrWouldEmpty, len(p.Deregister))
	}
	return nil
}
