package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

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
	c, err := connect(ctx, cfg, d, nil, func(_ *zap.Logger, t kubeTarget) {
		fmt.Fprintf(stderr, "targetsync plan: comparing cluster %s (context %s) with %s\n", t.Server, t.Context, targetGroupNames(cfg))
	})
	if err != nil {
		return fail(err)
	}
	// The controller's lines about each sync say again what the table and the error lines say:
	// they are kept for --log-level debug.
	ctrlLog := zap.NewNop()
	if c.log.Core().Enabled(zap.DebugLevel) {
		ctrlLog = c.log.With(zap.Bool("dryRun", true))
	}
	w, err := newWiring(cfg, c.watch, c.groups, controller.Options{
		ClusterName: cfg.ClusterName, Capacity: capacity(cfg), DryRun: true,
		Logger: ctrlLog, SecurityGroups: c.sgs,
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
	// A binding that could not be planned has no rows: what it found is not what would happen.
	for i, o := range outcomes {
		if o.Err != nil {
			outcomes[i] = notPlanned(o)
		}
	}
	if rules != nil && rules.Err != nil {
		rules.Outcomes = nil
	}
	if cfg.Output == config.OutputJSON || cfg.Output == config.OutputYAML {
		err = report.Encode(stdout, cfg.Output, controller.PlanReport(outcomes, rules))
	} else {
		err = writePlan(stdout, outcomes, rules)
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

// notPlanned is o without the changes it found: a sync that failed or was refused changes
// nothing, and the error line says why.
func notPlanned(o controller.Outcome) controller.Outcome {
	return controller.Outcome{Binding: o.Binding, Snapshot: o.Snapshot, Current: o.Current, Err: o.Err, Result: o.Result}
}

// writePlan prints the plan table, or, when there is no row to show, only the summary lines:
// an in-sync plan is one line per binding. A binding or the rules that could not be planned
// get no summary line: their error is printed once, on stderr, with the exit code.
func writePlan(w io.Writer, outcomes []controller.Outcome, rules *controller.RulesOutcome) error {
	var buf bytes.Buffer
	if err := controller.WritePlan(&buf, outcomes, rules); err != nil {
		return err
	}
	var notPlanned []string
	for _, o := range outcomes {
		if o.Err != nil {
			notPlanned = append(notPlanned, o.Binding.TargetGroupName()+": not planned: ")
		}
	}
	if rules != nil && rules.Err != nil {
		notPlanned = append(notPlanned, "security groups: not planned: ")
	}
	table, summaries, _ := strings.Cut(buf.String(), "\n\n")
	var out []string
	if strings.Contains(table, "\n") { // a header and rows; a header alone is left out
		out = append(out, table, "")
	}
	for _, line := range strings.Split(strings.TrimSuffix(summaries, "\n"), "\n") {
		if line != "" && !slices.ContainsFunc(notPlanned, func(p string) bool { return strings.HasPrefix(line, p) }) {
			out = append(out, line)
		}
	}
	if len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	if len(out) == 0 {
		return nil
	}
	_, err := io.WriteString(w, strings.Join(out, "\n")+"\n")
	return err
}

// targetGroupNames lists the bound target groups for the start-up line.
func targetGroupNames(cfg config.Config) string {
	names := make([]string, 0, len(cfg.Bindings))
	for _, b := range cfg.Bindings {
		names = append(names, controller.Binding{TargetGroupARN: b.TargetGroupARN()}.TargetGroupName())
	}
	if len(names) == 1 {
		return "target group " + names[0]
	}
	return "target groups " + strings.Join(names, ", ")
}
