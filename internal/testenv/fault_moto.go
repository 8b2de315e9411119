package testenv

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// target is one Targets.member.N of a request.
type target struct {
	ID, Port, AZ string
}

// key is the target's identity in AWS, "ip:port" (or the bare Id without a port).
func (t target) key() string {
	if t.Port == "" {
		return t.ID
	}
	return net.JoinHostPort(t.ID, t.Port)
}

// targets returns the call's Targets.member.N in order.
func (c *call) targets() []target {
	var out []target
	for n := 1; ; n++ {
		prefix := "Targets.member." + strconv.Itoa(n) + "."
		id, ok := c.form[prefix+"Id"]
		if !ok {
			return out
		}
		out = append(out, target{ID: first(id), Port: c.form.Get(prefix + "Port"), AZ: c.form.Get(prefix + "AvailabilityZone")})
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// withTargets is the call's body with its targets replaced by ts.
func (c *call) withTargets(ts []target) []byte {
	form := url.Values{}
	for k, v := range c.form {
		if !strings.HasPrefix(k, "Targets.member.") {
			form[k] = v
		}
	}
	for i, t := range ts {
		prefix := "Targets.member." + strconv.Itoa(i+1) + "."
		form.Set(prefix+"Id", t.ID)
		if t.Port != "" {
			form.Set(prefix+"Port", t.Port)
		}
		if t.AZ != "" {
			form.Set(prefix+"AvailabilityZone", t.AZ)
		}
	}
	return []byte(form.Encode())
}

// healthXML is moto's (and AWS's) DescribeTargetHealth answer.
type healthXML struct {
	Members []struct {
		Target struct {
			ID   string `xml:"Id"`
			Port string `xml:"Port"`
			AZ   string `xml:"AvailabilityZone"`
		} `xml:"Target"`
		HealthCheckPort string `xml:"HealthCheckPort"`
		Health          struct {
			State, Reason, Description string
		} `xml:"TargetHealth"`
	} `xml:"DescribeTargetHealthResult>TargetHealthDescriptions>member"`
}

// ask sends a query-protocol request of its own to moto, signed as c's was (moto reads the
// access key for the account and the credential scope for the service, not the signature).
func (p *Proxy) ask(c *call, service string, form url.Values) (*response, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.req.Context()), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.upstream.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	auth := c.req.Header.Get("Authorization")
	if m := scopeRE.FindStringSubmatchIndex(auth); m != nil {
		auth = auth[:m[4]] + service + auth[m[5]:]
	} else {
		auth = "AWS4-HMAC-SHA256 Credential=testing/20260101/" + c.region + "/" + service + "/aws4_request, SignedHeaders=host, Signature=0"
	}
	req.Header.Set("Authorization", auth)
	resp, err := p.do(req)
	if err != nil {
		return nil, err
	}
	if !resp.ok() {
		return nil, fmt.Errorf("moto answered %s with %d: %s", form.Get("Action"), resp.status, resp.body)
	}
	return resp, nil
}

// KeepMotoViews makes the proxy remember moto's targets of each group from its own writes,
// instead of reading the whole group from moto before every RegisterTargets and
// DeregisterTargets. Those reads are how the proxy models AWS's Id:Port targets over moto's
// Id-keyed ones, and they cost what a DescribeTargetHealth of the group costs in moto (about
// 150 ms at 1,000 targets, 720 ms at 5,000, against 6 ms for the write itself), which would
// then be counted as the write's time. Only for callers that change moto's targets through the
// proxy alone, such as the benchmark harness: a change made behind its back goes unseen.
func (p *Proxy) KeepMotoViews() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keepViews = true
}

// motoTargets is the group's targets as moto holds them: Id -> Port (moto keys by Id). The
// caller owns the map.
func (p *Proxy) motoTargets(c *call, arn string) (map[string]string, error) {
	p.mu.Lock()
	view, ok := p.views[arn]
	p.mu.Unlock()
	if ok {
		return maps.Clone(view), nil
	}
	resp, err := p.ask(c, "elasticloadbalancing", url.Values{
		"Action": {"DescribeTargetHealth"}, "Version": {"2015-12-01"}, "TargetGroupArn": {arn},
	})
	if err != nil {
		return nil, err
	}
	var h healthXML
	if err := xml.Unmarshal(resp.body, &h); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(h.Members))
	for _, m := range h.Members {
		out[m.Target.ID] = m.Target.Port
	}
	p.keepView(arn, out)
	return maps.Clone(out), nil
}

// keepView records moto's view of the group after a write through the proxy (nil: unknown, read
// it again next time), if KeepMotoViews is on. p.mutate must be held.
func (p *Proxy) keepView(arn string, view map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case !p.keepViews:
	case view == nil:
		delete(p.views, arn)
	default:
		p.views[arn] = view
	}
}

// motoRegister registers t in moto, for a target AWS still holds after moto dropped it.
func (p *Proxy) motoRegister(c *call, arn string, t target) error {
	_, err := p.ask(c, "elasticloadbalancing", url.Values{
		"Action": {"RegisterTargets"}, "Version": {"2015-12-01"}, "TargetGroupArn": {arn},
		"Targets.member.1.Id": {t.ID}, "Targets.member.1.Port": {t.Port},
	})
	return err
}

// zoneOf is the Availability Zone of moto's subnet holding ip, or "" if none does.
func (p *Proxy) zoneOf(c *call, ip string) string {
	resp, err := p.ask(c, "ec2", url.Values{"Action": {"DescribeSubnets"}, "Version": {"2016-11-15"}})
	if err != nil {
		return ""
	}
	var s struct {
		Items []struct {
			CIDR string `xml:"cidrBlock"`
			AZ   string `xml:"availabilityZone"`
		} `xml:"subnetSet>item"`
	}
	if xml.Unmarshal(resp.body, &s) != nil {
		return ""
	}
	addr := net.ParseIP(ip)
	for _, it := range s.Items {
		if _, n, err := net.ParseCIDR(it.CIDR); err == nil && n.Contains(addr) {
			return it.AZ
		}
	}
	return ""
}

// emptyResult is the answer to a call the proxy carried out itself, in ELBv2's shape.
func emptyResult(action string) *response {
	body := fmt.Sprintf(`<%sResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><%sResult/>`+
		`<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, action, action, newRequestID(), action)
	return &response{status: http.StatusOK, header: http.Header{"Content-Type": {"text/xml"}}, body: []byte(body)}
}

func renderXML(b *bytes.Buffer, tag, value string) {
	if value == "" {
		return
	}
	b.WriteString("<" + tag + ">" + esc(value) + "</" + tag + ">")
}
