package app

import (
	"context"
	"fmt"
	"io"

	"go.uber.org/zap"

	"github.com/targetsync/targetsync/pkg/config"
	"github.com/targetsync/targetsync/pkg/controller"
	"github.com/targetsync/targetsync/pkg/report"
)

// Plan syncs every binding once without applying anything, prints the plans as a table (with
// --output json or yaml: as report.Plan), and returns ExitOK when everything is in sync,
// ExitDrift when something would change, and ExitError when a binding could not be planned.
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
	w, err := newWiring(cfg, c.kube, c.groups, controller.Options{
		ClusterName: cfg.ClusterName, Capacity: capacity(cfg),
		Logger: c.log.With(zap.Bool("dryRun", true)), SecurityGroups: c.sgs,
	})
	if err != nil {
		return fail(err)
	}
	w.informers.Start(ctx)
	defer w.informers.Shutdown()
	if !w.informers.WaitForSync(ctx) {
		return fail(fmt.Errorf("could not list nodes and services: %w", ctx.Err()))
	}

	// The bindings are read first: the security-group plan needs their load balancers, and
	// the target-group plans then see which NodePorts still wait for a rule.
	for _, b := range w.bindings {
		w.ctrl.Sync(ctx, b, false)
	}
	var rules *controller.RulesOutcome
	if c.sgs != nil {
		r := w.ctrl.SyncRules(ctx, false)
		rules = &r
	}
	var outcomes []controller.Outcome
	for _, b := range w.bindings {
		outcomes = append(outcomes, w.ctrl.Sync(ctx, b, false))
	}
	if cfg.Output == config.OutputJSON || cfg.Output == config.OutputYAML {
		err = report.Encode(stdout, cfg.Output, controller.PlanReport(outcomes, rules))
	} else {
		err = controller.WritePlan(stdout, outcomes, rules)
	}
	if err != nil {
		return fail(err)
	}
	code := ExitOK
	if rules != nil {
		switch {
		case rules.Err != nil:
			fmt.Fprintf(stderr, "targetsync plan: security groups: %s\n", oneLine(rules.Err))
			code = ExitError
		case !rules.InSync():
			code = ExitDrift
		}
	}
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
