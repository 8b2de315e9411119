//go:build !nomoto

package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// These tests run the proxy against a real moto_server and talk to it with the real SDK
// clients, so that what they check is what the code under test will see.

var motoServer *Moto

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	var err error
	if motoServer, err = StartMoto(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	defer motoServer.Stop()
	return m.Run()
}

// world is one test's proxy in front of the shared moto, with its own NLB and a clock the
// test steps by hand.
type world struct {
	t      *testing.T
	ctx    context.Context
	proxy  *Proxy
	direct *AWS // to moto, bypassing the proxy
	nlb    *NLB
	clock  *fakeClock
}

var worlds atomic.Int32

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	p, err := StartProxy(motoServer.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	direct, err := NewAWS(ctx, motoServer.URL)
	if err != nil {
		t.Fatal(err)
	}
	nlb, err := direct.CreateNLB(ctx, fmt.Sprintf("proxy-test-%d", worlds.Add(1)), 30080)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, proxy: p, direct: direct, nlb: nlb, clock: &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	p.SetClock(w.clock.Now)
	return w
}

// client returns SDK clients through the proxy whose standard retryer makes at most attempts
// attempts, without waiting between them.
func (w *world) client(attempts int) *AWS {
	w.t.Helper()
	cfg, err := config.LoadDefaultConfig(w.ctx,
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(w.proxy.URL),
		config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing"}, nil
		})),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.RateLimiter = ratelimit.None
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		}),
	)
	if err != nil {
		w.t.Fatal(err)
	}
	return &AWS{ELB: elbv2.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg)}
}

func (w *world) describeHealth(c *AWS) error {
	_, err := c.ELB.DescribeTargetHealth(w.ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(w.nlb.TargetGroupARN)})
	return err
}

func (w *world) describeSGs(c *AWS) error {
	_, err := c.EC2.DescribeSecurityGroups(w.ctx, &ec2.DescribeSecurityGroupsInput{})
	return err
}

// register registers ip:port targets ("ip" or "ip/all" for AvailabilityZone all) through c.
func (w *world) register(c *AWS, port int32, ips ...string) error {
	_, err := c.ELB.RegisterTargets(w.ctx, &elbv2.RegisterTargetsInput{
		TargetGroupArn: aws.String(w.nlb.TargetGroupARN), Targets: descriptions(port, ips...)})
	return err
}

func (w *world) deregister(c *AWS, port int32, ips ...string) error {
	_, err := c.ELB.DeregisterTargets(w.ctx, &elbv2.DeregisterTargetsInput{
		TargetGroupArn: aws.String(w.nlb.TargetGroupARN), Targets: descriptions(port, ips...)})
	return err
}

func descriptions(port int32, ips ...string) []elbtypes.TargetDescription {
	var ds []elbtypes.TargetDescription
	for _, ip := range ips {
		d := elbtypes.TargetDescription{Id: aws.String(ip), Port: aws.Int32(port)}
		if len(ip) > 4 && ip[len(ip)-4:] == "/all" {
			d.Id, d.AvailabilityZone = aws.String(ip[:len(ip)-4]), aws.String("all")
		}
		ds = append(ds, d)
	}
	return ds
}

// motoTargets is what moto itself holds, sorted ip:port.
func (w *world) motoTargets() []string {
	w.t.Helper()
	got, err := w.direct.Targets(w.ctx, w.nlb.TargetGroupARN)
	if err != nil {
		w.t.Fatal(err)
	}
	return got
}

// wantAPIError checks that err is the AWS error code with HTTP status, as the SDK surfaces it,
// and returns its message.
func wantAPIError(t *testing.T, err error, code string, status int) string {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v (%T), want an API error %s", err, err, code)
	}
	if apiErr.ErrorCode() != code {
		t.Errorf("code = %q (%v), want %q", apiErr.ErrorCode(), err, code)
	}
	var respErr *smithyhttp.ResponseError
	if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != status {
		t.Errorf("HTTP status of %v: want %d", err, status)
	}
	return apiErr.ErrorMessage()
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestThrottlingSurfacesAndIsRetried(t *testing.T) {
	w := newWorld(t)
	w.proxy.FailNext("DescribeTargetHealth", Throttling(), 1)
	err := w.describeHealth(w.client(1))
	if msg := wantAPIError(t, err, "Throttling", 400); msg != "Rate exceeded" {
		t.Errorf("message = %q", msg)
	}
	if !retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() {
		t.Errorf("the SDK does not take %v for throttling", err)
	}
	if err := w.describeHealth(w.client(1)); err != nil {
		t.Fatalf("after the one fault: %v", err)
	}

	w.proxy.ResetCounts()
	w.proxy.FailNext("DescribeTargetHealth", Throttling(), 2)
	if err := w.describeHealth(w.client(3)); err != nil {
		t.Fatalf("the SDK did not retry past two throttles: %v", err)
	}
	if n := w.proxy.Count("DescribeTargetHealth"); n != 3 {
		t.Errorf("count = %d, want 3 attempts, failed ones included", n)
	}
}

func TestRequestLimitExceededSurfacesAndIsRetried(t *testing.T) {
	w := newWorld(t)
	w.proxy.FailNext("DescribeSecurityGroups", RequestLimitExceeded(), 1)
	wantAPIError(t, w.describeSGs(w.client(1)), "RequestLimitExceeded", 503)

	w.proxy.FailNext("DescribeSecurityGroups", RequestLimitExceeded(), 2)
	if err := w.describeSGs(w.client(3)); err != nil {
		t.Fatalf("the SDK did not retry past two RequestLimitExceeded: %v", err)
	}
}

