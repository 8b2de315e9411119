package awsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/time/rate"

	"github.com/targetsync/targetsync/pkg/metrics"
)

func TestCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "success", err: nil, want: "OK"},
		{name: "API error code", err: &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}, want: "Throttling"},
		{name: "typed exception", err: &types.TargetGroupNotFoundException{}, want: "TargetGroupNotFound"},
		{
			name: "API error wrapped as the SDK returns it",
			err: &smithy.OperationError{
				ServiceID:     elbv2.ServiceID,
				OperationName: "RegisterTargets",
				Err:           fmt.Errorf("https response error StatusCode: 400: %w", &smithy.GenericAPIError{Code: "ValidationError"}),
			},
			want: "ValidationError",
		},
		{name: "canceled", err: context.Canceled, want: "Canceled"},
		{name: "canceled, as the SDK wraps it", err: &aws.RequestCanceledError{Err: context.Canceled}, want: "Canceled"},
		{name: "deadline", err: fmt.Errorf("operation error: %w", context.DeadlineExceeded), want: "Timeout"},
		{name: "anything else", err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), want: "ClientError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Code(tt.err); got != tt.want {
				t.Errorf("Code(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestThrottleLimiter(t *testing.T) {
	exact := rate.NewLimiter(1, 1)
	service := rate.NewLimiter(2, 2)
	global := rate.NewLimiter(3, 3)
	full := Throttle{
		"Elastic Load Balancing v2/RegisterTargets": exact,
		"Elastic Load Balancing v2/*":               service,
		"*":                                         global,
	}

	tests := []struct {
		name     string
		throttle Throttle
		service  string
		op       string
		want     *rate.Limiter
	}{
		{name: "exact operation", throttle: full, service: "Elastic Load Balancing v2", op: "RegisterTargets", want: exact},
		{name: "service wildcard", throttle: full, service: "Elastic Load Balancing v2", op: "DescribeTargetHealth", want: service},
		{name: "global wildcard", throttle: full, service: "EC2", op: "DescribeSecurityGroups", want: global},
		{name: "operation names are not shared across services", throttle: full, service: "EC2", op: "RegisterTargets", want: global},
		{
			name:     "exact operation without a service entry",
			throttle: Throttle{"EC2/RevokeSecurityGroupIngress": exact, "*": global},
			service:  "EC2", op: "RevokeSecurityGroupIngress", want: exact,
		},
		{
			name:     "service wildcard without a global one",
			throttle: Throttle{"EC2/*": service},
			service:  "EC2", op: "DescribeInstances", want: service,
		},
		{name: "nothing matches", throttle: Throttle{"EC2/*": service}, service: "STS", op: "GetCallerIdentity", want: nil},
		{name: "empty throttle", throttle: Throttle{}, service: "EC2", op: "DescribeInstances", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.throttle.limiter(tt.service, tt.op); got != tt.want {
				t.Errorf("limiter(%q, %q) = %p, want %p", tt.service, tt.op, got, tt.want)
			}
		})
	}
}

// TestDefaultThrottleKeys checks that the default limits are keyed by the service ID the SDK
// puts in the context; a key that never matches would silently fall back to "*".
func TestDefaultThrottleKeys(t *testing.T) {
	d := DefaultThrottle()
	for _, op := range []string{"RegisterTargets", "DeregisterTargets", "ModifyTargetGroup"} {
		got := d.limiter(elbv2.ServiceID, op)
		if got == nil || got == d["*"] || got == d[elbv2.ServiceID+"/*"] {
			t.Errorf("limiter(%q, %q) is not the operation's own limit", elbv2.ServiceID, op)
		}
	}
	if got := d.limiter(elbv2.ServiceID, "DescribeTargetHealth"); got == nil || got != d[elbv2.ServiceID+"/*"] {
		t.Errorf("DescribeTargetHealth does not use the ELBv2 service limit")
	}
	// Mutations are slower than reads.
	if reg, read := d.limiter(elbv2.ServiceID, "RegisterTargets").Limit(), d.limiter(elbv2.ServiceID, "DescribeTargetHealth").Limit(); reg >= read {
		t.Errorf("RegisterTargets limit %v is not below the read limit %v", reg, read)
	}
}

