package elb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/targetsync/targetsync/pkg/elb"
)

const testARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ingress-https/0123456789abcdef"

// call is one request the fake received, reduced to what the tests assert on.
type call struct {
	Op          string
	ARN         string
	Targets     []string
	HealthCheck string
}

// fakeAPI is an in-memory ELBv2 that holds target groups and their targets, records every call
// and fails the n-th call of an operation on request.
type fakeAPI struct {
	groups  map[string]types.TargetGroup
	targets map[string][]types.TargetHealthDescription

	// failOn maps an operation to the 1-based number of the call that fails with failErr.
	failOn  map[string]int
	failErr error

	counts map[string]int
	calls  []call
}

var _ elb.API = (*fakeAPI)(nil)

func newFakeAPI(groups ...types.TargetGroup) *fakeAPI {
	f := &fakeAPI{
		groups:  map[string]types.TargetGroup{},
		targets: map[string][]types.TargetHealthDescription{},
		failOn:  map[string]int{},
		counts:  map[string]int{},
	}
	for _, g := range groups {
		f.groups[aws.ToString(g.TargetGroupArn)] = g
	}
	return f
}

func ipGroup(arn string) types.TargetGroup {
	return types.TargetGroup{
		TargetGroupArn:      aws.String(arn),
		TargetGroupName:     aws.String("ingress-https"),
		TargetType:          types.TargetTypeEnumIp,
		Port:                aws.Int32(443),
		VpcId:               aws.String("vpc-0abc"),
		HealthCheckProtocol: types.ProtocolEnumTcp,
		HealthCheckPort:     aws.String("traffic-port"),
	}
}

// record logs c and returns the injected error when this call is the one meant to fail.
func (f *fakeAPI) record(c call) error {
	f.calls = append(f.calls, c)
	f.counts[c.Op]++
	if n, ok := f.failOn[c.Op]; ok && n == f.counts[c.Op] {
		return f.failErr
	}
	return nil
}

func (f *fakeAPI) ops() []string {
	out := make([]string, len(f.calls))
	for i, c := range f.calls {
		out[i] = c.Op
	}
	return out
}

func targetStrings(ds []types.TargetDescription) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = fmt.Sprintf("%s:%d", aws.ToString(d.Id), aws.ToInt32(d.Port))
	}
	return out
}

func (f *fakeAPI) DescribeTargetGroups(_ context.Context, in *elbv2.DescribeTargetGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	if err := f.record(call{Op: "DescribeTargetGroups", ARN: strings.Join(in.TargetGroupArns, ",")}); err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTargetGroupsOutput{}
	for _, arn := range in.TargetGroupArns {
		g, ok := f.groups[arn]
		if !ok {
			return nil, &types.TargetGroupNotFoundException{Message: aws.String("One or more target groups not found")}
		}
		out.TargetGroups = append(out.TargetGroups, g)
	}
	return out, nil
}

func (f *fakeAPI) DescribeTargetHealth(_ context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	arn := aws.ToString(in.TargetGroupArn)
	if err := f.record(call{Op: "DescribeTargetHealth", ARN: arn}); err != nil {
		return nil, err
	}
	return &elbv2.DescribeTargetHealthOutput{TargetHealthDescriptions: f.targets[arn]}, nil
}

func (f *fakeAPI) RegisterTargets(_ context.Context, in *elbv2.RegisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error) {
	arn := aws.ToString(in.TargetGroupArn)
	if err := f.record(call{Op: "RegisterTargets", ARN: arn, Targets: targetStrings(in.Targets)}); err != nil {
		return nil, err
	}
	for _, d := range in.Targets {
		f.setState(arn, d, types.TargetHealthStateEnumInitial)
	}
	return &elbv2.RegisterTargetsOutput{}, nil
}

