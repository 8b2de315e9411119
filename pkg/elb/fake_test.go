package elb_test

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/targetsync/targetsync/pkg/elb"
)

const testARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ingress-https/0123456789abcdef"

// call is one request the fake received, reduced to what the tests assert on. A target sent
// with AvailabilityZone "all" reads ip:port@all.
type call struct {
	Op          string
	ARN         string
	Targets     []string
	HealthCheck string
	Tags        string
}

// fakeAPI is an in-memory ELBv2 that holds target groups, their targets and tags, records every
// call, and refuses requests the way AWS does:
//   - with vpc set, a request fails as a whole with ValidationError when it holds an address
//     outside every prefix without AvailabilityZone "all", or one inside with it;
//   - a request fails as a whole with the configured error when it holds an address in
//     reject (RegisterTargets) or rejectDeregister (DeregisterTargets);
//   - with quota set, RegisterTargets fails with TooManyTargets when the group would hold more
//     targets (Id+Port, draining ones not counted) than quota;
//   - a deregistered target drains;
//   - failOn fails the n-th call of an operation with failErr, errs fails every call of one.
type fakeAPI struct {
	groups  map[string]types.TargetGroup
	targets map[string][]types.TargetHealthDescription
	tags    map[string]map[string]string

	vpc              []netip.Prefix
	reject           map[string]error
	rejectDeregister map[string]error
	quota            int

	// failOn maps an operation to the 1-based number of the call that fails with failErr.
	failOn  map[string]int
	failErr error
	errs    map[string]error

	counts map[string]int
	calls  []call
}

var _ elb.API = (*fakeAPI)(nil)

