package controller

import (
	"fmt"
	"io"
	"net/netip"
	"text/tabwriter"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
)

// WritePlan prints outcomes as the table `targetsync plan` shows: one row per change, then one
// summary line per binding.
func WritePlan(w io.Writer, outcomes []Outcome) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET GROUP\tCHANGE\tTARGET\tNODE/GROUP\tWHY")
	for _, o := range outcomes {
		tg := o.Binding.TargetGroupName()
		nodes := nodesByIP(o.Snapshot)
		for _, t := range o.Plan.Register {
			fmt.Fprintf(tw, "%s\tregister\t%s\t%s\t%s\n", tg, t, nodeName(nodes, t.IP), "eligible node")
		}
		if hc := o.Plan.HealthCheck; hc != nil {
			fmt.Fprintf(tw, "%s\thealth-check\t%s\t-\twas %s\n", tg, hc.To, hc.From)
		}
		for _, t := range o.Plan.Deregister {
			fmt.Fprintf(tw, "%s\tderegister\t%s\t%s\t%s\n", tg, t, nodeName(nodes, t.IP), whyDeregister(nodes, t, o.Snapshot))
		}
		for _, r := range o.Rules {
			for _, a := range r.Plan.Authorize {
				fmt.Fprintf(tw, "%s\tauthorize\t%s\t%s\t%s\n", tg, a, r.Current.ID, "NodePort in use")
			}
			for _, v := range r.Plan.Revoke {
				fmt.Fprintf(tw, "%s\trevoke\t%s\t%s\t%s\n", tg, v.Rule, r.Current.ID, "NodePort no longer in use")
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
	return nil
}

func summary(o Outcome) string {
	tg := o.Binding.TargetGroupName()
	switch {
	case o.Err != nil:
		return fmt.Sprintf("%s: not planned: %v", tg, o.Err)
	case o.InSync():
		return fmt.Sprintf("%s: in sync, %d targets on port %d", tg, len(o.Desired), o.Snapshot.TrafficPort)
	default:
		hc := "unchanged"
		if o.Plan.HealthCheck != nil {
			hc = "to change"
		}
		line := fmt.Sprintf("%s: %d to register, %d to deregister, health check %s", tg, len(o.Plan.Register), len(o.Plan.Deregister), hc)
		if len(o.Rules) > 0 {
			var authorize, revoke int
			for _, r := range o.Rules {
				authorize += len(r.Plan.Authorize)
				revoke += len(r.Plan.Revoke)
			}
			line += fmt.Sprintf(", %d security group rules to authorize, %d to revoke", authorize, revoke)
		}
		return line
	}
}

func nodesByIP(s informer.Snapshot) map[netip.Addr]informer.Node {
	m := make(map[netip.Addr]informer.Node, len(s.Targets)+len(s.Skipped))
	for _, n := range s.Skipped {
		if n.IP.IsValid() {
			m[n.IP] = n
		}
	}
	for _, n := range s.Targets {
		m[n.IP] = n
	}
	return m
}

func nodeName(nodes map[netip.Addr]informer.Node, ip netip.Addr) string {
	if n, ok := nodes[ip]; ok {
		return n.Name
	}
	return "-"
}

func whyDeregister(nodes map[netip.Addr]informer.Node, t elb.Target, s informer.Snapshot) string {
	n, ok := nodes[t.IP]
	switch {
	case !ok:
		return "no node has this IP"
	case n.Reason != "":
		return n.Reason
	case t.Port != s.TrafficPort:
		return fmt.Sprintf("NodePort is now %d", s.TrafficPort)
	default:
		return "not wanted"
	}
}
