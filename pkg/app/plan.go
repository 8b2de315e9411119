package app

import (
	"context"
	"fmt"
	"io"

	"go.uber.org/zap"

	"github.com/targetsync/targetsync/pkg/config"
	"github.com/targetsync/targetsync/pkg/controller"
)

// Plan syncs every binding once without applying anything, prints the plans as a table, and
// returns ExitOK when everything is in sync, ExitDrift when something would change, and
// ExitError when a binding could not be planned.
func Plan(ctx context.Context, cfg config.Config, d Deps, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "targetsync plan: %s\n", oneLine(err))
		return ExitError
	}
	if d.Logger == nil {
		// Plans go to stdout as a table; logs would only repeat them.
		cfg.LogLevel = "error"
	}
	c, err := connect(ctx, cfg, d, nil)
	if err != nil {
		return fail(err)
	}
	w, err := newWiring(cfg, c.kube, c.groups, controller.Options{Logger: c.log.With(zap.Bool("dryRun", true)), SecurityGroups: c.sgs})
	if err != nil {
		return fail(err)
	}
	w.informers.Start(ctx)
	defer w.informers.Shutdown()
	if !w.informers.WaitForSync(ctx) {
		return fail(fmt.Errorf("could not list nodes and services: %w", ctx.Err()))
	}

	var outcomes []controller.Outcome
	for _, b := range w.bindings {
		outcomes = append(outcomes, w.ctrl.Sync(ctx, b, false))
	}
	if err := controller.WritePlan(stdout, outcomes); err != nil {
		return fail(err)
	}
	code := ExitOK
	for _, o := range outcomes {
		switch {
		case o.Err != nil:
			fmt.Fprintf(stderr, "targetsync plan: binding %s: %s\n", o.Binding.Name, oneLine(o.Err))
			code = ExitError
		case !o.InSync() && code == ExitOK:
			code = ExitDrift
		}
	}
	return code
}
