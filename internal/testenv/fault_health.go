package testenv

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"regexp"
	"slices"
	"time"
)

// healthReasons are the reason and description AWS gives with a state.
var healthReasons = map[string][2]string{
	"initial":     {"Elb.RegistrationInProgress", "Target registration is in progress"},
	"unhealthy":   {"Target.ResponseCodeMismatch", "Health checks failed with these codes: [502]"},
	"draining":    {"Target.DeregistrationInProgress", "Target deregistration is in progress"},
	"unused":      {"Target.NotRegistered", "Target is not registered to the target group"},
	"unavailable": {"Target.HealthCheckDisabled", "Health checks are disabled"},
}

// SetHealth makes DescribeTargetHealth report every target with this IP in state (any of
// AWS's: initial, healthy, unhealthy, unused, draining, unavailable), with the reason AWS gives
// for it (unhealthy: Target.ResponseCodeMismatch), where moto says healthy at once and for
// ever. It wins over the initial and draining windows. An empty state stops rewriting it.
func (p *Proxy) SetHealth(ip, state string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if state == "" {
		delete(p.health, ip)
		return
	}
	p.health[ip] = state
}

// SetInitialFor reproduces the registration window of AWS: a target registered through the
// proxy reports state initial, reason Elb.RegistrationInProgress, for d after the
// RegisterTargets that added it (re-registering a registered target does not restart it), then
// whatever moto says. moto reports healthy at once. 0 turns it off.
func (p *Proxy) SetInitialFor(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.initialFor = d
}

// SetDeregistrationDelay reproduces connection draining: for d after a DeregisterTargets
// through the proxy, each target it carried keeps appearing in DescribeTargetHealth, state
// draining, reason Target.DeregistrationInProgress, unless the same Id:Port is registered again
// through the proxy. moto drops a deregistered target at once. 0 turns it off for later
// deregistrations.
func (p *Proxy) SetDeregistrationDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drainFor = d
}

func (p *Proxy) describeTargetHealth(w http.ResponseWriter, c *call) {
	resp, err := p.forward(c, c.body)
	if err == nil && resp.ok() {
		if body, ok := p.rewriteHealth(c, resp.body); ok {
			resp.body = body
		}
	}
	p.reply(w, resp, err)
}

// member is one TargetHealthDescription.
type member struct {
	ID, Port, AZ, HealthCheckPort, State, Reason, Description string
}

func (m *member) set(state string) {
	m.State = state
	r := healthReasons[state]
	m.Reason, m.Description = r[0], r[1]
}

var descriptionsRE = regexp.MustCompile(`(?s)<TargetHealthDescriptions>.*</TargetHealthDescriptions>|<TargetHealthDescriptions\s*/>`)

// rewriteHealth turns moto's DescribeTargetHealth answer into AWS's: the port asked about
// where moto answered for another, targets AWS holds that moto overwrote, draining targets,
// initial and overridden states, and AvailabilityZones moto does not keep.
func (p *Proxy) rewriteHealth(c *call, body []byte) ([]byte, bool) {
	var h healthXML
	loc := descriptionsRE.FindIndex(body)
	if loc == nil || xml.Unmarshal(body, &h) != nil {
		return nil, false
	}
	asked := c.targets()
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	g := p.groups[c.form.Get("TargetGroupArn")]
	if g == nil {
		g = newGroup()
	}
	var out []member
	seen := map[string]bool{}
	motoIDs := map[string]bool{}
	for i, x := range h.Members {
		m := member{ID: x.Target.ID, Port: x.Target.Port, AZ: x.Target.AZ, HealthCheckPort: x.HealthCheckPort,
			State: x.Health.State, Reason: x.Health.Reason, Description: x.Health.Description}
		motoIDs[m.ID] = true
		if i < len(asked) && asked[i].Port != "" && asked[i].Port != m.Port {
			// moto keys by Id and answered for the port it holds, not the one asked about.
			m = member{ID: asked[i].ID, Port: asked[i].Port, HealthCheckPort: m.HealthCheckPort}
			if _, ok := g.ghosts[keyOf(m.ID, m.Port)]; ok {
				m.State = "healthy"
			} else {
				m.set("unused")
			}
		}
		k := keyOf(m.ID, m.Port)
		if d, ok := g.draining[k]; ok && now.Before(d.until) && (m.State == "unused" || m.State == "unavailable") {
			m.set("draining")
		}
		seen[k] = true
		out = append(out, m)
	}
	if len(asked) == 0 {
		hc := ""
		if len(out) > 0 {
			hc = out[0].HealthCheckPort
		}
		for _, k := range sortedKeys(g.ghosts) {
			if gh := g.ghosts[k]; motoIDs[gh.ID] && !seen[k] {
				seen[k] = true
				out = append(out, member{ID: gh.ID, Port: gh.Port, HealthCheckPort: hc, State: "healthy"})
			}
		}
		for _, k := range sortedKeys(g.draining) {
			d := g.draining[k]
			switch {
			case !now.Before(d.until):
				delete(g.draining, k)
			case !seen[k]:
				m := member{ID: d.t.ID, Port: d.t.Port, AZ: d.t.AZ, HealthCheckPort: hc}
				m.set("draining")
				out = append(out, m)
			}
		}
	}
	var b bytes.Buffer
	b.WriteString("<TargetHealthDescriptions>")
	for _, m := range out {
		p.decorate(g, &m, now)
		b.WriteString("<member><Target>")
		renderXML(&b, "Id", m.ID)
		renderXML(&b, "Port", m.Port)
		renderXML(&b, "AvailabilityZone", m.AZ)
		b.WriteString("</Target>")
		renderXML(&b, "HealthCheckPort", m.HealthCheckPort)
		b.WriteString("<TargetHealth>")
		renderXML(&b, "State", m.State)
		renderXML(&b, "Reason", m.Reason)
		renderXML(&b, "Description", m.Description)
		b.WriteString("</TargetHealth></member>")
	}
	b.WriteString("</TargetHealthDescriptions>")
	return slices.Concat(body[:loc[0]], b.Bytes(), body[loc[1]:]), true
}

// decorate adds what AWS reports and moto does not: the zone the target was registered with,
// a state set by SetHealth, the initial window. p.mu must be held.
func (p *Proxy) decorate(g *group, m *member, now time.Time) {
	k := keyOf(m.ID, m.Port)
	if m.AZ == "" && m.State != "unused" && m.State != "unavailable" {
		if z, ok := g.zones[k]; ok {
			m.AZ = z
		} else if d, ok := g.draining[k]; ok && m.State == "draining" {
			m.AZ = d.t.AZ
		}
	}
	if st, ok := p.health[m.ID]; ok {
		m.set(st)
		return
	}
	if at, ok := g.registeredAt[k]; ok && m.State == "healthy" && now.Before(at.Add(p.initialFor)) {
		m.set("initial")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