func (f *fakeAPI) DeregisterTargets(_ context.Context, in *elbv2.DeregisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error) {
	arn := aws.ToString(in.TargetGroupArn)
	if err := f.record(call{Op: "DeregisterTargets", ARN: arn, Targets: targetStrings(in.Targets)}); err != nil {
		return nil, err
	}
	// Like AWS, a deregistered target drains before it disappears.
	for _, d := range in.Targets {
		f.setState(arn, d, types.TargetHealthStateEnumDraining)
	}
	return &elbv2.DeregisterTargetsOutput{}, nil
}

func (f *fakeAPI) ModifyTargetGroup(_ context.Context, in *elbv2.ModifyTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupOutput, error) {
	arn := aws.ToString(in.TargetGroupArn)
	hc := fmt.Sprintf("%s:%s%s", in.HealthCheckProtocol, aws.ToString(in.HealthCheckPort), aws.ToString(in.HealthCheckPath))
	if err := f.record(call{Op: "ModifyTargetGroup", ARN: arn, HealthCheck: hc}); err != nil {
		return nil, err
	}
	g := f.groups[arn]
	g.HealthCheckProtocol = in.HealthCheckProtocol
	g.HealthCheckPort = in.HealthCheckPort
	g.HealthCheckPath = in.HealthCheckPath
	f.groups[arn] = g
	return &elbv2.ModifyTargetGroupOutput{TargetGroups: []types.TargetGroup{g}}, nil
}

func (f *fakeAPI) setState(arn string, d types.TargetDescription, state types.TargetHealthStateEnum) {
	for i, have := range f.targets[arn] {
		if aws.ToString(have.Target.Id) == aws.ToString(d.Id) && aws.ToInt32(have.Target.Port) == aws.ToInt32(d.Port) {
			f.targets[arn][i].TargetHealth = &types.TargetHealth{State: state}
			return
		}
	}
	f.targets[arn] = append(f.targets[arn], types.TargetHealthDescription{
		Target:       &types.TargetDescription{Id: d.Id, Port: d.Port},
		TargetHealth: &types.TargetHealth{State: state},
	})
}

func strs(ts []elb.Target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	return out
}

