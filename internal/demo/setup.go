package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/targetsync/targetsync/internal/testenv"
)

// worker is a node of the story.
type worker struct{ name, ip string }

var workers = []worker{
	{"worker-1", "10.0.1.11"}, {"worker-2", "10.0.2.12"}, {"worker-3", "10.0.1.13"}, {"worker-4", "10.0.2.14"},
	{"worker-5", "10.0.1.15"}, {"worker-6", "10.0.2.16"}, {"worker-7", "10.0.1.17"},
}

// setup starts kube-apiserver, etcd, moto and the AWS double in a temporary directory and builds
// the world bootstrap starts from: EKS-tagged subnets, a worker security group, the ingress
// controller's Service and three workers.
func (d *demo) setup(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "targetsync-demo-")
	if err != nil {
		return err
	}
	d.dir = dir
	d.onExit(func() { _ = os.RemoveAll(dir) })
	// envtest makes its etcd data and certificate directories in TMPDIR: keep them in ours.
	d.setenv("TMPDIR", dir)

	// kube-apiserver takes seconds to start, moto about one: start both at once.
	type kubeResult struct {
		k   *testenv.Kube
		err error
	}
	kc := make(chan kubeResult, 1)
	go func() {
		k, err := testenv.StartKube(dir)
		kc <- kubeResult{k, err}
	}()
	moto, motoErr := testenv.StartMoto()
	if motoErr == nil {
		d.moto = moto
		d.onExit(moto.Stop) // kills moto_server's process group
	}
	kr := <-kc
	if kr.err == nil {
		d.kube = kr.k
		d.onExit(func() { _ = kr.k.Stop() })
	}
	if err := errors.Join(kr.err, motoErr); err != nil {
		return err
	}
	if d.proxy, err = testenv.StartProxy(d.moto.URL); err != nil {
		return err
	}
	d.onExit(func() { _ = d.proxy.Close() })
	// As in AWS, a new target reports initial until its first health checks pass.
	d.proxy.SetInitialFor(initialFor)
	testenv.SetAWSEnv(d.setenv, d.proxy.URL)
	if d.direct, err = testenv.NewAWS(ctx, d.moto.URL); err != nil {
		return err
	}
	if d.aws, err = testenv.NewAWS(ctx, d.proxy.URL); err != nil {
		return err
	}
	if d.metrics, err = testenv.FreeAddr(); err != nil {
		return err
	}
	d.logPath = filepath.Join(dir, "targetsync.log")
	if err := d.awsWorld(ctx); err != nil {
		return fmt.Errorf("create VPC, subnets and security group in moto: %w", err)
	}
	if err := d.kubeWorld(ctx); err != nil {
		return fmt.Errorf("create the ingress Service and workers: %w", err)
	}
	return nil
}

// awsWorld creates a VPC with two subnets tagged for EKS load balancer discovery and the
// workers' security group.
func (d *demo) awsWorld(ctx context.Context) error {
	e := d.direct.EC2
	vpc, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(vpcCIDR)})
	if err != nil {
		return err
	}
	d.vpcID = aws.ToString(vpc.Vpc.VpcId)
	var subnets []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId,
			CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)), AvailabilityZone: aws.String(az)})
		if err != nil {
			return err
		}
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	if _, err := e.CreateTags(ctx, &ec2.CreateTagsInput{Resources: subnets, Tags: []ec2types.Tag{
		{Key: aws.String("kubernetes.io/role/elb"), Value: aws.String("1")},
		{Key: aws.String("kubernetes.io/cluster/" + cluster), Value: aws.String("owned")},
	}}); err != nil {
		return err
	}
	sg, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(cluster + "-workers"), Description: aws.String("worker nodes of the demo cluster"), VpcId: vpc.Vpc.VpcId,
	})
	if err != nil {
		return err
	}
	d.sgID = aws.ToString(sg.GroupId)
	return nil
}

// kubeWorld creates the ingress-nginx controller Service (NodePorts 30080 and 30443, as
// deploy/ingress-nginx/values.yaml sets them) and the first three workers.
func (d *demo) kubeWorld(ctx context.Context) error {
	c := d.kube.Client
	if err := testenv.CreateNamespace(ctx, c, namespace); err != nil {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: ingressName},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app.kubernetes.io/name": "ingress-nginx"},
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), NodePort: httpPort, Protocol: corev1.ProtocolTCP},
				{Name: "https", Port: 443, TargetPort: intstr.FromString("https"), NodePort: httpsPort, Protocol: corev1.ProtocolTCP},
			},
		},
	}
	if _, err := c.CoreV1().Services(namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return err
	}
	for _, w := range workers[:3] {
		if err := testenv.CreateNode(ctx, c, w.name, w.ip); err != nil {
			return err
		}
	}
	return nil
}

// bootstrap runs `targetsync bootstrap` and remembers the target group it made.
func (d *demo) bootstrap(ctx context.Context) (string, error) {
	code, out, errOut := exec(ctx, "bootstrap", "--cluster-name", cluster, "--kubeconfig", d.kube.Kubeconfig,
		"--security-group-id", d.sgID)
	if code != 0 {
		return out, fmt.Errorf("targetsync bootstrap exited %d: %s%s", code, out, errOut)
	}
	m := arnLine.FindStringSubmatch(out)
	if m == nil {
		return out, fmt.Errorf("targetsync bootstrap printed no target group ARN:\n%s", out)
	}
	d.tgARN = m[1]
	if m := dnsLine.FindStringSubmatch(out); m != nil {
		d.lbDNS = m[1]
	}
	return out, nil
}

// bindingArgs are the flags run and status share.
func (d *demo) bindingArgs(cmd string) []string {
	return []string{cmd,
		"--kubeconfig", d.kube.Kubeconfig,
		"--cluster-name", cluster,
		"--target-group-arn", d.tgARN,
		"--service", namespace + "/" + ingressName, "--service-port", "http",
		"--health-check-service", hcService, "--health-check-service-port", "healthz",
		"--security-group-id", d.sgID,
		"--leader-elect", "--leader-election-namespace", namespace,
	}
}

// startRun starts `targetsync run`, logging to a file in the demo's directory.
func (d *demo) startRun(ctx context.Context) error {
	log, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := append(d.bindingArgs("run"),
		"--metrics-bind-address", d.metrics, "--health-probe-bind-address", "0",
		"--min-sync-interval", "100ms", "--resync-period", "2s",
		"--capacity-window", window.String(),
		"--log-format", "console")
	d.run = startProcess(context.WithoutCancel(ctx), log, args...)
	d.onExit(func() {
		if code := d.run.stop(); code != 0 {
			fmt.Fprintf(d.out, "targetsync run exited %d\n", code)
		}
		_ = log.Close()
	})
	return nil
}

// runCommand is `targetsync run` as a person would type it, for the narration.
func (d *demo) runCommand() string {
	return "targetsync run --cluster-name " + cluster + " --target-group-arn …/" + tgName(d.tgARN) +
		" --service " + namespace + "/" + ingressName + " --service-port http --security-group-id " + d.sgID + " …"
}

// tgName is the name part of a target group ARN.
func tgName(arn string) string {
	_, rest, ok := strings.Cut(arn, ":targetgroup/")
	if !ok {
		return arn
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}
