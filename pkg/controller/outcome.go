package controller

import (
	"context"
	"errors"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
	"github.com/targetsync/targetsync/pkg/sg"
)

// Result is how one sync ended. It is decided in one place, classify, and everything else —
// requeueing, the metric label, the Event — derives from it.
type Result int

const (
	// Success: everything that could safely be done was done. Work that waits on purpose
	// (the capacity guard, the target quota, a security-group rule) is not a failure.
	Success Result = iota
	// Retry: AWS or the API server failed in a way that may pass; retried with backoff.
	Retry
	// NoRetry: retrying cannot help (the target group is gone, is of the wrong type, access
	// is denied); reported once and retried only on the next change or resync.
	NoRetry
	// Refused: the input cannot be trusted to plan from (Service missing, the plan would
	// empty the target group, the group belongs to another cluster); nothing was changed.
	Refused
)

// Label is the value of the result label of targetsync_syncs_total.
func (r Result) Label() string {
	switch r {
	case Retry:
		return "retry"
	case NoRetry:
		return "no_retry"
	case Refused:
		return "refused"
	}
	return "success"
}

// Results lists every result, so gauges and tests can cover them all.
var Results = []Result{Success, Retry, NoRetry, Refused}

// Errors that refuse a sync.
var (
	// ErrWouldEmpty is returned for a plan that would leave the target group with no target.
	ErrWouldEmpty = errors.New("plan would leave the target group with no target")
	// ErrForeignOwner is returned for a target group or security group tagged as another
	// cluster's.
	ErrForeignOwner = errors.New("owned by another cluster")
)

// classify decides the result of a sync that ended with err.
func classify(err error) Result {
	switch {
	case err == nil:
		return Success
	case errors.Is(err, informer.ErrService), errors.Is(err, ErrWouldEmpty),
		errors.Is(err, ErrForeignOwner), errors.Is(err, sg.ErrForeignGroup):
		return Refused
	case errors.Is(err, context.Canceled):
		return Retry
	case elb.IsTerminal(err), sg.IsTerminal(err):
		return NoRetry
	}
	return Retry
}
