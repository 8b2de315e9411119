package controller

import (
	"fmt"
	"io"
	"net/netip"
	"text/tabwriter"

	"github.com/targetsync/targetsync/pkg/elb"
)

// allBindings fills the target-group column of rows that serve every binding.
const allBindings = "(all)"

// WritePlan prints outcomes as the table `targetsync plan` shows: one row per change or waiting
// change, then one summary line per binding and one for the security-group rules (nil when
// they are not managed).
func WritePlan(w io.Writer, outcomes []Outcome, rules *RulesOutcome) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET GROUP\tCHANGE\tTARGET\tNODE/GROUP\tWHY")
	for _, o := range outcomes {
		writeRows(tw, o)
	}
	if rules != nil {
		for _, r := range rules.Outcomes {
			for _, a := range r.Plan.Authorize {
				fmt.Fprintf(tw, "%s\tauthorize\t%s\t%s\t%s\n", allBindings, a, r.Current.ID, "NodePort in use")
			}
			for _, v := range r.Plan.Revoke {
				fmt.Fprintf(tw, "%s\trevoke\t%s\t%s\t%s\n", allBindings, v.Rule, r.Current.ID, "NodePort no longer in use")
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, o := range outcomes {
		fmt.Fprintln(w, summary(o))
	}
	if rules != nil {
		fmt.Fprintln(w, rulesSummary(*rules))
	}
	return nil
}

func writeRows(tw io.Writer, o Outcome) {
	tg := o.Binding.TargetGroupName()
	nodes := nodesByIP(o)
	row := func(change string, t elb.Target, why string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", tg, change, t, nodeName(nodes, t.IP), why)
	}
	for _, t := range o.Plan.Register {
		row("register", t, "eligible node")
	}
	for _, t := range o.Waiting {
		row("register", t, "waits for the security-group rule of its NodePort")
	}
	for _, t := range o.OverQuota {
		row("register", t, "waits: target quota reached")
	}
	for _, r := range o.Rejected {
		row("register", r.Target, fmt.Sprintf("rejected by AWS (%s), tried again later", r.Code))
	}
	if hc := o.Plan.HealthCheck; hc != nil {
		why := "was " + hc.From.String()
		if hc.RecordOnly() {
			why = "unchanged; record the port in tag " + elb.TagHealthCheckPort
		}
		fmt.Fprintf(tw, "%s\thealth-check\t%s\t-\t%s\n", tg, hc.To, why)
	}
	if hc := o.WaitingHealthCheck; hc != nil {
		fmt.Fprintf(tw, "%s\thealth-check\t%s\t-\twaits for the security-group rule of its NodePort\n", tg, hc.To)
	}
	for _, t := range o.Plan.Deregister {
		row("deregister", t, whyDeregister(nodes, t, o))
	}
	g := o.Capacity
	for _, t := range g.Deferred {
		row("deregister", t, fmt.Sprintf("%s; deferred: capacity guard keeps %d healthy of %d", whyDeregister(nodes, t, o), g.Floor, g.Healthy))
	}
	for _, t := range o.Held {
		row("deregister", t, "waits for the node's registration on the new NodePort")
	}
}

func summary(o Outcome) string {
	tg := o.Binding.TargetGroupName()
	switch {
	case o.Err != nil:
		return fmt.Sprintf("%s: not planned: %v", tg, o.Err)
	case o.InSync():
		return fmt.Sprintf("%s: in sync, %d targets on port %d", tg, len(o.Desired), o.Snapshot.TrafficPort)
	}
	hc := "unchanged"
	if o.Plan.HealthCheck != nil {
		hc = "to change"
	}
	line := fmt.Sprintf("%s: %d to register, %d to deregister, health check %s", tg, len(o.Plan.Register), len(o.Plan.Deregister), hc)
	if n := len(o.Capacity.Deferred) + len(o.Held) + len(o.Waiting) + len(o.OverQuota) + len(o.Rejected); n > 0 {
		line += fmt.Sprintf(", %d waiting", n)
	}
	return line
}

func rulesSummary(r RulesOutcome) string {
	switch {
	case r.Err != nil:
		return fmt.Sprintf("security groups: not planned: %v", r.Err)
	case r.InSync():
		return fmt.Sprintf("security groups: in sync, %d groups", len(r.Outcomes))
	}
	var authorize, revoke int
	for _, o := range r.Outcomes {
		authorize += len(o.Plan.Authorize)
		revoke += len(o.Plan.Revoke)
	}
	return fmt.Sprintf("security groups: %d rules to authorize, %d to revoke", authorize, revoke)
}

func nodeName(nodes map[netip.Addr]string, ip netip.Addr) string {
	if n, ok := nodes[ip]; ok {
		return n
	}
	return "-"
}

func whyDeregister(nodes map[netip.Addr]string, t elb.Target, o Outcome) string {
	if _, ok := nodes[t.IP]; !ok {
		return "no node has this IP"
	}
	for _, n := range o.Snapshot.Skipped {
		if n.IP == t.IP && n.Reason != "" {
			return n.Reason
		}
	}
	if t.Port != o.Snapshot.TrafficPort {
		return fmt.Sprintf("NodePort is now %d", o.Snapshot.TrafficPort)
	}
	return "not wanted"
}