func newFakeAPI(groups ...types.TargetGroup) *fakeAPI {
	f := &fakeAPI{
		groups:           map[string]types.TargetGroup{},
		targets:          map[string][]types.TargetHealthDescription{},
		tags:             map[string]map[string]string{},
		reject:           map[string]error{},
		rejectDeregister: map[string]error{},
		failOn:           map[string]int{},
		errs:             map[string]error{},
		counts:           map[string]int{},
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

// record logs c and returns the injected error when this call is one meant to fail, wrapped
// the way the SDK wraps what AWS returns.
func (f *fakeAPI) record(c call) error {
	f.calls = append(f.calls, c)
	f.counts[c.Op]++
	if err := f.errs[c.Op]; err != nil {
		return sdkErr(c.Op, err)
	}
	if n, ok := f.failOn[c.Op]; ok && n == f.counts[c.Op] {
		return sdkErr(c.Op, f.failErr)
	}
	return nil
}

func sdkErr(op string, err error) error {
	return &smithy.OperationError{ServiceID: "Elastic Load Balancing v2", OperationName: op, Err: err}
}

func (f *fakeAPI) ops() []string {
	out := make([]string, len(f.calls))
	for i, c := range f.calls {
		out[i] = c.Op
	}
	return out
}

func (f *fakeAPI) callsOf(op string) []call {
	var out []call
	for _, c := range f.calls {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

func targetStrings(ds []types.TargetDescription) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = fmt.Sprintf("%s:%d", aws.ToString(d.Id), aws.ToInt32(d.Port))
		if d.AvailabilityZone != nil {
			out[i] += "@" + *d.AvailabilityZone
		}
	}
	return out
}

// validate refuses the whole request the way AWS does when one of its targets is wrong.
func (f *fakeAPI) validate(ds []types.TargetDescription, reject map[string]error) error {
	for _, d := range ds {
		id := aws.ToString(d.Id)
		if err := reject[id]; err != nil {
			return err
		}
		ip, err := netip.ParseAddr(id)
		if err != nil {
			return &smithy.GenericAPIError{Code: "ValidationError", Message: fmt.Sprintf("'%s' is not a valid IP address", id), Fault: smithy.FaultClient}
		}
		if len(f.vpc) == 0 {
			continue
		}
		inside := slices.ContainsFunc(f.vpc, func(p netip.Prefix) bool { return p.Contains(ip) })
		all := aws.ToString(d.AvailabilityZone) == elb.ZoneAll
		switch {
		case !inside && !all:
			return &smithy.GenericAPIError{Code: "ValidationError", Fault: smithy.FaultClient,
				Message: fmt.Sprintf("The Availability Zone is required for IP address '%s' because it is not in the VPC", id)}
		case inside && all:
			return &smithy.GenericAPIError{Code: "ValidationError", Fault: smithy.FaultClient,
				Message: fmt.Sprintf("The IP address '%s' is within the VPC, and cannot have its Availability Zone overridden to 'all' from 'eu-west-1a'", id)}
		}
	}
	return nil
}

func (f *fakeAPI) DescribeTargetGroups(_ context.Context, in *elbv2.DescribeTargetGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	if err := f.record(call{Op: "DescribeTargetGroups", ARN: strings.Join(in.TargetGroupArns, ",")}); err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTargetGroupsOutput{}
	for _, arn := range in.TargetGroupArns {
		g, ok := f.groups[arn]
		if !ok {
			return nil, sdkErr("DescribeTargetGroups", &types.TargetGroupNotFoundException{Message: aws.String("One or more target groups not found")})
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
	return &elbv2.DescribeTargetHealthOutput{TargetHealthDescriptions: slices.Clone(f.targets[arn])}, nil
}

func (f *fakeAPI) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	if err := f.record(call{Op: "DescribeTags", ARN: strings.Join(in.ResourceArns, ",")}); err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		d := types.TagDescription{ResourceArn: aws.String(arn)}
		for _, k := range slices.Sorted(maps.Keys(f.tags[arn])) {
			d.Tags = append(d.Tags, types.Tag{Key: aws.String(k), Value: aws.String(f.tags[arn][k])})
		}
		out.TagDescriptions = append(out.TagDescriptions, d)
	}
	return out, nil
}

func (f *fakeAPI) AddTags(_ context.Context, in *elbv2.AddTagsInput, _ ...func(*elbv2.Options)) (*elbv2.AddTagsOutput, error) {
	var kv []string
	for _, t := range in.Tags {
		kv = append(kv, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	if err := f.record(call{Op: "AddTags", ARN: strings.Join(in.ResourceArns, ","), Tags: strings.Join(kv, ",")}); err != nil {
		return nil, err
	}
	for _, arn := range in.ResourceArns {
		if f.tags[arn] == nil {
			f.tags[arn] = map[string]string{}
		}
		for _, t := range in.Tags {
			f.tags[arn][aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return &elbv2.AddTagsOutput{}, nil
}

func (f *fakeAPI) RegisterTargets(_ context.Context, in *elbv2.RegisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error) {
	arn := aws.ToString(in.TargetGroupArn)
	if err := f.record(call{Op: "RegisterTargets", ARN: arn, Targets: targetStrings(in.Targets)}); err != nil {
		return nil, err
	}
	if err := f.validate(in.Targets, f.reject); err != nil {
		return nil, sdkErr("RegisterTargets", err)
	}
	if f.quota > 0 {
		held := map[string]bool{}
		for _, h := range f.targets[arn] {
			if h.TargetHealth == nil || h.TargetHealth.State != types.TargetHealthStateEnumDraining {
				held[key(*h.Target)] = true
			}
		}
		for _, d := range in.Targets {
			held[key(d)] = true
		}
		if len(held) > f.quota {
			return nil, sdkErr("RegisterTargets", &types.TooManyTargetsException{
				Message: aws.String(fmt.Sprintf("You've reached the limit on the number of targets per target group (%d)", f.quota)),
			})
		}
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
	if err := f.validate(in.Targets, f.rejectDeregister); err != nil {
		return nil, sdkErr("DeregisterTargets", err)
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
	if in.HealthCheckProtocol != "" {
		g.HealthCheckProtocol = in.HealthCheckProtocol
	}
	if in.HealthCheckPort != nil {
		g.HealthCheckPort = in.HealthCheckPort
	}
	if in.HealthCheckPath != nil {
		g.HealthCheckPath = in.HealthCheckPath
	}
	f.groups[arn] = g
	return &elbv2.ModifyTargetGroupOutput{TargetGroups: []types.TargetGroup{g}}, nil
}

func key(d types.TargetDescription) string {
	return fmt.Sprintf("%s:%d", aws.ToString(d.Id), aws.ToInt32(d.Port))
}

// setState sets the state of a target, adding it if needed. A new target lands in the zone AWS
// would report: "all" when it was sent so, else the zone of the subnet.
func (f *fakeAPI) setState(arn string, d types.TargetDescription, state types.TargetHealthStateEnum) {
	for i, have := range f.targets[arn] {
		if key(*have.Target) == key(d) {
			f.targets[arn][i].TargetHealth = &types.TargetHealth{State: state}
			return
		}
	}
	zone := "eu-west-1a"
	if aws.ToString(d.AvailabilityZone) == elb.ZoneAll {
		zone = elb.ZoneAll
	}
	f.targets[arn] = append(f.targets[arn], types.TargetHealthDescription{
		Target:       &types.TargetDescription{Id: d.Id, Port: d.Port, AvailabilityZone: aws.String(zone)},
		TargetHealth: &types.TargetHealth{State: state},
	})
}

// seed registers ts as healthy, in the zone AWS would report them.
func (f *fakeAPI) seed(arn string, zone string, ts ...elb.Target) {
	for _, t := range ts {
		f.targets[arn] = append(f.targets[arn], types.TargetHealthDescription{
			Target:       &types.TargetDescription{Id: aws.String(t.IP.String()), Port: aws.Int32(t.Port), AvailabilityZone: aws.String(zone)},
			TargetHealth: &types.TargetHealth{State: types.TargetHealthStateEnumHealthy},
		})
	}
}

func strs(ts []elb.Target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	return out
}