func TestServerFaultsInBothDialects(t *testing.T) {
	w := newWorld(t)
	c := w.client(1)
	for _, f := range []Fault{ServerError(), Unavailable(), {Status: 400, Code: "AccessDenied", Message: "nope & <no>"}} {
		w.proxy.FailNext("DescribeTargetHealth", f, 1)
		if msg := wantAPIError(t, w.describeHealth(c), f.Code, f.Status); msg != f.Message {
			t.Errorf("ELB message = %q, want %q", msg, f.Message)
		}
		w.proxy.FailNext("DescribeSecurityGroups", f, 1)
		if msg := wantAPIError(t, w.describeSGs(c), f.Code, f.Status); msg != f.Message {
			t.Errorf("EC2 message = %q, want %q", msg, f.Message)
		}
	}
	w.proxy.FailNext("DescribeSecurityGroups", ServerError(), 1)
	if err := w.describeSGs(w.client(2)); err != nil {
		t.Errorf("the SDK did not retry a 500: %v", err)
	}
}

func TestConnectionResetIsATransportError(t *testing.T) {
	w := newWorld(t)
	w.proxy.FailNext("DescribeTargetHealth", ConnectionReset(), 1)
	err := w.describeHealth(w.client(1))
	var apiErr smithy.APIError
	var sendErr *smithyhttp.RequestSendError
	if err == nil || errors.As(err, &apiErr) || !errors.As(err, &sendErr) {
		t.Fatalf("err = %v (%T), want a transport error", err, err)
	}
	if !retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool() {
		t.Errorf("the SDK does not take %v for retryable", err)
	}
	w.proxy.FailNext("DescribeTargetHealth", ConnectionReset(), 1)
	if err := w.describeHealth(w.client(2)); err != nil {
		t.Errorf("the SDK did not retry a reset: %v", err)
	}
}

func TestFailIsPersistentUntilCleared(t *testing.T) {
	w := newWorld(t)
	c := w.client(1)
	w.proxy.Fail("DescribeTargetHealth", "AccessDenied")
	for range 3 {
		wantAPIError(t, w.describeHealth(c), "AccessDenied", 400)
	}
	w.proxy.Fail("DescribeTargetHealth", "")
	if err := w.describeHealth(c); err != nil {
		t.Fatal(err)
	}
	w.proxy.FailNext("DescribeSecurityGroups", Unavailable(), -1)
	for range 3 {
		wantAPIError(t, w.describeSGs(c), "ServiceUnavailable", 503)
	}
	w.proxy.ClearFaults()
	if err := w.describeSGs(c); err != nil {
		t.Fatal(err)
	}
}

func TestJournalRecordsOnlySuccessfulCalls(t *testing.T) {
	w := newWorld(t)
	c := w.client(1)
	if err := w.register(c, 30080, "10.0.1.1", "10.0.1.2"); err != nil {
		t.Fatal(err)
	}
	w.proxy.FailNext("RegisterTargets", Throttling(), 1)
	if err := w.register(c, 30080, "10.0.1.3"); err == nil {
		t.Fatal("register through a fault succeeded")
	}
	if err := w.deregister(c, 30080, "10.0.1.9"); err == nil { // moto refuses: not registered
		t.Fatal("deregistering an unknown target succeeded")
	}
	if err := w.deregister(c, 30080, "10.0.1.1"); err != nil {
		t.Fatal(err)
	}
	if got, want := w.proxy.Registered(), []string{"10.0.1.1:30080", "10.0.1.2:30080"}; !slices.Equal(got, want) {
		t.Errorf("Registered = %v, want %v", got, want)
	}
	if got, want := w.proxy.Deregistered(), []string{"10.0.1.1:30080"}; !slices.Equal(got, want) {
		t.Errorf("Deregistered = %v, want %v", got, want)
	}
	if n := w.proxy.Count("RegisterTargets"); n != 2 {
		t.Errorf("RegisterTargets count = %d, want 2", n)
	}
	w.proxy.ResetCounts()
	if len(w.proxy.Registered())+len(w.proxy.Deregistered())+len(w.proxy.Counts()) != 0 {
		t.Errorf("ResetCounts left %v %v %v", w.proxy.Registered(), w.proxy.Deregistered(), w.proxy.Counts())
	}
}

func TestResetAll(t *testing.T) {
	w := newWorld(t)
	c := w.client(1)
	release := w.proxy.Hold("DescribeTargetHealth")
	defer release()
	w.proxy.Fail("RegisterTargets", "AccessDenied")
	w.proxy.SetTargetQuota(1)
	w.proxy.SetHealth("10.0.1.1", "unhealthy")
	w.proxy.SetInitialFor(time.Hour)
	w.proxy.ResetAll()
	if err := w.register(c, 30080, "10.0.1.1", "10.0.1.2"); err != nil {
		t.Fatal(err)
	}
	h := w.health(c) // not held
	wantState(t, h, "10.0.1.1:30080", "healthy", "")
	wantState(t, h, "10.0.1.2:30080", "healthy", "")
}

// Creating a target group again with the same settings returns it, as AWS does, so a retried
// create whose answer was lost does not fail test setup; other settings are still refused.
func TestCreateTargetGroupAgainReturnsIt(t *testing.T) {
	w := newWorld(t)
	arn, err := w.direct.CreateTargetGroup(w.ctx, w.nlb.TargetGroupName, w.nlb.VpcID, 30080)
	if err != nil || arn != w.nlb.TargetGroupARN {
		t.Errorf("create again = %q, %v; want %q", arn, err, w.nlb.TargetGroupARN)
	}
	if _, err := w.direct.CreateTargetGroup(w.ctx, w.nlb.TargetGroupName, w.nlb.VpcID, 30081); err == nil {
		t.Error("create again on another port succeeded")
	}
}
