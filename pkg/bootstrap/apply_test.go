package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestRunFromNothingWithFakes(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset()
	f := &fakeELB{}
	b := New(Clients{ELB: f, EC2: fakeEC2{subnets}, Kube: kube}, seedSpec())

	res, err := b.Run(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		t.Errorf("not OK:\n%s", table(t, res))
	}
	want := []string{"CreateLoadBalancer", "ModifyLoadBalancerAttributes", "CreateTargetGroup", "ModifyTargetGroupAttributes", "CreateListener"}
	if diff := cmp.Diff(want, f.calls); diff != "" {
		t.Errorf("ELB writes, in order (-want +got):\n%s", diff)
	}
	lb := f.inputs[0].(*elbv2.CreateLoadBalancerInput)
	if got := lb.Subnets; !cmp.Equal(got, []string{"subnet-0a", "subnet-0b"}) {
		t.Errorf("load balancer subnets = %v", got)
	}
	tg := f.inputs[2].(*elbv2.CreateTargetGroupInput)
	if aws.ToInt32(tg.Port) != 30080 || aws.ToString(tg.HealthCheckPort) != "30200" || aws.ToString(tg.VpcId) != vpcID {
		t.Errorf("target group port %d, health-check port %s, VPC %s", aws.ToInt32(tg.Port), aws.ToString(tg.HealthCheckPort), aws.ToString(tg.VpcId))
	}
	l := f.inputs[4].(*elbv2.CreateListenerInput)
	if !strings.HasSuffix(aws.ToString(l.DefaultActions[0].TargetGroupArn), "targetgroup/prod-http/1") || !strings.Contains(aws.ToString(l.LoadBalancerArn), "loadbalancer/net/prod-ingress/") {
		t.Errorf("listener on %s forwards to %s", aws.ToString(l.LoadBalancerArn), aws.ToString(l.DefaultActions[0].TargetGroupArn))
	}
	if _, err := kube.CoreV1().Namespaces().Get(ctx, "ingress-nginx", metav1.GetOptions{}); err != nil {
		t.Errorf("namespace: %v", err)
	}
	svc, err := kube.CoreV1().Services("ingress-nginx").Get(ctx, "ingress-nginx-healthcheck", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("health-check Service: %v", err)
	}
	if svc.Spec.Ports[0].NodePort != 30200 || svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		t.Errorf("health-check Service spec = %+v", svc.Spec)
	}
	for _, s := range res.Steps {
		if a := s.ActionText(true); a != "created" && a != "set" && a != "absent" {
			t.Errorf("%s %s: %s", s.Kind, s.Name, a)
		}
	}
}

func TestApplySkipsOnlyWhatDependsOnAFailure(t *testing.T) {
	f := &fakeELB{fail: map[string]error{"CreateTargetGroup": errors.New("AccessDenied: not allowed")}}
	b := New(Clients{ELB: f, EC2: fakeEC2{subnets}, Kube: fake.NewClientset()}, seedSpec())
	res, err := b.Run(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() {
		t.Error("a failed create is OK")
	}
	got := map[Kind]string{}
	for _, s := range res.Steps {
		got[s.Kind] = s.ActionText(true)
	}
	want := map[Kind]string{
		KindNamespace: "created", KindService: "created", KindLoadBalancer: "created", KindLoadBalancerAttribute: "set",
		KindTargetGroup: "failed", KindTargetGroupAttribute: "skipped", KindListener: "skipped",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if !strings.Contains(table(t, res), "create target group prod-http: AccessDenied: not allowed") {
		t.Errorf("the table does not say why:\n%s", table(t, res))
	}
}

func TestExistingServiceIsNeverUpdated(t *testing.T) {
	ctx := context.Background()
	hc := healthCheckService(seedSpec())
	hc.Spec.Selector = map[string]string{"app": "nginx-ingress"}
	hc.Spec.Ports[0].NodePort = 30201
	kube := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ingress-nginx"}},
		hc,
	)
	kube.ClearActions()
	b := New(Clients{ELB: &fakeELB{}, EC2: fakeEC2{subnets}, Kube: kube}, seedSpec())
	res, err := b.Run(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range kube.Actions() {
		if a.GetVerb() != "get" {
			t.Errorf("cluster write: %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
	s := res.Steps[2]
	if s.ActionText(true) != "left alone" || !strings.Contains(s.Why, `selector app.kubernetes.io/name=""`) {
		t.Errorf("health-check Service row: %s %q", s.ActionText(true), s.Why)
	}
	if res.HealthCheckPort != 30201 {
		t.Errorf("health-check port %d, want the Service's 30201", res.HealthCheckPort)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	kube := fake.NewClientset()
	f := &fakeELB{}
	res, err := New(Clients{ELB: f, EC2: fakeEC2{subnets}, Kube: kube}, seedSpec()).Run(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 0 {
		t.Errorf("dry run wrote to ELB: %v", f.calls)
	}
	for _, a := range kube.Actions() {
		if a.GetVerb() != "get" {
			t.Errorf("dry run wrote to the cluster: %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
	if !strings.Contains(table(t, res), "would create") || strings.Contains(table(t, res), "created") {
		t.Errorf("dry-run table:\n%s", table(t, res))
	}
}

func table(t *testing.T, r Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
