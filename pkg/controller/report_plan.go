package controller

import (
	"fmt"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/report"
	"github.com/targetsync/targetsync/pkg/sg"
)

// PlanReport is what WritePlan prints, as report.Plan for `plan -o json|yaml`: the same rows
// with the same words, split into what would be applied and what waits, and the same summaries
// in numbers. rules is nil when security groups are not managed.
func PlanReport(outcomes []Outcome, rules *RulesOutcome) report.Plan {
	p := report.Plan{APIVersion: report.APIVersion, Kind: report.KindPlan, InSync: true, Bindings: []report.PlanBinding{}}
	for _, o := range outcomes {
		b := planBinding(o)
		p.InSync = p.InSync && b.InSync
		p.Bindings = append(p.Bindings, b)
	}
	if rules != nil {
		r := rulesPlan(*rules)
		p.InSync = p.InSync && r.InSync
		p.SecurityGroups = &r
	}
	return p
}

func planBinding(o Outcome) report.PlanBinding {
	b := report.PlanBinding{
		Binding:        o.Binding.Name,
		TargetGroup:    targetGroupRef(o.Binding),
		InSync:         o.Err == nil && o.InSync(),
		TrafficPort:    o.Snapshot.TrafficPort,
		DesiredTargets: len(o.Desired),
		Changes:        []report.Change{},
		Waiting:        []report.Change{},
		Summary: report.Summary{
			Register:    len(o.Plan.Register),
			Deregister:  len(o.Plan.Deregister),
			HealthCheck: o.Plan.HealthCheck != nil,
			Waiting:     len(o.Capacity.Deferred) + len(o.Held) + len(o.Waiting) + len(o.OverQuota) + len(o.Rejected),
		},
	}
	if o.Err != nil {
		b.Error = o.Err.Error()
	}
	nodes := nodesByIP(o)
	row := func(action string, t elb.Target, why string) report.Change {
		return report.Change{Action: action, Target: t.String(), IP: t.IP.String(), Port: t.Port, Node: nodes[t.IP], Why: why}
	}
	apply := func(c report.Change) { b.Changes = append(b.Changes, c) }
	wait := func(c report.Change, waitsFor string) {
		c.WaitsFor = waitsFor
		b.Waiting = append(b.Waiting, c)
	}

	// The rows and words of writeRows, in its order.
	for _, t := range o.Plan.Register {
		apply(row(report.ActionRegister, t, "eligible node"))
	}
	for _, t := range o.Waiting {
		wait(row(report.ActionRegister, t, "waits for the security-group rule of its NodePort"), report.WaitsForSecurityGroupRule)
	}
	for _, t := range o.OverQuota {
		wait(row(report.ActionRegister, t, "waits: target quota reached"), report.WaitsForTargetQuota)
	}
	for _, r := range o.Rejected {
		c := row(report.ActionRegister, r.Target, fmt.Sprintf("rejected by AWS (%s), tried again later", r.Code))
		c.Code = r.Code
		wait(c, report.WaitsForRetry)
	}
	if hc := o.Plan.HealthCheck; hc != nil {
		why := "was " + hc.From.String()
		if hc.RecordOnly() {
			why = "unchanged; record the port in tag " + elb.TagHealthCheckPort
		}
		apply(healthCheckRow(*hc, why))
	}
	if hc := o.WaitingHealthCheck; hc != nil {
		wait(healthCheckRow(*hc, "waits for the security-group rule of its NodePort"), report.WaitsForSecurityGroupRule)
	}
	for _, t := range o.Plan.Deregister {
		apply(row(report.ActionDeregister, t, whyDeregister(nodes, t, o)))
	}
	g := o.Capacity
	for _, t := range g.Deferred {
		wait(row(report.ActionDeregister, t, fmt.Sprintf("%s; deferred: capacity guard keeps %d healthy of %d", whyDeregister(nodes, t, o), g.Floor, g.Healthy)),
			report.WaitsForCapacityGuard)
	}
	for _, t := range o.Held {
		wait(row(report.ActionDeregister, t, "waits for the node's registration on the new NodePort"), report.WaitsForNewNodePort)
	}
	return b
}

func healthCheckRow(hc elb.HealthCheckChange, why string) report.Change {
	return report.Change{
		Action: report.ActionHealthCheck,
		Target: hc.To.String(),
		Why:    why,
		HealthCheck: &report.HealthCheckChange{
			From:       healthCheckOf(hc.From),
			To:         healthCheckOf(hc.To),
			RecordOnly: hc.RecordOnly(),
		},
	}
}

func healthCheckOf(h elb.HealthCheck) report.HealthCheck {
	return report.HealthCheck{Protocol: h.Protocol, Port: healthCheckPort(h.Port), Path: h.Path}
}

// healthCheckPort spells a health-check port as the API and the tag do: a number, or
// traffic-port for 0.
func healthCheckPort(p int32) string {
	if p == 0 {
		return report.PortTraffic
	}
	return fmt.Sprint(p)
}

func rulesPlan(r RulesOutcome) report.RulesPlan {
	p := report.RulesPlan{
		InSync:   r.Err == nil && r.InSync(),
		Complete: r.Complete,
		Groups:   append([]string{}, r.Groups...),
		Changes:  []report.RuleChange{},
	}
	if r.Err != nil {
		p.Error = r.Err.Error()
	}
	for _, o := range r.Outcomes {
		for _, a := range o.Plan.Authorize {
			p.Changes = append(p.Changes, report.RuleChange{Action: report.ActionAuthorize, SecurityGroupID: o.Current.ID, Rule: ruleOf(a), Why: "NodePort in use"})
			p.Summary.Authorize++
		}
		for _, v := range o.Plan.Revoke {
			p.Changes = append(p.Changes, report.RuleChange{Action: report.ActionRevoke, SecurityGroupID: o.Current.ID, Rule: ruleOf(v.Rule), RuleID: v.ID, Why: "NodePort no longer in use"})
			p.Summary.Revoke++
		}
	}
	return p
}

func ruleOf(r sg.Rule) report.Rule {
	out := report.Rule{Protocol: r.Protocol, FromPort: r.FromPort, ToPort: r.ToPort, Text: r.String()}
	if r.CIDR.IsValid() {
		out.CIDR = r.CIDR.String()
	}
	return out
}

func targetGroupRef(b Binding) report.TargetGroup {
	return report.TargetGroup{Name: b.TargetGroupName(), ARN: b.TargetGroupARN}
}
