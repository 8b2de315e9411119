package controller

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
	"github.com/targetsync/targetsync/pkg/report"
	"github.com/targetsync/targetsync/pkg/sg"
)

// EventComponent is the source component of the Events targetsync records.
const EventComponent = "targetsync"

// BindingStatus is one binding's part of `targetsync status`: every target tg holds and every
// target snap wants, sorted, each with its node and, when the cluster does not want it, why —
// in the words of the plan — and the health check on both sides. A nil snap or tg was not
// read; the other side is still reported.
func BindingStatus(b Binding, snap *informer.Snapshot, tg *elb.TargetGroup) report.BindingStatus {
	s := report.BindingStatus{Binding: b.Name, TargetGroup: targetGroupRef(b), Targets: []report.TargetStatus{}, Errors: []string{}}
	o := Outcome{Binding: b}
	wanted := map[elb.Target]bool{}
	if snap != nil {
		o.Snapshot = *snap
		s.TrafficPort = snap.TrafficPort
		for _, n := range snap.Targets {
			wanted[elb.Target{IP: n.IP, Port: snap.TrafficPort}] = true
		}
	}
	nodes := nodesByIP(o)
	seen := map[elb.Target]bool{}
	var targets []elb.Target
	rows := map[elb.Target]report.TargetStatus{}
	if tg != nil {
		for _, t := range tg.Targets {
			if seen[t.Target] {
				continue
			}
			seen[t.Target] = true
			targets = append(targets, t.Target)
			r := targetRow(t.Target, nodes, wanted[t.Target])
			r.Registered, r.State, r.Reason = true, t.State, t.Reason
			if snap != nil && !r.Wanted {
				r.Why = whyDeregister(nodes, t.Target, o)
			}
			rows[t.Target] = r
		}
		s.OwnerCluster = tg.Tags[elb.TagCluster]
		hc := healthCheckStatus(snap, *tg)
		s.HealthCheck = &hc
	}
	for t := range wanted {
		if !seen[t] {
			targets = append(targets, t)
			rows[t] = targetRow(t, nodes, true)
		}
	}
	slices.SortFunc(targets, elb.Target.Compare)
	for _, t := range targets {
		s.Targets = append(s.Targets, rows[t])
	}
	return s
}

func targetRow(t elb.Target, nodes map[netip.Addr]string, wanted bool) report.TargetStatus {
	return report.TargetStatus{IP: t.IP.String(), Port: t.Port, Node: nodes[t.IP], Wanted: wanted}
}

// healthCheckStatus is tg's health check next to what snap asks for.
func healthCheckStatus(snap *informer.Snapshot, tg elb.TargetGroup) report.HealthCheckStatus {
	h := tg.HealthCheck
	s := report.HealthCheckStatus{Protocol: h.Protocol, Port: healthCheckPort(h.Port), Path: h.Path, RecordedPort: tg.Tags[elb.TagHealthCheckPort]}
	switch {
	case snap == nil:
		s.ClusterPort, s.ClusterDetail = report.PortUnknown, "the Service could not be read"
	case snap.HealthCheckErr != nil:
		s.ClusterPort, s.ClusterDetail = report.PortUnknown, snap.HealthCheckErr.Error()
	default:
		s.ClusterPort = healthCheckPort(snap.HealthCheckPort)
	}
	return s
}

// Reasons of the Events that say AWS accepted a change.
var changeReasons = []string{ReasonTargetsRegistered, ReasonTargetsDeregistered, ReasonHealthCheckModified}

// LastEvents picks, from the Events on b's Service, the newest one of a change AWS accepted
// for b's target group and the newest warning about it. Events record on the Service, which
// several bindings may share, so an Event counts for b when its message names b's target group,
// as every message about a target group does ("... target group NAME ...").
func LastEvents(b Binding, events []corev1.Event) (change, warning *report.Event) {
	ref := b.serviceRef()
	var lastChange, lastWarning time.Time
	for _, e := range events {
		o := e.InvolvedObject
		if o.Kind != ref.Kind || o.Namespace != ref.Namespace || o.Name != ref.Name ||
			(e.Source.Component != EventComponent && e.ReportingController != EventComponent) ||
			!namesTargetGroup(e.Message, b.TargetGroupName()) {
			continue
		}
		at := eventTime(e)
		switch {
		case e.Type == corev1.EventTypeWarning && (warning == nil || at.After(lastWarning)):
			warning, lastWarning = eventOf(e, at), at
		case e.Type != corev1.EventTypeWarning && slices.Contains(changeReasons, e.Reason) && (change == nil || at.After(lastChange)):
			change, lastChange = eventOf(e, at), at
		}
	}
	return change, warning
}

// namesTargetGroup reports whether msg names the target group tg, as "target group tg"
// followed by the end, a space or a colon, so web names neither web-http nor web.
func namesTargetGroup(msg, tg string) bool {
	for _, prefix := range []string{"target group ", "Target group "} {
		needle := prefix + tg
		for rest := msg; ; {
			i := strings.Index(rest, needle)
			if i < 0 {
				break
			}
			rest = rest[i+len(needle):]
			if rest == "" || rest[0] == ' ' || rest[0] == ':' {
				return true
			}
		}
	}
	return false
}

// eventTime is when an Event last happened, whichever API wrote it.
func eventTime(e corev1.Event) time.Time {
	t := e.LastTimestamp.Time
	if e.Series != nil && e.Series.LastObservedTime.After(t) {
		t = e.Series.LastObservedTime.Time
	}
	if e.EventTime.After(t) {
		t = e.EventTime.Time
	}
	if t.IsZero() {
		t = e.FirstTimestamp.Time
	}
	return t
}

func eventOf(e corev1.Event, at time.Time) *report.Event {
	return &report.Event{Time: at.UTC(), Type: e.Type, Reason: e.Reason, Message: e.Message, Count: e.Count}
}

// SecurityGroupsStatus lists, for each group, the rules targetsync owns, each with the bindings
// whose traffic or health-check NodePort its port range holds (ports: binding name to ports),
// and counts the group's other rules.
func SecurityGroupsStatus(groups []sg.Group, ports map[string][]int32) report.SecurityGroupsStatus {
	names := make([]string, 0, len(ports))
	for name := range ports {
		names = append(names, name)
	}
	slices.Sort(names)
	s := report.SecurityGroupsStatus{Groups: []report.SecurityGroupStatus{}}
	for _, g := range groups {
		gs := report.SecurityGroupStatus{ID: g.ID, Rules: []report.OwnedRule{}, OtherRules: g.Budget().Other}
		for _, r := range g.Rules {
			if !r.Owned {
				continue
			}
			used := []string{}
			for _, name := range names {
				if slices.ContainsFunc(ports[name], func(p int32) bool { return p != 0 && r.FromPort <= p && p <= r.ToPort }) {
					used = append(used, name)
				}
			}
			gs.Rules = append(gs.Rules, report.OwnedRule{ID: r.ID, Rule: ruleOf(r.Rule), Description: r.Description, UsedBy: used})
		}
		s.Groups = append(s.Groups, gs)
	}
	return s
}
