//go:build !nomoto

package bootstrap

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go/middleware"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/targetsync/targetsync/internal/motoserver"
	"github.com/targetsync/targetsync/pkg/sg"
)

// These tests drive the real SDK clients against moto_server on 127.0.0.1. Where moto differs
// from AWS the code is written for AWS and the test says so:
//   - moto gives a network load balancer an "app/" ARN (AWS: "net/"), so sg's nlb-private-ips
//     source, which derives the ENI description from a "net/" ARN, is left to pkg/bootstrap's
//     pure plan tests and pkg/sg's own tests;
//   - moto does not report Elastic IP allocations back in LoadBalancerAddresses;
//   - moto does not refuse a second load balancer with the same name (AWS returns the existing
//     one or DuplicateLoadBalancerName), which is why the re-run tests count load balancers.

// One moto server serves the package: starting it costs seconds, resetting it milliseconds.
var moto struct {
	once   sync.Once
	server *motoserver.Server
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if moto.server != nil {
		moto.server.Stop()
	}
	os.Exit(code)
}

// recorder counts the AWS operations of every client built from one aws.Config, through the
// SDK's own middleware stack, so the tests see exactly what went over the wire.
type recorder struct {
	mu  sync.Mutex
	ops []string
}

func (r *recorder) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("recordOperation",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			r.mu.Lock()
			r.ops = append(r.ops, awsmiddleware.GetOperationName(ctx))
			r.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

// writes returns the operations since the last call that are not reads, and starts again.
func (r *recorder) writes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var w []string
	for _, op := range r.ops {
		if !strings.HasPrefix(op, "Describe") {
			w = append(w, op)
		}
	}
	r.ops = nil
	return w
}

// env is a freshly reset moto with a VPC and two subnets EKS-tagged for internet-facing load
// balancers of the cluster, and real SDK clients whose calls are recorded.
type env struct {
	elb   *elbv2.Client
	ec2   *ec2.Client
	rec   *recorder
	vpc   string
	cidr  string
	nets  []string
	kube  *fake.Clientset
	spec  Spec
	rules *sg.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	moto.once.Do(func() { moto.server, moto.err = motoserver.Start() })
	if moto.err != nil {
		t.Fatalf("moto: %v", moto.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := moto.server.Reset(ctx); err != nil {
		t.Fatalf("moto: %v", err)
	}
	motoserver.SetAWSEnv(t.Setenv, moto.server.URL)
	e := &env{rec: &recorder{}, cidr: "10.0.0.0/16", kube: fake.NewClientset(), spec: seedSpec()}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithAPIOptions([]func(*middleware.Stack) error{e.rec.middleware}))
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	e.elb, e.ec2 = elbv2.NewFromConfig(cfg), ec2.NewFromConfig(cfg)

	vpc, err := e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(e.cidr)})
	if err != nil {
		t.Fatal(err)
	}
	e.vpc = aws.ToString(vpc.Vpc.VpcId)
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)), AvailabilityZone: aws.String(az)})
		if err != nil {
			t.Fatal(err)
		}
		e.nets = append(e.nets, aws.ToString(sn.Subnet.SubnetId))
	}
	slices.Sort(e.nets)
	// A subnet of another cluster in a third zone, which discovery must not pick.
	other, err := e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.0.9.0/24"), AvailabilityZone: aws.String("us-east-1c")})
	if err != nil {
		t.Fatal(err)
	}
	tag := func(ids []string, k, v string) {
		if _, err := e.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids, Tags: []ec2types.Tag{{Key: aws.String(k), Value: aws.String(v)}}}); err != nil {
			t.Fatal(err)
		}
	}
	tag(e.nets, "kubernetes.io/role/elb", "1")
	tag(e.nets, "kubernetes.io/cluster/"+cluster, "shared")
	tag([]string{aws.ToString(other.Subnet.SubnetId)}, "kubernetes.io/role/elb", "1")
	tag([]string{aws.ToString(other.Subnet.SubnetId)}, "kubernetes.io/cluster/staging", "owned")
	e.rec.writes()
	return e
}

func (e *env) run(t *testing.T, dryRun bool) Result {
	t.Helper()
	var kube kubernetes.Interface = e.kube
	res, err := New(Clients{ELB: e.elb, EC2: e.ec2, Kube: kube, Rules: e.rules}, e.spec).Run(context.Background(), dryRun)
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	t.Logf("dryRun=%v:\n%s", dryRun, table(t, res))
	return res
}

// state is the AWS side as a test checks it.
type state struct {
	lbs       []elbtypes.LoadBalancer
	tgs       []elbtypes.TargetGroup
	listeners map[string][]elbtypes.Listener
	tags      map[string]map[string]string
	lbAttrs   map[string]map[string]string
	tgAttrs   map[string]map[string]string
}

