package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// allBindings fills the target-group column of rows that serve every binding, as in the plan.
const allBindings = "(all)"

// WriteStatus prints s as the table `targetsync status` shows: one row per target, one for
// each binding's health-check port and one per security-group rule targetsync owns; then per
// binding its ARN and counts and what the API server records of its last change, the security
// groups, and the leader's Lease. Errors are not printed here; the command prints them on
// stderr.
func WriteStatus(w io.Writer, s Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET GROUP\tTARGET\tNODE/GROUP\tAWS\tCLUSTER")
	for _, b := range s.Bindings {
		tg := b.TargetGroup.Name
		for _, t := range b.Targets {
			fmt.Fprintf(tw, "%s\t%s:%d\t%s\t%s\t%s\n", tg, t.IP, t.Port, dash(t.Node), awsSide(t), clusterSide(t))
		}
		if hc := b.HealthCheck; hc != nil {
			fmt.Fprintf(tw, "%s\thealth-check port\t-\t%s\t%s\n", tg, hc.Port, hc.ClusterPort)
		}
	}
	if sgs := s.SecurityGroups; sgs != nil {
		for _, g := range sgs.Groups {
			for _, r := range g.Rules {
				used := "not in use"
				if len(r.UsedBy) > 0 {
					used = "in use: " + strings.Join(r.UsedBy, ", ")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", allBindings, r.Rule.Text, g.ID, r.ID, used)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, b := range s.Bindings {
		for _, line := range bindingSummary(b, s.Cluster, s.ObservedAt) {
			fmt.Fprintf(w, "%s: %s\n", b.TargetGroup.Name, line)
		}
	}
	if sgs := s.SecurityGroups; sgs != nil {
		fmt.Fprintf(w, "security groups: %s\n", groupsSummary(*sgs))
	}
	_, err := fmt.Fprintf(w, "leader: %s\n", leaderSummary(s.Leader, s.ObservedAt))
	return err
}

func awsSide(t TargetStatus) string {
	switch {
	case !t.Registered:
		return "not registered"
	case t.Reason != "":
		return fmt.Sprintf("%s (%s)", t.State, t.Reason)
	}
	return t.State
}

func clusterSide(t TargetStatus) string {
	switch {
	case t.Wanted:
		return "wanted"
	case t.Why == "":
		return PortUnknown
	}
	return "not wanted: " + t.Why
}

func bindingSummary(b BindingStatus, cluster string, now time.Time) []string {
	var out []string
	line := b.TargetGroup.ARN
	if b.HealthCheck != nil {
		registered, healthy, wanted := 0, 0, 0
		for _, t := range b.Targets {
			if t.Registered {
				registered++
			}
			if t.State == "healthy" {
				healthy++
			}
			if t.Wanted {
				wanted++
			}
		}
		line += fmt.Sprintf(", %d registered (%d healthy)", registered, healthy)
		if b.TrafficPort != 0 {
			line += fmt.Sprintf(", %d wanted on NodePort %d", wanted, b.TrafficPort)
		}
	} else {
		line += ", not read"
	}
	out = append(out, line)
	if hc := b.HealthCheck; hc != nil && hc.ClusterPort == PortUnknown {
		out = append(out, "health-check port unknown, left as it is: "+hc.ClusterDetail)
	}
	if b.OwnerCluster != "" && b.OwnerCluster != cluster {
		out = append(out, fmt.Sprintf("tagged targetsync.io/cluster=%s: another cluster's, never written by cluster %s", b.OwnerCluster, cluster))
	}
	if e := b.LastChange; e != nil {
		out = append(out, "last change "+eventLine(*e, now))
	} else {
		out = append(out, "no change recorded in the Events the API server keeps (--event-ttl, 1h by default)")
	}
	if e := b.LastWarning; e != nil {
		out = append(out, "last warning "+eventLine(*e, now))
	}
	return out
}

func eventLine(e Event, now time.Time) string {
	s := stamp(e.Time, now) + ": " + e.Reason
	if e.Count > 1 {
		s += fmt.Sprintf(" (x%d)", e.Count)
	}
	return s + ": " + e.Message
}

func groupsSummary(s SecurityGroupsStatus) string {
	if len(s.Groups) == 0 {
		if s.Error != "" {
			return "not read"
		}
		return "none selected"
	}
	parts := make([]string, 0, len(s.Groups))
	for _, g := range s.Groups {
		parts = append(parts, fmt.Sprintf("%s %d rules of targetsync, %d others", g.ID, len(g.Rules), g.OtherRules))
	}
	return strings.Join(parts, "; ")
}

func leaderSummary(l Leader, now time.Time) string {
	lease := "Lease " + l.Namespace + "/" + l.Name
	switch {
	case !l.Found:
		return "no " + lease + ": targetsync runs without --leader-elect, or in another namespace (--leader-election-namespace)"
	case l.Holder == "":
		s := lease + " not held"
		if l.RenewTime != nil {
			s += ", released " + stamp(*l.RenewTime, now)
		}
		return s
	}
	s := lease + " held by " + l.Holder
	if l.RenewTime != nil {
		s += ", renewed " + stamp(*l.RenewTime, now)
	}
	if !l.Held {
		s += "; expired: no replica renews it"
	}
	return s
}

// stamp is t in RFC 3339 UTC, with how long before now it was.
func stamp(t, now time.Time) string {
	s := t.UTC().Format(time.RFC3339)
	if !now.IsZero() && !now.Before(t) {
		s += fmt.Sprintf(" (%s ago)", now.Sub(t).Round(time.Second))
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