// fakeELB answers ELBv2 query-protocol requests on loopback from a script, one response per
// request, and remembers what it was asked.
type fakeELB struct {
	mu        sync.Mutex
	responses []fakeResponse
	actions   []string
	agents    []string
}

type fakeResponse struct {
	status int
	body   string
}

func (f *fakeELB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))

	f.mu.Lock()
	f.actions = append(f.actions, form.Get("Action"))
	f.agents = append(f.agents, r.Header.Get("User-Agent"))
	resp := fakeResponse{status: http.StatusInternalServerError, body: errorXML("InternalFailure", "no scripted response left")}
	if len(f.responses) > 0 {
		resp, f.responses = f.responses[0], f.responses[1:]
	}
	f.mu.Unlock()

	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(resp.status)
	_, _ = io.WriteString(w, resp.body)
}

func errorXML(code, msg string) string {
	return `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
  <Error><Type>Sender</Type><Code>` + code + `</Code><Message>` + msg + `</Message></Error>
  <RequestId>8d6c9a5e-0000-4000-8000-000000000001</RequestId>
</ErrorResponse>`
}

const describeTargetGroupsXML = `<DescribeTargetGroupsResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
  <DescribeTargetGroupsResult>
    <TargetGroups>
      <member>
        <TargetGroupArn>arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ingress-https/0123456789abcdef</TargetGroupArn>
        <TargetGroupName>ingress-https</TargetGroupName>
        <TargetType>ip</TargetType>
        <Protocol>TCP</Protocol>
        <Port>443</Port>
      </member>
    </TargetGroups>
  </DescribeTargetGroupsResult>
  <ResponseMetadata><RequestId>8d6c9a5e-0000-4000-8000-000000000002</RequestId></ResponseMetadata>
</DescribeTargetGroupsResponse>`

// isolate points the SDK at srv with static credentials and keeps it away from the host's
// shared config, profiles and instance metadata.
func isolate(t *testing.T, endpoint string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTARGETSYNCTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "")
}

// newELBClient builds a real ELBv2 client from Load. Only the backoff between attempts is cut
// short; the retryer deciding what to retry and how often is Load's.
func newELBClient(t *testing.T, o Options) *elbv2.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	cfg, err := Load(ctx, o)
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	return elbv2.NewFromConfig(cfg, func(eo *elbv2.Options) {
		eo.Retryer = retry.AddWithMaxBackoffDelay(eo.Retryer, time.Millisecond)
	})
}

func fastThrottle() Throttle { return Throttle{"*": rate.NewLimiter(rate.Inf, 1)} }

