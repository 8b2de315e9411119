package testenv

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"time"
)

// group is what AWS would know about a target group beyond what moto holds. Keys are target
// keys ("ip:port").
type group struct {
	registeredAt map[string]time.Time // when a RegisterTargets through the proxy added it
	zones        map[string]string    // the AvailabilityZone it was registered with
	draining     map[string]drain     // deregistered through the proxy, draining until
	// ghosts are registered in AWS's sense but not in moto: moto keys targets by Id, so
	// registering ip:b overwrote ip:a there, while AWS holds both.
	ghosts map[string]target
}

type drain struct {
	t     target
	until time.Time
}

func newGroup() *group {
	return &group{registeredAt: map[string]time.Time{}, zones: map[string]string{},
		draining: map[string]drain{}, ghosts: map[string]target{}}
}

// group returns the bookkeeping for arn, creating it. p.mu must be held.
func (p *Proxy) group(arn string) *group {
	g := p.groups[arn]
	if g == nil {
		g = newGroup()
		p.groups[arn] = g
	}
	return g
}

// reconcile drops ghosts that moto's view (Id -> Port) contradicts: moto holds that very port
// again, or the Id is gone from moto altogether (changed behind the proxy's back).
func (g *group) reconcile(moto map[string]string) {
	for k, gh := range g.ghosts {
		if port, ok := moto[gh.ID]; !ok || port == gh.Port {
			delete(g.ghosts, k)
		}
	}
}

func keyOf(id, port string) string { return target{ID: id, Port: port}.key() }

// SetTargetQuota reproduces AWS's quota on targets per target group (n = 0: none, as in moto).
// A RegisterTargets that would leave the group with more than n targets fails whole with 400
// TooManyTargets and registers nothing. Targets already registered (same Id and Port) do not
// add; the group's current targets are read from moto, plus those AWS would hold on another
// port of the same Id.
func (p *Proxy) SetTargetQuota(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.quota = n
}

// SetVPCCIDRs makes the proxy check target addresses against the VPC as AWS does (none: no
// check, as in moto, which accepts any address). A RegisterTargets that names an IP outside all
// cidrs without an AvailabilityZone fails whole with 400 ValidationError ("The Availability
// Zone is required ..."); one that names an IP inside them with AvailabilityZone "all" fails
// whole too, as AWS will not move an address of its own VPC to "all". Nothing is registered.
func (p *Proxy) SetVPCCIDRs(cidrs ...netip.Prefix) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.vpc = slices.Clone(cidrs)
}

// RejectTarget makes every RegisterTargets that names ip fail whole with HTTP 400 code and
// message, registering nothing, as AWS refuses a whole request over one bad target (an
// address it does not accept, an instance in the wrong state). ClearFaults ends it too.
func (p *Proxy) RejectTarget(ip string, code, message string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rejected[ip] = Fault{Status: http.StatusBadRequest, Code: code, Message: message}
}

// AllowTarget ends RejectTarget for ip.
func (p *Proxy) AllowTarget(ip string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.rejected, ip)
}

// vet is AWS's validation of a RegisterTargets that needs no knowledge of the group.
func (p *Proxy) vet(c *call, ts []target) (Fault, bool) {
	p.mu.Lock()
	vpc := slices.Clone(p.vpc)
	rejected := make(map[string]Fault, len(p.rejected))
	for k, v := range p.rejected {
		rejected[k] = v
	}
	p.mu.Unlock()
	for _, t := range ts {
		if f, ok := rejected[t.ID]; ok {
			return f, true
		}
		addr, err := netip.ParseAddr(t.ID)
		if len(vpc) == 0 || err != nil {
			continue
		}
		inside := slices.ContainsFunc(vpc, func(n netip.Prefix) bool { return n.Contains(addr.Unmap()) })
		switch {
		case !inside && t.AZ == "":
			return validation("The Availability Zone is required for IP address '%s' because it is not in the VPC", t.ID), true
		case inside && t.AZ == "all":
			zone := p.zoneOf(c, t.ID)
			if zone == "" {
				zone = c.region + "a"
			}
			return validation("The IP address '%s' is within the VPC, and cannot have its Availability Zone overridden to 'all' from '%s'", t.ID, zone), true
		}
	}
	return Fault{}, false
}

func validation(format string, args ...any) Fault {
	return Fault{Status: http.StatusBadRequest, Code: "ValidationError", Message: fmt.Sprintf(format, args...)}
}

// overQuota checks the target quota against moto's view of the group. p.mu must be held.
func (p *Proxy) overQuota(g *group, moto map[string]string, ts []target) (Fault, bool) {
	if p.quota <= 0 {
		return Fault{}, false
	}
	have := map[string]bool{}
	for id, port := range moto {
		have[keyOf(id, port)] = true
	}
	for k := range g.ghosts {
		have[k] = true
	}
	for _, t := range ts {
		if t.Port == "" {
			t.Port = moto[t.ID]
		}
		have[t.key()] = true
	}
	if len(have) <= p.quota {
		return Fault{}, false
	}
	return Fault{Status: http.StatusBadRequest, Code: "TooManyTargets",
		Message: "You've reached the limit on the number of targets per target group"}, true
}

