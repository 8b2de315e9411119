package testenv

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/google/uuid"
)

// Fault is how the proxy answers a call instead of passing it to moto.
type Fault struct {
	// Status is the HTTP status (0: 400).
	Status int
	// Code and Message are the AWS error code and message, written in the XML dialect of the
	// service the call was for (awsquery for ELBv2, ec2query for EC2), so the SDK surfaces them
	// through smithy.APIError exactly as it does AWS's.
	Code, Message string
	// Reset drops the TCP connection with a RST instead of answering, as a load balancer in
	// front of AWS or a NAT gateway does when it gives up on a connection. The SDK sees a
	// transport error ("connection reset by peer"), which its retryer retries.
	Reset bool
}

// Throttling is ELBv2's answer to a caller over its request rate: HTTP 400, code Throttling.
// The SDK's standard retryer retries it (with throttle backoff).
func Throttling() Fault {
	return Fault{Status: http.StatusBadRequest, Code: "Throttling", Message: "Rate exceeded"}
}

// RequestLimitExceeded is EC2's answer to a caller over its request rate: HTTP 503, code
// RequestLimitExceeded. The SDK's standard retryer retries it.
func RequestLimitExceeded() Fault {
	return Fault{Status: http.StatusServiceUnavailable, Code: "RequestLimitExceeded", Message: "Request limit exceeded."}
}

// ServerError is an internal failure of the service: HTTP 500, code InternalFailure. Retried by
// the SDK because of the status.
func ServerError() Fault {
	return Fault{Status: http.StatusInternalServerError, Code: "InternalFailure",
		Message: "The request processing has failed because of an unknown error, exception or failure."}
}

// Unavailable is a temporarily unavailable service: HTTP 503, code ServiceUnavailable. Retried
// by the SDK because of the status.
func Unavailable() Fault {
	return Fault{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable",
		Message: "The request has failed due to a temporary failure of the server."}
}

// ConnectionReset drops the connection without an answer; see Fault.Reset.
func ConnectionReset() Fault { return Fault{Reset: true} }

type faultRule struct {
	fault Fault
	left  int // calls still to fail; negative: until cleared
}

// FailNext makes the next n calls of action fail with f; n < 0 fails every call until
// ClearFaults (or Fail(action, "")), n == 0 stops failing action. It replaces any fault set for
// action before. Failed calls are counted but never reach moto. A call held by Hold is failed,
// if at all, when it is released.
func (p *Proxy) FailNext(action string, f Fault, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n == 0 {
		delete(p.faults, action)
		return
	}
	p.faults[action] = &faultRule{fault: f, left: n}
}

// Fail makes every call of action answer HTTP 400 with the AWS error code, as AWS answers a
// request it refuses (AccessDenied, ValidationError, ...); an empty code stops it.
func (p *Proxy) Fail(action, code string) {
	if code == "" {
		p.FailNext(action, Fault{}, 0)
		return
	}
	p.FailNext(action, Fault{Status: http.StatusBadRequest, Code: code, Message: "injected by the test proxy"}, -1)
}

// ClearFaults stops every fault set by FailNext or Fail and every rejection set by
// RejectTarget. Quota, VPC and health settings stay.
func (p *Proxy) ClearFaults() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = map[string]*faultRule{}
	p.rejected = map[string]Fault{}
}

func (p *Proxy) takeFault(action string) (Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.faults[action]
	if r == nil || action == "" {
		return Fault{}, false
	}
	if r.left > 0 {
		r.left--
		if r.left == 0 {
			delete(p.faults, action)
		}
	}
	return r.fault, true
}

// writeFault answers c with f as the service c was for would.
func (p *Proxy) writeFault(w http.ResponseWriter, c *call, f Fault) {
	if f.Reset {
		resetConn(w)
		return
	}
	status := f.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	id := newRequestID()
	var b bytes.Buffer
	if c.service == "ec2" {
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
		fmt.Fprintf(&b, "<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>",
			esc(f.Code), esc(f.Message), id)
	} else {
		kind := "Sender"
		if status >= 500 {
			kind = "Receiver"
		}
		fmt.Fprintf(&b, `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">`+
			"<Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>",
			kind, esc(f.Code), esc(f.Message), id)
		w.Header().Set("X-Amzn-Requestid", id)
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// resetConn closes the client's connection with a TCP RST (linger 0) and without a byte of
// answer.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

func newRequestID() string { return uuid.NewString() }

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
