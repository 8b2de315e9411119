package elb_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/targetsync/targetsync/pkg/elb"
)

func TestDescribe(t *testing.T) {
	g := ipGroup(testARN)
	g.HealthCheckProtocol = types.ProtocolEnumHttp
	g.HealthCheckPort = aws.String("30200")
	g.HealthCheckPath = aws.String("/healthz")
	g.HealthCheckIntervalSeconds = aws.Int32(10)
	api := newFakeAPI(g)
	api.targets[testARN] = []types.TargetHealthDescription{
		{
			// AWS leaves Port out when the target uses the target group's port.
			Target:       &types.TargetDescription{Id: aws.String("10.0.0.1"), AvailabilityZone: aws.String("eu-west-1a")},
			TargetHealth: &types.TargetHealth{State: types.TargetHealthStateEnumHealthy},
		},
		{
			Target: &types.TargetDescription{Id: aws.String("192.168.5.2"), Port: aws.Int32(30443), AvailabilityZone: aws.String("all")},
			TargetHealth: &types.TargetHealth{
				State:  types.TargetHealthStateEnumUnhealthy,
				Reason: types.TargetHealthReasonEnumFailedHealthChecks,
			},
		},
		{
			Target: &types.TargetDescription{Id: aws.String("10.0.0.3"), Port: aws.Int32(30443)},
			TargetHealth: &types.TargetHealth{
				State:  types.TargetHealthStateEnumDraining,
				Reason: types.TargetHealthReasonEnumDeregistrationInProgress,
			},
		},
		// No health yet: the target is still reported, with no state.
		{Target: &types.TargetDescription{Id: aws.String("10.0.0.4"), Port: aws.Int32(30443)}},
		// Nothing targetsync manages looks like these; they are skipped, not errors.
		{TargetHealth: &types.TargetHealth{State: types.TargetHealthStateEnumHealthy}},
		{Target: &types.TargetDescription{Id: aws.String("i-0123456789abcdef0"), Port: aws.Int32(30443)}},
	}

	got, err := elb.NewClient(api).Describe(context.Background(), testARN)
	if err != nil {
		t.Fatalf("Describe() error = %v", err)
	}

	want := elb.TargetGroup{
		ARN:                 testARN,
		Name:                "ingress-https",
		TargetType:          "ip",
		Port:                443,
		VpcID:               "vpc-0abc",
		HealthCheck:         elb.HealthCheck{Protocol: "HTTP", Port: 30200, Path: "/healthz"},
		HealthCheckInterval: 10 * time.Second,
		Targets: []elb.Observed{
			{Target: tgt("10.0.0.1", 443), State: "healthy", AvailabilityZone: "eu-west-1a"},
			{Target: tgt("192.168.5.2", 30443), State: "unhealthy", Reason: "Target.FailedHealthChecks", AvailabilityZone: "all"},
			{Target: tgt("10.0.0.3", 30443), State: "draining", Reason: "Target.DeregistrationInProgress"},
			{Target: tgt("10.0.0.4", 30443)},
		},
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("Describe() mismatch (-want +got):\n%s", diff)
	}
	wantCalls := []call{{Op: "DescribeTargetGroups", ARN: testARN}, {Op: "DescribeTargetHealth", ARN: testARN}}
	if diff := cmp.Diff(wantCalls, api.calls); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
}

func TestDescribeHealthCheckPort(t *testing.T) {
	tests := []struct {
		name string
		port *string
		want int32
	}{
		{name: "traffic-port is unmanaged", port: aws.String("traffic-port"), want: 0},
		{name: "absent is unmanaged", port: nil, want: 0},
		{name: "a number", port: aws.String("30200"), want: 30200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := ipGroup(testARN)
			g.HealthCheckPort = tt.port
			got, err := elb.NewClient(newFakeAPI(g)).Describe(context.Background(), testARN)
			if err != nil {
				t.Fatalf("Describe() error = %v", err)
			}
			if got.HealthCheck.Port != tt.want {
				t.Errorf("HealthCheck.Port = %d, want %d", got.HealthCheck.Port, tt.want)
			}
		})
	}
}

