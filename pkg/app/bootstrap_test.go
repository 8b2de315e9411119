//go:build !nomoto

package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/targetsync/targetsync/internal/motoserver"
	"github.com/targetsync/targetsync/pkg/config"
)

// startMoto starts a moto_server on 127.0.0.1 for one test, points the SDK's environment at it,
// and creates a VPC with two subnets EKS-tagged for the cluster's internet-facing load balancers.
func startMoto(t *testing.T) *elbv2.Client {
	t.Helper()
	m, err := motoserver.Start()
	if err != nil {
		t.Fatalf("moto: %v", err)
	}
	t.Cleanup(m.Stop)
	motoserver.SetAWSEnv(t.Setenv, m.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := ec2.NewFromConfig(cfg)
	vpc, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)), AvailabilityZone: aws.String(az)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(sn.Subnet.SubnetId))
	}
	if _, err := e.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids, Tags: []ec2types.Tag{
		{Key: aws.String("kubernetes.io/role/elb"), Value: aws.String("1")},
		{Key: aws.String("kubernetes.io/cluster/prod"), Value: aws.String("owned")},
	}}); err != nil {
		t.Fatal(err)
	}
	return elbv2.NewFromConfig(cfg)
}

// bootstrapOnce runs the command with a fake cluster and returns its exit code and output.
func bootstrapOnce(t *testing.T, kube *fake.Clientset, args ...string) (int, string, string) {
	t.Helper()
	cfg, err := config.ParseBootstrap(args)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := Bootstrap(context.Background(), cfg, Deps{Version: "test", Kube: kube}, &out, &errOut)
	t.Logf("targetsync bootstrap %s → exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}

func TestBootstrapFromNothingPrintsTheRunCommand(t *testing.T) {
	startMoto(t)
	kube := fake.NewClientset()

	code, out, _ := bootstrapOnce(t, kube, "--cluster-name", "prod", "--dry-run")
	if code != ExitOK || !strings.Contains(out, "would create") || strings.Contains(out, " created ") {
		t.Errorf("dry run: exit %d", code)
	}

	code, out, _ = bootstrapOnce(t, kube, "--cluster-name", "prod")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"KIND", "NAME/ID", "ACTION", "WHY", "LoadBalancer", "created", "prod-ingress-1.us-east-1.elb.amazonaws.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	_, cmd, ok := strings.Cut(out, "keep it in sync:\n  targetsync run ")
	if !ok {
		t.Fatal("no run command printed")
	}
	args := strings.Fields(strings.TrimSpace(cmd))
	run, err := config.Parse("run", args)
	if err != nil {
		t.Fatalf("the printed command does not parse: %v", err)
	}
	if arn := run.Bindings[0].TargetGroupARN(); !strings.Contains(arn, ":targetgroup/prod-http/") {
		t.Errorf("printed ARN %s", arn)
	}

	code, again, _ := bootstrapOnce(t, kube, "--cluster-name", "prod")
	if code != ExitOK || strings.Contains(again, "created") || strings.Contains(again, " set ") {
		t.Errorf("second run: exit %d, output:\n%s", code, again)
	}
	if !strings.Contains(again, "targetsync run "+strings.Join(args, " ")) {
		t.Error("the second run prints another command")
	}
}

func TestBootstrapWriteConfig(t *testing.T) {
	startMoto(t)
	kube := fake.NewClientset()
	path := filepath.Join(t.TempDir(), "targetsync.yaml")

	if code, out, _ := bootstrapOnce(t, kube, "--cluster-name", "prod", "--write-config", path, "--dry-run"); code != ExitOK || !strings.Contains(out, "would write "+path) {
		t.Errorf("dry run: exit %d", code)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("dry run wrote the file: %v", err)
	}
	if code, out, _ := bootstrapOnce(t, kube, "--cluster-name", "prod", "--write-config", path); code != ExitOK || !strings.Contains(out, "wrote "+path) {
		t.Fatalf("exit %d", code)
	}
	cfg, err := config.Parse("run", []string{"--config", path})
	if err != nil {
		t.Fatalf("run --config %s: %v", path, err)
	}
	if b := cfg.Bindings[0]; !strings.Contains(b.TargetGroupARN(), ":targetgroup/prod-http/") || (b.HealthCheck == nil || b.HealthCheck.Service.String() != "ingress-nginx/ingress-nginx-healthcheck") {
		t.Errorf("binding %+v", b)
	}
	if code, out, _ := bootstrapOnce(t, kube, "--cluster-name", "prod", "--write-config", path); code != ExitOK || !strings.Contains(out, "kept (unchanged)") {
		t.Errorf("second run: exit %d", code)
	}
	if err := os.WriteFile(path, []byte("clusterName: other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := bootstrapOnce(t, kube, "--cluster-name", "prod", "--write-config", path)
	if code != ExitError || !strings.Contains(errOut, "exists with other content: not overwritten") {
		t.Errorf("other content: exit %d, %s", code, errOut)
	}
	if b, _ := os.ReadFile(path); string(b) != "clusterName: other\n" {
		t.Errorf("the file was overwritten: %s", b)
	}
}

func TestBootstrapConflictExitsOne(t *testing.T) {
	elb := startMoto(t)
	ctx := context.Background()
	lbs, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("prod-ingress"), Type: elbtypes.LoadBalancerTypeEnumApplication, Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing,
		Subnets: subnetIDs(t),
		Tags:    []elbtypes.Tag{{Key: aws.String("targetsync.io/cluster"), Value: aws.String("prod")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := bootstrapOnce(t, fake.NewClientset(), "--cluster-name", "prod")
	if code != ExitError || !strings.Contains(out, "type application (want network): cannot change in place") ||
		!strings.Contains(errOut, "the setup is not complete") || !strings.Contains(out, "<DNS name of prod-ingress once created>") {
		t.Errorf("exit %d", code)
	}
	lb, err := elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lb.LoadBalancers) != 1 || aws.ToString(lb.LoadBalancers[0].LoadBalancerArn) != aws.ToString(lbs.LoadBalancers[0].LoadBalancerArn) {
		t.Errorf("load balancers after: %d", len(lb.LoadBalancers))
	}
}

func subnetIDs(t *testing.T) []string {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, err := ec2.NewFromConfig(cfg).DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("tag:kubernetes.io/role/elb"), Values: []string{"1"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range out.Subnets {
		ids = append(ids, aws.ToString(s.SubnetId))
	}
	return ids
}