func TestLoadCountsEveryAttempt(t *testing.T) {
	fake := &fakeELB{responses: []fakeResponse{
		{status: http.StatusBadRequest, body: errorXML("Throttling", "Rate exceeded")},
		{status: http.StatusOK, body: describeTargetGroupsXML},
	}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	isolate(t, srv.URL)

	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	client := newELBClient(t, Options{AppID: "targetsync-test", Metrics: m, Throttle: fastThrottle()})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := client.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{
		TargetGroupArns: []string{"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ingress-https/0123456789abcdef"},
	})
	if err != nil {
		t.Fatalf("DescribeTargetGroups() error = %v", err)
	}
	if len(out.TargetGroups) != 1 || aws.ToString(out.TargetGroups[0].TargetGroupName) != "ingress-https" {
		t.Fatalf("DescribeTargetGroups() = %+v, want the one scripted target group", out.TargetGroups)
	}

	calls := func(code string) float64 {
		return testutil.ToFloat64(m.AWSAPICalls.WithLabelValues("elasticloadbalancingv2", "DescribeTargetGroups", code))
	}
	if got := calls("Throttling"); got != 1 {
		t.Errorf(`aws_api_calls_total{code="Throttling"} = %v, want 1`, got)
	}
	if got := calls("OK"); got != 1 {
		t.Errorf(`aws_api_calls_total{code="OK"} = %v, want 1`, got)
	}
	if got := testutil.CollectAndCount(m.AWSAPICalls, "targetsync_aws_api_calls_total"); got != 2 {
		t.Errorf("aws_api_calls_total has %d series, want 2 (Throttling and OK)", got)
	}
	if got := testutil.CollectAndCount(m.AWSAPICallDuration, "targetsync_aws_api_call_duration_seconds"); got != 1 {
		t.Errorf("aws_api_call_duration_seconds has %d series, want 1", got)
	}

	fake.mu.Lock()
	defer fake.mu.Unlock()
	if want := []string{"DescribeTargetGroups", "DescribeTargetGroups"}; strings.Join(fake.actions, ",") != strings.Join(want, ",") {
		t.Errorf("server saw actions %v, want %v", fake.actions, want)
	}
	for _, ua := range fake.agents {
		if !strings.Contains(ua, "app/targetsync-test") {
			t.Errorf("User-Agent %q does not carry the app ID", ua)
		}
	}
}

func TestLoadGivesUpAfterMaxAttempts(t *testing.T) {
	fake := &fakeELB{}
	for range MaxAttempts + 1 {
		fake.responses = append(fake.responses, fakeResponse{status: http.StatusBadRequest, body: errorXML("Throttling", "Rate exceeded")})
	}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	isolate(t, srv.URL)

	m := metrics.New(prometheus.NewRegistry())
	client := newELBClient(t, Options{Metrics: m, Throttle: fastThrottle()})

	_, err := client.DescribeTargetGroups(context.Background(), &elbv2.DescribeTargetGroupsInput{})
	if Code(err) != "Throttling" {
		t.Fatalf("DescribeTargetGroups() error = %v, want Throttling after the last attempt", err)
	}
	got := testutil.ToFloat64(m.AWSAPICalls.WithLabelValues("elasticloadbalancingv2", "DescribeTargetGroups", "Throttling"))
	if got != MaxAttempts {
		t.Errorf(`aws_api_calls_total{code="Throttling"} = %v, want %d`, got, MaxAttempts)
	}
}

func TestLoadThrottleStopsRequestsBeforeTheyLeave(t *testing.T) {
	fake := &fakeELB{responses: []fakeResponse{{status: http.StatusOK, body: describeTargetGroupsXML}}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	isolate(t, srv.URL)

	// A limiter with no burst refuses every wait at once, so the call fails in the client.
	throttle := Throttle{
		elbv2.ServiceID + "/DescribeTargetGroups": rate.NewLimiter(1, 0),
		"*": rate.NewLimiter(rate.Inf, 1),
	}
	client := newELBClient(t, Options{Throttle: throttle})

	_, err := client.DescribeTargetGroups(context.Background(), &elbv2.DescribeTargetGroupsInput{})
	if err == nil || !strings.Contains(err.Error(), "client-side throttle") {
		t.Fatalf("DescribeTargetGroups() error = %v, want a client-side throttle error", err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.actions) != 0 {
		t.Errorf("server saw %v, want no request", fake.actions)
	}
}

func TestLoadRegion(t *testing.T) {
	tests := []struct {
		name   string
		env    string
		option string
		want   string
	}{
		{name: "environment wins", env: "eu-west-1", option: "us-east-1", want: "eu-west-1"},
		{name: "option when the environment names none", env: "", option: "us-east-1", want: "us-east-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t, "http://127.0.0.1:1")
			t.Setenv("AWS_REGION", tt.env)
			t.Setenv("AWS_DEFAULT_REGION", "")
			cfg, err := Load(context.Background(), Options{Region: tt.option})
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if cfg.Region != tt.want {
				t.Errorf("Region = %q, want %q", cfg.Region, tt.want)
			}
		})
	}
}