func (e *env) state(t *testing.T) state {
	t.Helper()
	ctx := context.Background()
	s := state{listeners: map[string][]elbtypes.Listener{}, tags: map[string]map[string]string{}, lbAttrs: map[string]map[string]string{}, tgAttrs: map[string]map[string]string{}}
	lbs, err := e.elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	s.lbs = lbs.LoadBalancers
	tgs, err := e.elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	s.tgs = tgs.TargetGroups
	var arns []string
	for _, lb := range s.lbs {
		arn := aws.ToString(lb.LoadBalancerArn)
		arns = append(arns, arn)
		ls, err := e.elb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
		if err != nil {
			t.Fatal(err)
		}
		s.listeners[arn] = ls.Listeners
		for _, l := range ls.Listeners {
			arns = append(arns, aws.ToString(l.ListenerArn))
		}
		a, err := e.elb.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: lb.LoadBalancerArn})
		if err != nil {
			t.Fatal(err)
		}
		s.lbAttrs[arn] = map[string]string{}
		for _, kv := range a.Attributes {
			s.lbAttrs[arn][aws.ToString(kv.Key)] = aws.ToString(kv.Value)
		}
	}
	for _, tg := range s.tgs {
		arn := aws.ToString(tg.TargetGroupArn)
		arns = append(arns, arn)
		a, err := e.elb.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
		if err != nil {
			t.Fatal(err)
		}
		s.tgAttrs[arn] = map[string]string{}
		for _, kv := range a.Attributes {
			s.tgAttrs[arn][aws.ToString(kv.Key)] = aws.ToString(kv.Value)
		}
	}
	for chunk := range slices.Chunk(arns, maxTagARNs) {
		out, err := e.elb.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: chunk})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range out.TagDescriptions {
			m := map[string]string{}
			for _, tg := range d.Tags {
				m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
			}
			s.tags[aws.ToString(d.ResourceArn)] = m
		}
	}
	e.rec.writes() // the checks' own reads are not the code's
	return s
}

// wantTags checks the tags every resource bootstrap creates carries.
func wantTags(t *testing.T, what string, got map[string]string, binding bool) {
	t.Helper()
	want := map[string]string{
		"targetsync.io/cluster":      cluster,
		"kubernetes.io/cluster/prod": "owned",
		"targetsync.io/service":      "ingress-nginx/ingress-nginx-controller",
	}
	if binding {
		want["targetsync.io/binding"] = "http"
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: tag %s = %q, want %q (tags %v)", what, k, got[k], v, got)
		}
	}
}

// checkSeedSetup checks that AWS holds exactly the seed's setup: one network load balancer,
// one target group and one listener, with the seed's settings and bootstrap's tags.
func checkSeedSetup(t *testing.T, s state, trafficPort int32) {
	t.Helper()
	if len(s.lbs) != 1 || len(s.tgs) != 1 {
		t.Fatalf("%d load balancers and %d target groups, want one of each", len(s.lbs), len(s.tgs))
	}
	lb, tg := s.lbs[0], s.tgs[0]
	lbARN, tgARN := aws.ToString(lb.LoadBalancerArn), aws.ToString(tg.TargetGroupArn)
	if lb.Type != elbtypes.LoadBalancerTypeEnumNetwork || lb.Scheme != elbtypes.LoadBalancerSchemeEnumInternetFacing || aws.ToString(lb.LoadBalancerName) != "prod-ingress" {
		t.Errorf("load balancer %s: type %s, scheme %s", aws.ToString(lb.LoadBalancerName), lb.Type, lb.Scheme)
	}
	wantTags(t, "load balancer", s.tags[lbARN], false)
	if got := s.lbAttrs[lbARN][AttrDeletionProtection]; got != "true" {
		t.Errorf("deletion protection %q, want true", got)
	}
	if aws.ToString(tg.TargetGroupName) != "prod-http" || tg.TargetType != elbtypes.TargetTypeEnumIp || tg.Protocol != elbtypes.ProtocolEnumTcp ||
		aws.ToInt32(tg.Port) != trafficPort || aws.ToString(tg.VpcId) == "" {
		t.Errorf("target group %s: type %s, %s:%d", aws.ToString(tg.TargetGroupName), tg.TargetType, tg.Protocol, aws.ToInt32(tg.Port))
	}
	if tg.HealthCheckProtocol != elbtypes.ProtocolEnumHttp || aws.ToString(tg.HealthCheckPort) != "30200" || aws.ToString(tg.HealthCheckPath) != "/healthz" {
		t.Errorf("health check %s:%s%s, want HTTP:30200/healthz", tg.HealthCheckProtocol, aws.ToString(tg.HealthCheckPort), aws.ToString(tg.HealthCheckPath))
	}
	wantTags(t, "target group", s.tags[tgARN], true)
	if got := s.tags[tgARN]["targetsync.io/health-check-port"]; got != "30200" {
		t.Errorf("target group tag targetsync.io/health-check-port = %q, want 30200 (what run records)", got)
	}
	if got := s.tgAttrs[tgARN][AttrDeregistrationDelay]; got != "5" {
		t.Errorf("deregistration delay %q, want 5", got)
	}
	ls := s.listeners[lbARN]
	if len(ls) != 1 {
		t.Fatalf("%d listeners, want 1", len(ls))
	}
	l := ls[0]
	if l.Protocol != elbtypes.ProtocolEnumTcp || aws.ToInt32(l.Port) != 80 || len(l.DefaultActions) != 1 ||
		l.DefaultActions[0].Type != elbtypes.ActionTypeEnumForward || aws.ToString(l.DefaultActions[0].TargetGroupArn) != tgARN {
		t.Errorf("listener %s:%d %+v", l.Protocol, aws.ToInt32(l.Port), l.DefaultActions)
	}
	wantTags(t, "listener", s.tags[aws.ToString(l.ListenerArn)], true)
}

// checkNoWriteOnRerun runs bootstrap again and fails on any write, to AWS or to the cluster.
func checkNoWriteOnRerun(t *testing.T, e *env) Result {
	t.Helper()
	e.rec.writes()
	e.kube.ClearActions()
	res := e.run(t, false)
	if w := e.rec.writes(); len(w) > 0 {
		t.Errorf("second run wrote to AWS: %v", w)
	}
	for _, a := range e.kube.Actions() {
		if a.GetVerb() != "get" {
			t.Errorf("second run wrote to the cluster: %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
	for _, s := range res.Steps {
		if a := s.ActionText(true); a != "found" && a != "left alone" && a != "absent" {
			t.Errorf("second run: %s %s %s (%s)", s.Kind, s.Name, a, s.WhyText())
		}
	}
	if !res.OK() {
		t.Error("second run is not OK")
	}
	return res
}