func TestApplyChunks(t *testing.T) {
	tests := []struct {
		name       string
		register   int
		deregister int
		want       []int // targets per call, in call order
	}{
		{name: "nothing to do makes no call", want: []int{}},
		{name: "one target", register: 1, want: []int{1}},
		{name: "exactly one full chunk", register: elb.MaxTargetsPerCall, want: []int{200}},
		{name: "one more than a chunk", register: elb.MaxTargetsPerCall + 1, want: []int{200, 1}},
		{name: "two full chunks", register: 400, want: []int{200, 200}},
		{name: "450 targets take three calls", register: 450, want: []int{200, 200, 50}},
		{name: "deregistrations are chunked too", deregister: 450, want: []int{200, 200, 50}},
		{name: "both", register: 201, deregister: 201, want: []int{200, 1, 200, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(ipGroup(testARN))
			p := elb.Plan{Register: targets(tt.register, 30443), Deregister: targets(tt.deregister, 31443)}

			res, err := elb.NewClient(api).Apply(context.Background(), testARN, p)
			if err != nil {
				t.Fatalf("Apply() error = %v", err)
			}

			got := []int{}
			var registered, deregistered []string
			for _, c := range api.calls {
				got = append(got, len(c.Targets))
				if c.ARN != testARN {
					t.Errorf("%s went to target group %q, want %q", c.Op, c.ARN, testARN)
				}
				switch c.Op {
				case "RegisterTargets":
					registered = append(registered, c.Targets...)
				case "DeregisterTargets":
					deregistered = append(deregistered, c.Targets...)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("targets per call mismatch (-want +got):\n%s", diff)
			}
			for _, c := range api.calls {
				if len(c.Targets) > elb.MaxTargetsPerCall {
					t.Errorf("%s carried %d targets, more than %d", c.Op, len(c.Targets), elb.MaxTargetsPerCall)
				}
			}
			// Every target is sent exactly once, in plan order.
			if diff := cmp.Diff(strs(p.Register), registered, cmpOpts); diff != "" {
				t.Errorf("registered targets mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(strs(p.Deregister), deregistered, cmpOpts); diff != "" {
				t.Errorf("deregistered targets mismatch (-want +got):\n%s", diff)
			}
			wantRes := elb.Result{Registered: tt.register, Deregistered: tt.deregister}
			if diff := cmp.Diff(wantRes, res); diff != "" {
				t.Errorf("Result mismatch (-want +got):\n%s", diff)
			}
			if res.Empty() != (tt.register == 0 && tt.deregister == 0) {
				t.Errorf("Result.Empty() = %v for %+v", res.Empty(), res)
			}
		})
	}
}

func TestApplyOrder(t *testing.T) {
	api := newFakeAPI(ipGroup(testARN))
	p := elb.Plan{
		Register:   []elb.Target{tgt("10.0.0.2", 31443)},
		Deregister: []elb.Target{tgt("10.0.0.1", 30443)},
		HealthCheck: &elb.HealthCheckChange{
			From: elb.HealthCheck{Protocol: "TCP"},
			To:   elb.HealthCheck{Protocol: "HTTP", Port: 30200, Path: "/healthz"},
		},
	}

	res, err := elb.NewClient(api).Apply(context.Background(), testARN, p)
	if err != nil {
		t.Fatalf("Apply() error = %v", err)
	}

	// Make before break: the new target and its health check exist before the old one goes.
	want := []call{
		{Op: "RegisterTargets", ARN: testARN, Targets: []string{"10.0.0.2:31443"}},
		{Op: "ModifyTargetGroup", ARN: testARN, HealthCheck: "HTTP:30200/healthz"},
		{Op: "DeregisterTargets", ARN: testARN, Targets: []string{"10.0.0.1:30443"}},
	}
	if diff := cmp.Diff(want, api.calls); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(elb.Result{Registered: 1, Deregistered: 1, HealthCheck: true}, res); diff != "" {
		t.Errorf("Result mismatch (-want +got):\n%s", diff)
	}
}

func TestApplyStopsAtFirstError(t *testing.T) {
	hc := &elb.HealthCheckChange{To: elb.HealthCheck{Protocol: "HTTP", Port: 30200, Path: "/healthz"}}
	tests := []struct {
		name       string
		plan       elb.Plan
		failOp     string
		failN      int
		wantOps    []string
		wantResult elb.Result
	}{
		{
			name:       "first register call fails: nothing done",
			plan:       elb.Plan{Register: targets(450, 30443), Deregister: targets(1, 31443), HealthCheck: hc},
			failOp:     "RegisterTargets",
			failN:      1,
			wantOps:    []string{"RegisterTargets"},
			wantResult: elb.Result{},
		},
		{
			name:       "second register call fails: one chunk done, no health check, no deregister",
			plan:       elb.Plan{Register: targets(450, 30443), Deregister: targets(1, 31443), HealthCheck: hc},
			failOp:     "RegisterTargets",
			failN:      2,
			wantOps:    []string{"RegisterTargets", "RegisterTargets"},
			wantResult: elb.Result{Registered: 200},
		},
		{
			name:       "health check fails: registered, nothing deregistered",
			plan:       elb.Plan{Register: targets(3, 30443), Deregister: targets(2, 31443), HealthCheck: hc},
			failOp:     "ModifyTargetGroup",
			failN:      1,
			wantOps:    []string{"RegisterTargets", "ModifyTargetGroup"},
			wantResult: elb.Result{Registered: 3},
		},
		{
			name:       "second deregister call fails: the rest stays registered",
			plan:       elb.Plan{Register: targets(3, 30443), Deregister: targets(250, 31443), HealthCheck: hc},
			failOp:     "DeregisterTargets",
			failN:      2,
			wantOps:    []string{"RegisterTargets", "ModifyTargetGroup", "DeregisterTargets", "DeregisterTargets"},
			wantResult: elb.Result{Registered: 3, HealthCheck: true, Deregistered: 200},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(ipGroup(testARN))
			injected := &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
			api.failOn[tt.failOp] = tt.failN
			api.failErr = injected

			res, err := elb.NewClient(api).Apply(context.Background(), testARN, tt.plan)
			if !errors.Is(err, injected) {
				t.Fatalf("Apply() error = %v, want it to wrap %v", err, injected)
			}
			if diff := cmp.Diff(tt.wantOps, api.ops()); diff != "" {
				t.Errorf("calls mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantResult, res); diff != "" {
				t.Errorf("Result mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSyncTwiceIsQuiet runs describe → plan → apply twice against the fake: the second round
// must plan nothing and call no mutating API.
func TestSyncTwiceIsQuiet(t *testing.T) {
	api := newFakeAPI(ipGroup(testARN))
	api.targets[testARN] = []types.TargetHealthDescription{
		{Target: &types.TargetDescription{Id: aws.String("10.0.0.1"), Port: aws.Int32(30443)}, TargetHealth: &types.TargetHealth{State: types.TargetHealthStateEnumHealthy}},
		{Target: &types.TargetDescription{Id: aws.String("10.0.0.9"), Port: aws.Int32(30443)}, TargetHealth: &types.TargetHealth{State: types.TargetHealthStateEnumHealthy}},
	}
	c := elb.NewClient(api)
	desired := []elb.Target{tgt("10.0.0.1", 30443), tgt("10.0.0.2", 30443)}
	hc := elb.HealthCheck{Protocol: "HTTP", Port: 30200, Path: "/healthz"}
	ctx := context.Background()

	tg, err := c.Describe(ctx, testARN)
	if err != nil {
		t.Fatalf("Describe() error = %v", err)
	}
	first := elb.ComputePlan(desired, hc, tg)
	if first.Empty() {
		t.Fatal("first plan is empty, want changes")
	}
	if _, err := c.Apply(ctx, testARN, first); err != nil {
		t.Fatalf("Apply() error = %v", err)
	}

	api.calls = nil
	tg, err = c.Describe(ctx, testARN)
	if err != nil {
		t.Fatalf("second Describe() error = %v", err)
	}
	second := elb.ComputePlan(desired, hc, tg)
	if diff := cmp.Diff(elb.Plan{}, second, cmpOpts); diff != "" {
		t.Errorf("second plan mismatch (-want +got):\n%s", diff)
	}
	if _, err := c.Apply(ctx, testARN, second); err != nil {
		t.Fatalf("second Apply() error = %v", err)
	}
	if diff := cmp.Diff([]string{"DescribeTargetGroups", "DescribeTargetHealth"}, api.ops()); diff != "" {
		t.Errorf("second round calls mismatch (-want +got):\n%s", diff)
	}
}

func TestDescribe(t *testing.T) {
	g := ipGroup(testARN)
	g.HealthCheckProtocol = types.ProtocolEnumHttp
	g.HealthCheckPort = aws.String("30200")
	g.HealthCheckPath = aws.String("/healthz")
	api := newFakeAPI(g)
	api.targets[testARN] = []types.TargetHealthDescription{
		{
			// AWS leaves Port out when the target uses the target group's port.
			Target:       &types.TargetDescription{Id: aws.String("10.0.0.1")},
			TargetHealth: &types.TargetHealth{State: types.TargetHealthStateEnumHealthy},
		},
		{
			Target: &types.TargetDescription{Id: aws.String("10.0.0.2"), Port: aws.Int32(30443)},
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
		ARN:         testARN,
		Name:        "ingress-https",
		TargetType:  "ip",
		Port:        443,
		VpcID:       "vpc-0abc",
		HealthCheck: elb.HealthCheck{Protocol: "HTTP", Port: 30200, Path: "/healthz"},
		Targets: []elb.Observed{
			{Target: tgt("10.0.0.1", 443), State: "healthy"},
			{Target: tgt("10.0.0.2", 30443), State: "unhealthy", Reason: "Target.FailedHealthChecks"},
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