func TestDescribeErrors(t *testing.T) {
	instanceGroup := ipGroup(testARN)
	instanceGroup.TargetType = types.TargetTypeEnumInstance
	boom := errors.New("connection reset")

	tests := []struct {
		name     string
		api      func() *fakeAPI
		wantIs   error
		wantAs   bool // errors.As a *types.TargetGroupNotFoundException
		wantTerm bool
		wantMsg  string
		wantOps  []string
	}{
		{
			name:     "instance target group is refused before reading targets",
			api:      func() *fakeAPI { return newFakeAPI(instanceGroup) },
			wantIs:   elb.ErrWrongTargetType,
			wantTerm: true,
			wantMsg:  `"instance"`,
			wantOps:  []string{"DescribeTargetGroups"},
		},
		{
			name:     "target group not found",
			api:      func() *fakeAPI { return newFakeAPI() },
			wantAs:   true,
			wantTerm: true,
			wantMsg:  testARN,
			wantOps:  []string{"DescribeTargetGroups"},
		},
		{
			name: "describe target groups fails",
			api: func() *fakeAPI {
				f := newFakeAPI(ipGroup(testARN))
				f.failOn["DescribeTargetGroups"], f.failErr = 1, boom
				return f
			},
			wantIs:  boom,
			wantMsg: testARN,
			wantOps: []string{"DescribeTargetGroups"},
		},
		{
			name: "describe target health fails",
			api: func() *fakeAPI {
				f := newFakeAPI(ipGroup(testARN))
				f.failOn["DescribeTargetHealth"], f.failErr = 1, boom
				return f
			},
			wantIs:  boom,
			wantMsg: "ingress-https",
			wantOps: []string{"DescribeTargetGroups", "DescribeTargetHealth"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := tt.api()
			_, err := elb.NewClient(api).Describe(context.Background(), testARN)
			if err == nil {
				t.Fatal("Describe() error = nil, want an error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			var nf *types.TargetGroupNotFoundException
			if got := errors.As(err, &nf); got != tt.wantAs {
				t.Errorf("errors.As(TargetGroupNotFoundException) = %v, want %v", got, tt.wantAs)
			}
			if got := elb.IsTerminal(err); got != tt.wantTerm {
				t.Errorf("IsTerminal(%v) = %v, want %v", err, got, tt.wantTerm)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if diff := cmp.Diff(tt.wantOps, api.ops()); diff != "" {
				t.Errorf("calls mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// emptyAPI answers DescribeTargetGroups with no target group and no error, which AWS should
// never do; Describe must not index into the empty list.
type emptyAPI struct{ fakeAPI }

func (emptyAPI) DescribeTargetGroups(context.Context, *elbv2.DescribeTargetGroupsInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	return &elbv2.DescribeTargetGroupsOutput{}, nil
}

func TestDescribeNoTargetGroupReturned(t *testing.T) {
	_, err := elb.NewClient(&emptyAPI{}).Describe(context.Background(), testARN)
	if err == nil || !strings.Contains(err.Error(), "0 target groups returned") {
		t.Errorf("Describe() error = %v, want one saying 0 target groups were returned", err)
	}
}

func TestTags(t *testing.T) {
	tests := []struct {
		name string
		tags map[string]string
		want map[string]string
	}{
		{name: "no tags is an empty map, not nil", want: map[string]string{}},
		{
			name: "every tag",
			tags: map[string]string{elb.TagCluster: "prod", elb.TagHealthCheckPort: "30200"},
			want: map[string]string{elb.TagCluster: "prod", elb.TagHealthCheckPort: "30200"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(ipGroup(testARN))
			if tt.tags != nil {
				api.tags[testARN] = tt.tags
			}
			got, err := elb.NewClient(api).Tags(context.Background(), testARN)
			if err != nil {
				t.Fatalf("Tags() error = %v", err)
			}
			if got == nil {
				t.Error("Tags() = nil, want a map: nil means not read")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Tags() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]call{{Op: "DescribeTags", ARN: testARN}}, api.calls); diff != "" {
				t.Errorf("calls mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTagsError(t *testing.T) {
	api := newFakeAPI(ipGroup(testARN))
	api.errs["DescribeTags"] = throttled
	_, err := elb.NewClient(api).Tags(context.Background(), testARN)
	if !errors.Is(err, throttled) || !strings.Contains(err.Error(), testARN) {
		t.Errorf("Tags() error = %v, want it to wrap %v and name the ARN", err, throttled)
	}
	if elb.IsTerminal(err) {
		t.Errorf("IsTerminal(%v) = true, want false", err)
	}
}

func TestTag(t *testing.T) {
	api := newFakeAPI(ipGroup(testARN))
	api.tags[testARN] = map[string]string{elb.TagCluster: "prod"}
	c := elb.NewClient(api)
	if err := c.Tag(context.Background(), testARN, elb.TagHealthCheckPort, "30200"); err != nil {
		t.Fatalf("Tag() error = %v", err)
	}
	if diff := cmp.Diff([]call{tagHC("30200")}, api.calls); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
	want := map[string]string{elb.TagCluster: "prod", elb.TagHealthCheckPort: "30200"}
	if diff := cmp.Diff(want, api.tags[testARN]); diff != "" {
		t.Errorf("tags mismatch (-want +got):\n%s", diff)
	}

	api.errs["AddTags"] = &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform: elasticloadbalancing:AddTags"}
	err := c.Tag(context.Background(), testARN, elb.TagHealthCheckPort, "30201")
	if err == nil || !elb.IsTerminal(err) {
		t.Errorf("Tag() error = %v, want a terminal AccessDenied", err)
	}
}
