package testenv

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"sync"
)

// Proxy sits between the code under test and moto. It counts AWS calls by action, and it can
// report chosen targets in another health state, which moto never does (it says healthy at
// once and never draining).
type Proxy struct {
	URL    string
	server *http.Server

	mu     sync.Mutex
	calls  map[string]int
	health map[string]string // target IP -> state to report
	fail   map[string]string // action -> error code to answer with
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
	p := &Proxy{URL: "http://" + ln.Addr().String(), calls: map[string]int{}, health: map[string]string{}, fail: map[string]string{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = p.modify
	p.server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		if vals, err := url.ParseQuery(string(body)); err == nil && vals.Get("Action") != "" {
			p.mu.Lock()
			p.calls[vals.Get("Action")]++
			code := p.fail[vals.Get("Action")]
			p.mu.Unlock()
			if code != "" {
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>injected by the test proxy</Message></Error><RequestId>test</RequestId></ErrorResponse>`, code)
				return
			}
			r.Header.Set("X-Test-Action", vals.Get("Action"))
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = p.server.Serve(ln) }()
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() error { return p.server.Close() }

// Count returns how often action was called since the last ResetCounts.
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

// ResetCounts zeroes the counts.
func (p *Proxy) ResetCounts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = map[string]int{}
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

// SetHealth makes DescribeTargetHealth report the target with this IP in state (e.g.
// "unhealthy", "draining"); an empty state stops rewriting it.
func (p *Proxy) SetHealth(ip, state string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if state == "" {
		delete(p.health, ip)
		return
	}
	p.health[ip] = state
}

// Fail makes every call of action answer with the AWS error code; an empty code stops it.
func (p *Proxy) Fail(action, code string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if code == "" {
		delete(p.fail, action)
		return
	}
	p.fail[action] = code
}

var (
	memberRE = regexp.MustCompile(`(?s)<member>.*?</member>`)
	idRE     = regexp.MustCompile(`<Id>([^<]*)</Id>`)
	stateRE  = regexp.MustCompile(`<State>[^<]*</State>`)
)

func (p *Proxy) modify(resp *http.Response) error {
	if resp.Request.Header.Get("X-Test-Action") != "DescribeTargetHealth" {
		return nil
	}
	p.mu.Lock()
	health := make(map[string]string, len(p.health))
	for k, v := range p.health {
		health[k] = v
	}
	p.mu.Unlock()
	if len(health) == 0 {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	body = memberRE.ReplaceAllFunc(body, func(m []byte) []byte {
		id := idRE.FindSubmatch(m)
		if id == nil {
			return m
		}
		state, ok := health[string(id[1])]
		if !ok {
			return m
		}
		return stateRE.ReplaceAll(m, []byte("<State>"+state+"</State>"))
	})
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}
