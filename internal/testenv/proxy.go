package testenv

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// Proxy sits between the code under test and moto and turns moto into an AWS double that fails
// the way AWS fails. moto speaks the real protocols but is kinder than AWS: it never throttles,
// reports IP targets healthy at once and never draining, has no target quota, accepts addresses
// outside the VPC, forgets a target's AvailabilityZone and keys targets by Id alone. The proxy
// adds those behaviours back (see fault.go, fault_targets.go, fault_health.go), counts every
// call by action, journals what reached moto, and can hold a call in flight for crash tests.
//
// Every setting applies to calls that go through the proxy; moto's own state is what tests
// that talk to moto directly (AWS from NewAWS(ctx, moto.URL)) see.
type Proxy struct {
	URL      string
	server   *http.Server
	upstream *url.URL
	client   *http.Client
	closed   chan struct{}
	once     sync.Once

	// mutate serialises RegisterTargets and DeregisterTargets from reading moto's view of the
	// group to recording the outcome, so the quota check and the Id:Port bookkeeping see a group
	// no other call through the proxy is changing.
	mutate sync.Mutex

	mu           sync.Mutex
	now          func() time.Time
	calls        map[string]int
	registered   []string
	deregistered []string
	faults       map[string]*faultRule
	holds        map[string]*gate
	quota        int
	vpc          []netip.Prefix
	rejected     map[string]Fault  // target IP -> how RegisterTargets naming it fails
	health       map[string]string // target IP -> state to report
	initialFor   time.Duration
	drainFor     time.Duration
	groups       map[string]*group // target group ARN -> what AWS would know that moto does not
	keepViews    bool
	views        map[string]map[string]string // target group ARN -> moto's Id -> Port, if keepViews
	timed        []Call
	changes      []Change
}

// StartProxy starts a proxy to the AWS endpoint upstream on a free loopback port.
func StartProxy(upstream string) (*Proxy, error) {
	target, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		URL:      "http://" + ln.Addr().String(),
		upstream: target,
		client:   &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: time.Minute},
		closed:   make(chan struct{}),
		now:      time.Now,
		calls:    map[string]int{},
		faults:   map[string]*faultRule{},
		holds:    map[string]*gate{},
		rejected: map[string]Fault{},
		health:   map[string]string{},
		groups:   map[string]*group{},
		views:    map[string]map[string]string{},
	}
	p.server = &http.Server{Handler: http.HandlerFunc(p.serve)}
	go func() { _ = p.server.Serve(ln) }()
	return p, nil
}

// Close stops the proxy. Calls being held are dropped without an answer and never reach moto.
func (p *Proxy) Close() error {
	p.once.Do(func() { close(p.closed) })
	err := p.server.Close()
	p.client.CloseIdleConnections()
	return err
}

// SetClock replaces the clock that initial and draining windows are measured with (nil:
// time.Now), so tests can step through them without waiting.
func (p *Proxy) SetClock(now func() time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now == nil {
		now = time.Now
	}
	p.now = now
}

// call is one AWS query-protocol request as the proxy received it.
type call struct {
	req     *http.Request
	body    []byte
	form    url.Values
	action  string
	service string // "ec2" or "elasticloadbalancing": which XML dialect errors are written in
	region  string
}

// scopeRE matches a SigV4 credential scope: access key, date, region, service.
var scopeRE = regexp.MustCompile(`Credential=[^/,]+/[^/,]+/([^/,]+)/([^/,]+)/aws4_request`)

func newCall(r *http.Request, body []byte) *call {
	c := &call{req: r, body: body, service: "elasticloadbalancing", region: "us-east-1"}
	if form, err := url.ParseQuery(string(body)); err == nil {
		c.form = form
		c.action = form.Get("Action")
	} else {
		c.form = url.Values{}
	}
	// The SigV4 credential scope names the service; both services share moto's URL.
	if m := scopeRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		c.region, c.service = m[1], m[2]
	} else if c.form.Get("Version") == "2016-11-15" {
		c.service = "ec2"
	}
	return c
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := newCall(r, body)
	if c.action != "" {
		p.mu.Lock()
		p.calls[c.action]++
		p.mu.Unlock()
		defer p.timeCall(c.action, time.Now())
	}
	if !p.wait(c.action) {
		panic(http.ErrAbortHandler) // the proxy is closing: drop the held call unanswered
	}
	if f, ok := p.takeFault(c.action); ok {
		p.writeFault(w, c, f)
		return
	}
	switch c.action {
	case "RegisterTargets":
		p.registerTargets(w, c)
	case "DeregisterTargets":
		p.deregisterTargets(w, c)
	case "DescribeTargetHealth":
		p.describeTargetHealth(w, c)
	default:
		resp, err := p.forward(c, c.body)
		p.reply(w, resp, err)
	}
}