func (p *Proxy) registerTargets(w http.ResponseWriter, c *call) {
	arn, ts := c.form.Get("TargetGroupArn"), c.targets()
	if f, bad := p.vet(c, ts); bad {
		p.writeFault(w, c, f)
		return
	}
	p.mutate.Lock()
	defer p.mutate.Unlock()
	before, err := p.motoTargets(c, arn)
	if err != nil { // moto does not know the group: let it answer as it does
		resp, err := p.forward(c, c.body)
		p.reply(w, resp, err)
		return
	}
	p.mu.Lock()
	g := p.group(arn)
	g.reconcile(before)
	f, bad := p.overQuota(g, before, ts)
	p.mu.Unlock()
	if bad {
		p.writeFault(w, c, f)
		return
	}
	resp, err := p.forward(c, c.body)
	if err != nil || !resp.ok() {
		p.keepView(arn, nil) // moto may have done part of it
	} else {
		after, known := applied(before, ts)
		if known {
			p.keepView(arn, after)
		} else { // read it again; motoTargets keeps what it reads
			p.keepView(arn, nil)
			var aerr error
			after, aerr = p.motoTargets(c, arn)
			known = aerr == nil
		}
		p.mu.Lock()
		p.recordRegistered(g, ts, before, after, known)
		p.mu.Unlock()
	}
	p.reply(w, resp, err)
}

// applied is moto's view after it registered ts, as moto computes it (the last port given for
// an Id wins), if every target names its port; moto alone knows the group's default port.
func applied(before map[string]string, ts []target) (map[string]string, bool) {
	after := make(map[string]string, len(before)+len(ts))
	for id, port := range before {
		after[id] = port
	}
	for _, t := range ts {
		if t.Port == "" {
			return nil, false
		}
		after[t.ID] = t.Port
	}
	return after, true
}

// recordRegistered journals a successful RegisterTargets and keeps the group's bookkeeping.
// before and after are moto's views around it (after only if known). p.mu must be held.
func (p *Proxy) recordRegistered(g *group, ts []target, before, after map[string]string, known bool) {
	now := p.now()
	for _, t := range ts {
		if t.Port == "" {
			t.Port = after[t.ID]
		}
		k := t.key()
		p.registered = append(p.registered, k)
		p.changes = append(p.changes, Change{At: time.Now(), Target: k, Registered: true})
		delete(g.draining, k)
		if _, ghost := g.ghosts[k]; before[t.ID] != t.Port && !ghost { // new to the group
			g.registeredAt[k] = now
			if t.AZ != "" {
				g.zones[k] = t.AZ
			} else {
				delete(g.zones, k)
			}
		}
		if !known {
			continue
		}
		if after[t.ID] == t.Port {
			delete(g.ghosts, k)
		} else {
			g.ghosts[k] = target{ID: t.ID, Port: t.Port}
		}
	}
	if !known {
		return
	}
	for id, old := range before {
		if port, ok := after[id]; ok && port != old {
			g.ghosts[keyOf(id, old)] = target{ID: id, Port: old}
		}
	}
}

func (p *Proxy) deregisterTargets(w http.ResponseWriter, c *call) {
	arn, ts := c.form.Get("TargetGroupArn"), c.targets()
	p.mutate.Lock()
	defer p.mutate.Unlock()
	before, err := p.motoTargets(c, arn)
	if err != nil {
		resp, err := p.forward(c, c.body)
		p.reply(w, resp, err)
		return
	}
	// moto deregisters by Id whatever the port: send it only the targets it holds as asked.
	var send []target
	p.mu.Lock()
	g := p.group(arn)
	g.reconcile(before)
	for i, t := range ts {
		if t.Port == "" {
			t.Port = before[t.ID]
			ts[i] = t
		}
		_, ghost := g.ghosts[t.key()]
		switch held, ok := before[t.ID]; {
		case ghost:
		case ok && held != t.Port:
			p.mu.Unlock()
			p.writeFault(w, c, Fault{Status: http.StatusBadRequest, Code: "InvalidTarget",
				Message: "The specified target does not exist or is not in the same VPC as the target group."})
			return
		default:
			send = append(send, t)
		}
	}
	p.mu.Unlock()
	resp := emptyResult("DeregisterTargets")
	if len(send) > 0 {
		resp, err = p.forward(c, c.withTargets(send))
	}
	if err != nil || !resp.ok() {
		p.keepView(arn, nil)
		p.reply(w, resp, err)
		return
	}
	p.mu.Lock()
	back := p.recordDeregistered(g, ts, send)
	p.mu.Unlock()
	after := before
	for _, t := range send {
		delete(after, t.ID) // moto drops the Id whatever the port
	}
	for _, t := range back {
		if p.motoRegister(c, arn, t) == nil { // best effort; reconcile forgets it if this failed
			after[t.ID] = t.Port
		}
	}
	p.keepView(arn, after)
	p.reply(w, resp, err)
}

// recordDeregistered journals a successful DeregisterTargets, starts draining, and returns the
// ghosts moto must hold again because it dropped their Id whole. p.mu must be held.
func (p *Proxy) recordDeregistered(g *group, ts, sent []target) []target {
	now := p.now()
	for _, t := range ts {
		k := t.key()
		p.deregistered = append(p.deregistered, k)
		p.changes = append(p.changes, Change{At: time.Now(), Target: k})
		if p.drainFor > 0 {
			g.draining[k] = drain{t: target{ID: t.ID, Port: t.Port, AZ: g.zones[k]}, until: now.Add(p.drainFor)}
		}
		delete(g.registeredAt, k)
		delete(g.zones, k)
		delete(g.ghosts, k)
	}
	var back []target
	for _, t := range sent {
		for k, gh := range g.ghosts {
			if gh.ID == t.ID {
				back = append(back, gh)
				delete(g.ghosts, k)
				break
			}
		}
	}
	return back
}