// response is moto's answer, read in full so it can be inspected and rewritten.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) ok() bool { return r.status/100 == 2 }

// forward sends the call with body to moto. It does not use the client's context: AWS carries
// out a request it has received in full even if the caller hangs up before the answer, and a
// crash test relies on the proxy doing the same.
func (p *Proxy) forward(c *call, body []byte) (*response, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.req.Context()), time.Minute)
	defer cancel()
	u := *p.upstream
	u.Path = c.req.URL.Path
	u.RawQuery = c.req.URL.RawQuery
	req, err := http.NewRequestWithContext(ctx, c.req.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = c.req.Header.Clone()
	for _, h := range []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer",
		"Transfer-Encoding", "Upgrade", "Content-Length", "Accept-Encoding"} {
		req.Header.Del(h)
	}
	req.Host = c.req.Host
	return p.do(req)
}

func (p *Proxy) do(req *http.Request) (*response, error) {
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// reply writes moto's answer, or a 502 if moto could not be reached, which the SDK retries as
// it would a 502 from AWS.
func (p *Proxy) reply(w http.ResponseWriter, resp *response, err error) {
	if err != nil {
		http.Error(w, "test proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	for k, vs := range resp.header {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding", "Content-Encoding":
			continue
		}
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// Count returns how often action was called since the last ResetCounts. Every attempt counts,
// including those the proxy failed or held.
func (p *Proxy) Count(action string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[action]
}

// Counts returns a copy of all counts.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.calls))
	for k, v := range p.calls {
		out[k] = v
	}
	return out
}

// ResetCounts zeroes the counts and empties the Registered and Deregistered journals.
func (p *Proxy) ResetCounts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = map[string]int{}
	p.registered = nil
	p.deregistered = nil
	p.timed, p.changes = nil, nil
}

// ResetAll turns the proxy back into a plain recording proxy, for a test's cleanup when tests
// share one: it clears counts, journals, faults, rejections, the quota, the VPC check, health
// overrides, the initial and draining windows and what it knows about target groups, and
// releases held calls.
func (p *Proxy) ResetAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range p.holds {
		g.once.Do(func() { close(g.released) })
	}
	p.calls, p.registered, p.deregistered = map[string]int{}, nil, nil
	p.timed, p.changes = nil, nil
	p.faults, p.holds, p.rejected = map[string]*faultRule{}, map[string]*gate{}, map[string]Fault{}
	p.quota, p.vpc, p.health = 0, nil, map[string]string{}
	p.initialFor, p.drainFor, p.groups = 0, 0, map[string]*group{}
	p.keepViews, p.views = false, map[string]map[string]string{}
}

// Mutations is the number of calls that change ELB or EC2 state.
func (p *Proxy) Mutations() int {
	n := 0
	for action, c := range p.Counts() {
		switch action {
		case "RegisterTargets", "DeregisterTargets", "ModifyTargetGroup",
			"AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress", "CreateTags", "DeleteTags":
			n += c
		}
	}
	return n
}

// Registered returns every target ("ip:port") carried by a RegisterTargets through the proxy
// that succeeded, in order, since the last ResetCounts. Failed calls, whether failed by the
// proxy or by moto, leave no trace, as they leave none in AWS; a target sent twice appears twice.
// It is the ground truth for invariants such as "never registered a target of a deleted node".
func (p *Proxy) Registered() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.registered...)
}

// Deregistered is Registered for DeregisterTargets.
func (p *Proxy) Deregistered() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.deregistered...)
}
