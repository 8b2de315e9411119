package bootstrap

import (
	"fmt"
	"maps"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/sg"
)

const (
	cluster = "prod"
	lbARN   = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/prod-ingress/0123456789abcdef"
	tgARN   = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/prod-http/0123456789abcdef"
	vpcID   = "vpc-0a"
)

// seedSpec is the spec of the seed's setup with the flags' defaults.
func seedSpec() Spec {
	return Spec{
		Cluster:                cluster,
		Service:                types.NamespacedName{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"},
		ServicePort:            intstr.FromString("http"),
		Binding:                "http",
		HealthCheckService:     types.NamespacedName{Namespace: "ingress-nginx", Name: "ingress-nginx-healthcheck"},
		HealthCheckServicePort: "healthz",
		NodePort:               30080,
		HealthCheckNodePort:    30200,
		HealthCheckPath:        "/healthz",
		ListenerPort:           80,
		DeregistrationDelay:    5 * time.Second,
		Scheme:                 SchemeInternetFacing,
		DeletionProtection:     true,
		LoadBalancerName:       "prod-ingress",
		TargetGroupName:        "prod-http",
	}
}

var subnets = []Subnet{{ID: "subnet-0a", VPCID: vpcID, Zone: "us-east-1a"}, {ID: "subnet-0b", VPCID: vpcID, Zone: "us-east-1b"}}

func ingressService(nodePort int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, NodePort: nodePort}, {Name: "https", Port: 443, NodePort: 30443},
		}},
	}
}

func ourLB() LoadBalancer {
	return LoadBalancer{
		ARN: lbARN, Name: "prod-ingress", Type: "network", Scheme: SchemeInternetFacing, VPCID: vpcID,
		DNSName: "prod-ingress-1.elb.amazonaws.com", Tags: seedSpec().tags(false),
		Attributes: map[string]string{AttrDeletionProtection: "true"},
	}
}

func ourTG() TargetGroup {
	return TargetGroup{
		ARN: tgARN, Name: "prod-http", Protocol: "TCP", TargetType: "ip", VPCID: vpcID, Port: 30080,
		HealthCheck: elb.HealthCheck{Protocol: "HTTP", Port: 30200, Path: "/healthz"},
		Tags:        seedSpec().tags(true), Attributes: map[string]string{AttrDeregistrationDelay: "5"},
	}
}

func listener() Listener {
	return Listener{ARN: lbARN + "/l1", Port: 80, Protocol: "TCP", TargetGroupARNs: []string{tgARN}}
}

// complete is everything in place.
func complete() Current {
	lb := ourLB()
	lb.Listeners = []Listener{listener()}
	tg := ourTG()
	tg.LoadBalancerARNs = []string{lbARN}
	return Current{
		Namespaces:         map[string]bool{"ingress-nginx": true},
		Service:            ingressService(30080),
		HealthCheckService: healthCheckService(seedSpec()),
		LoadBalancers:      []LoadBalancer{lb},
		TargetGroups:       []TargetGroup{tg},
	}
}

// nothing is a cluster without ingress-nginx and an account without the setup.
func nothing() Current {
	return Current{Namespaces: map[string]bool{"ingress-nginx": false}, Subnets: subnets}
}

// rows renders steps as "Kind Name action", with a "!" on problems, for readable diffs.
func rows(steps []Step) []string {
	var out []string
	for _, s := range steps {
		r := fmt.Sprintf("%s %s %s", s.Kind, s.Name, s.Action)
		if s.Problem {
			r += " !"
		}
		out = append(out, r)
	}
	return out
}

func TestComputePlan(t *testing.T) {
	tests := []struct {
		name    string
		spec    func(*Spec)
		current func() Current
		want    []string
		// whys are substrings the WHY of the step at that index must contain.
		whys map[int]string
	}{
		{
			name:    "from nothing every resource is created",
			current: nothing,
			want: []string{
				"Namespace ingress-nginx create",
				"Service ingress-nginx/ingress-nginx-controller absent",
				"Service ingress-nginx/ingress-nginx-healthcheck create",
				"LoadBalancer prod-ingress create",
				"LoadBalancerAttribute deletion_protection.enabled set",
				"TargetGroup prod-http create",
				"TargetGroupAttribute deregistration_delay.timeout_seconds set",
				"Listener prod-ingress TCP:80 create",
			},
			whys: map[int]string{
				1: "uses --node-port 30080",
				3: "network, internet-facing, in subnet-0a (us-east-1a), subnet-0b (us-east-1b)",
				5: "ip TCP:30080 in vpc-0a, health check HTTP:30200/healthz",
				6: "5",
			},
		},
		{
			name:    "everything present: no step writes",
			current: complete,
			want: []string{
				"Namespace ingress-nginx found",
				"Service ingress-nginx/ingress-nginx-controller found",
				"Service ingress-nginx/ingress-nginx-healthcheck left alone",
				"LoadBalancer prod-ingress found",
				"LoadBalancerAttribute deletion_protection.enabled found",
				"TargetGroup prod-http found",
				"TargetGroupAttribute deregistration_delay.timeout_seconds found",
				"Listener prod-ingress TCP:80 found",
			},
			whys: map[int]string{2: "exists; NodePort 30200 is the health-check port", 3: "found by tags", 5: "found by tags"},
		},
		{
			name: "half-built: target group without listener, attributes never set",
			current: func() Current {
				c := complete()
				c.LoadBalancers[0].Listeners = nil
				c.LoadBalancers[0].Attributes[AttrDeletionProtection] = "false"
				c.TargetGroups[0].LoadBalancerARNs = nil
				c.TargetGroups[0].Attributes[AttrDeregistrationDelay] = "300"
				return c
			},
			want: []string{
				"Namespace ingress-nginx found",
				"Service ingress-nginx/ingress-nginx-controller found",
				"Service ingress-nginx/ingress-nginx-healthcheck left alone",
				"LoadBalancer prod-ingress found",
				"LoadBalancerAttribute deletion_protection.enabled set",
				"TargetGroup prod-http found",
				"TargetGroupAttribute deregistration_delay.timeout_seconds set",
				"Listener prod-ingress TCP:80 create",
			},
			whys: map[int]string{4: "true (was false)", 6: "5 (was 300)"},
		},
		{
			name: "half-built: load balancer without target group",
			current: func() Current {
				c := complete()
				c.LoadBalancers[0].Listeners = nil
				c.TargetGroups = nil
				return c
			},
			want: []string{
				"Namespace ingress-nginx found",
				"Service ingress-nginx/ingress-nginx-controller found",
				"Service ingress-nginx/ingress-nginx-healthcheck left alone",
				"LoadBalancer prod-ingress found",
				"LoadBalancerAttribute deletion_protection.enabled found",
				"TargetGroup prod-http create",
				"TargetGroupAttribute deregistration_delay.timeout_seconds set",
				"Listener prod-ingress TCP:80 create",
			},
			// The VPC comes from the load balancer; no subnets were read.
			whys: map[int]string{5: "in vpc-0a"},
		},
		{
			name: "conflicting target group is left alone and the listener skipped",
			current: func() Current {
				c := nothing()
				c.TargetGroups = []TargetGroup{{ARN: tgARN, Name: "prod-http", Protocol: "HTTP", TargetType: "instance", VPCID: vpcID, Port: 8080,
					Tags: map[string]string{}, Attributes: map[string]string{AttrDeregistrationDelay: "300"}}}
				return c
			},
			want: []string{
				"Namespace ingress-nginx create",
				"Service ingress-nginx/ingress-nginx-controller absent",
				"Service ingress-nginx/ingress-nginx-healthcheck create",
				"LoadBalancer prod-ingress create",
				"LoadBalancerAttribute deletion_protection.enabled set",
				"TargetGroup prod-http left alone !",
				"Listener prod-ingress TCP:80 skipped !",
			},
			whys: map[int]string{5: "target type instance (want ip); protocol HTTP (want TCP); port 8080 (want NodePort 30080): cannot change in place"},
		},
		{
			name: "the Service's NodePort wins over --node-port",
			current: func() Current {
				c := nothing()
				c.Namespaces["ingress-nginx"] = true
				c.Service = ingressService(31080)
				return c
			},
			want: []string{
				"Namespace ingress-nginx found",
				"Service ingress-nginx/ingress-nginx-controller found",
				"Service ingress-nginx/ingress-nginx-healthcheck create",
				"LoadBalancer prod-ingress create",
				"LoadBalancerAttribute deletion_protection.enabled set",
				"TargetGroup prod-http create",
				"TargetGroupAttribute deregistration_delay.timeout_seconds set",
				"Listener prod-ingress TCP:80 create",
			},
			whys: map[int]string{1: "NodePort 31080 of port http is the target group's port (wins over --node-port 30080)", 5: "ip TCP:31080"},
		},
		{
			name: "an existing health-check Service is left alone and its NodePort used",
			current: func() Current {
				c := nothing()
				c.Namespaces["ingress-nginx"] = true
				hc := healthCheckService(seedSpec())
				hc.Spec.Ports[0].NodePort = 30201
				hc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
				c.HealthCheckService = hc
				return c
			},
			want: []string{
				"Namespace ingress-nginx found",
				"Service ingress-nginx/ingress-nginx-controller absent",
				"Service ingress-nginx/ingress-nginx-healthcheck left alone",
				"LoadBalancer prod-ingress create",
				"LoadBalancerAttribute deletion_protection.enabled set",
				"TargetGroup prod-http create",
				"TargetGroupAttribute deregistration_delay.timeout_seconds set",
				"Listener prod-ingress TCP:80 create",
			},
			whys: map[int]string{
				2: `differs: NodePort 30201, not --health-check-node-port 30200; externalTrafficPolicy "Cluster" (want Local); NodePort 30201 is the health-check port`,
				5: "health check HTTP:30201/healthz",
			},
		},
		{
			name: "a load balancer of the name tagged for another cluster is left alone",
			current: func() Current {
				c := nothing()
				lb := ourLB()
				lb.Tags = map[string]string{TagCluster: "staging"}
				c.LoadBalancers = []LoadBalancer{lb}
				return c
			},
			want: []string{
				"Namespace ingress-nginx create",
				"Service ingress-nginx/ingress-nginx-controller absent",
				"Service ingress-nginx/ingress-nginx-healthcheck create",
				"LoadBalancer prod-ingress left alone !",
				"TargetGroup prod-http create",
				"TargetGroupAttribute deregistration_delay.timeout_seconds set",
				"Listener prod-ingress TCP:80 skipped !",
			},
			whys: map[int]string{3: "tagged targetsync.io/cluster=staging: another cluster's"},
		},
		{
			name: "an untagged load balancer of the name is not written to",
			current: func() Current {
				c := complete()
				c.LoadBalancers[0].Tags = map[string]string{TagKubernetesClusterPrefix + cluster: "owned"}
				c.LoadBalancers[0].Listeners = nil
				c.TargetGroups[0].LoadBalancerARNs = nil
				return c
			},
			want: []string{
				"Namespace ingress-nginx found",
				"Service ingress-nginx/ingress-nginx-controller found",
				"Service ingress-nginx/ingress-nginx-healthcheck left alone",
				"LoadBalancer prod-ingress left alone !",
				"TargetGroup prod-http found",
				"TargetGroupAttribute deregistration_delay.timeout_seconds found",
				"Listener prod-ingress TCP:80 skipped !",
			},
			whys: map[int]string{3: "exists without targetsync.io/cluster=prod"},
		},
		{
			name: "an untagged target group of the name is used as it is, never written",
			current: func() Current {
				c := nothing()
				tg := ourTG()
				tg.Tags = map[string]string{}
				tg.Attributes[AttrDeregistrationDelay] = "300"
				c.TargetGroups = []TargetGroup{tg}
				return c
			},
			want: []string{
				"Namespace ingress-nginx create",
				"Service ingress-nginx/ingress-nginx-controller absent",
				"Service ingress-nginx/ingress-nginx-healthcheck create",
				"LoadBalancer prod-ingress create",
				"LoadBalancerAttribute deletion_protection.enabled set",
				"TargetGroup prod-http found",
				"TargetGroupAttribute deregistration_delay.timeout_seconds left alone",
				"Listener prod-ingress TCP:80 create",
			},
			whys: map[int]string{
				5: "found by name, not tagged targetsync.io/cluster=prod: used as it is",
				6: "300 (want 5): not tagged for this cluster",
			},
		},
		{
			name: "a load balancer of the wrong type is left alone",
			current: func() Current {
				c := complete()
				c.LoadBalancers[0].Type = "application"
				return c
			},
			want: []string{
				"Namespace ingress-nginx found",
				"Service ingress-nginx/ingress-nginx-controller found",
				"Service ingress-nginx/ingress-nginx-healthcheck left alone",
				"LoadBalancer prod-ingress left alone !",
				"TargetGroup prod-http found",
				"TargetGroupAttribute deregistration_delay.timeout_seconds found",
				"Listener prod-ingress TCP:80 skipped !",
			},
			whys: map[int]string{3: "type application (want network): cannot change in place"},
		},
		{
			name: "the listener port forwards elsewhere",
			current: func() Current {
				c := complete()
				c.LoadBalancers[0].Listeners[0].TargetGroupARNs = []string{"arn:other"}
				return c
			},
			want: []string{
				"Namespace ingress-nginx found",
				"Service ingress-nginx/ingress-nginx-controller found",
				"Service ingress-nginx/ingress-nginx-healthcheck left alone",
				"LoadBalancer prod-ingress found",
				"LoadBalancerAttribute deletion_protection.enabled found",
				"TargetGroup prod-http found",
				"TargetGroupAttribute deregistration_delay.timeout_seconds found",
				"Listener prod-ingress TCP:80 left alone !",
			},
			whys: map[int]string{7: "forwards to arn:other, not prod-http"},
		},
		{
			name: "found by tags under another name; an untagged namesake is ignored",
			current: func() Current {
				c := complete()
				c.LoadBalancers[0].Name = "old-name"
				c.LoadBalancers = append(c.LoadBalancers, LoadBalancer{ARN: "arn:x", Name: "prod-ingress", Type: "network", Tags: map[string]string{}})
				return c
			},
			want: []string{
				"Namespace ingress-nginx found",
				"Service ingress-nginx/ingress-nginx-controller found",
				"Service ingress-nginx/ingress-nginx-healthcheck left alone",
				"LoadBalancer old-name found",
				"LoadBalancerAttribute deletion_protection.enabled found",
				"TargetGroup prod-http found",
				"TargetGroupAttribute deregistration_delay.timeout_seconds found",
				"Listener old-name TCP:80 found",
			},
			whys: map[int]string{3: "found by tags (not named prod-ingress)"},
		},
		{
			name: "no subnets: the load balancer cannot be created",
			current: func() Current {
				c := nothing()
				c.Subnets, c.SubnetsErr = nil, "no subnets tagged kubernetes.io/role/elb=1: set --subnet"
				return c
			},
			want: []string{
				"Namespace ingress-nginx create",
				"Service ingress-nginx/ingress-nginx-controller absent",
				"Service ingress-nginx/ingress-nginx-healthcheck create",
				"LoadBalancer prod-ingress skipped !",
				"TargetGroup prod-http skipped !",
				"Listener prod-ingress TCP:80 skipped !",
			},
			whys: map[int]string{3: "set --subnet", 4: "set --vpc-id or --subnet"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := seedSpec()
			if tt.spec != nil {
				tt.spec(&spec)
			}
			p := ComputePlan(spec, tt.current())
			if diff := cmp.Diff(tt.want, rows(p.Steps)); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			for i, want := range tt.whys {
				if i >= len(p.Steps) || !strings.Contains(p.Steps[i].Why, want) {
					got := ""
					if i < len(p.Steps) {
						got = p.Steps[i].Why
					}
					t.Errorf("step %d WHY = %q, want it to contain %q", i, got, want)
				}
			}
		})
	}
}

func TestCompletePlanIsEmptyAndOK(t *testing.T) {
	p := ComputePlan(seedSpec(), complete())
	if !p.Empty() {
		t.Errorf("plan of a complete setup writes:\n%s", strings.Join(rows(p.Steps), "\n"))
	}
	if !Preview(p).OK() {
		t.Error("a complete setup is not OK")
	}
	if p.TargetGroup.ARN != tgARN || p.LoadBalancer.DNSName != "prod-ingress-1.elb.amazonaws.com" {
		t.Errorf("refs = %+v %+v", p.TargetGroup, p.LoadBalancer)
	}
}

func TestPlannedHealthCheckService(t *testing.T) {
	p := ComputePlan(seedSpec(), nothing())
	svc := p.Steps[2].Service
	if svc == nil {
		t.Fatal("no Service to create")
	}
	want := corev1.ServiceSpec{
		Type:                  corev1.ServiceTypeNodePort,
		ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
		Selector:              map[string]string{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
		Ports: []corev1.ServicePort{{Name: "healthz", Protocol: corev1.ProtocolTCP, Port: 10254,
			TargetPort: intstr.FromInt32(10254), NodePort: 30200}},
	}
	if diff := cmp.Diff(want, svc.Spec); diff != "" {
		t.Errorf("health-check Service spec (-want +got):\n%s", diff)
	}
	if svc.Namespace != "ingress-nginx" || svc.Name != "ingress-nginx-healthcheck" {
		t.Errorf("Service %s/%s", svc.Namespace, svc.Name)
	}
}

func TestPlanRules(t *testing.T) {
	spec := seedSpec()
	spec.SecurityGroups = sg.GroupSelector{IDs: []string{"sg-1"}}
	spec.Sources = []sg.Source{{Kind: sg.SourceVPCCIDR}}
	vpc := netip.MustParsePrefix("10.0.0.0/16")
	owner := sg.Owner{Cluster: cluster}

	t.Run("opens what is not open, and revokes nothing", func(t *testing.T) {
		c := complete()
		c.Rules = &RulesState{GroupIDs: []string{"sg-1"}, CIDRs: []netip.Prefix{vpc}, Groups: []sg.Group{{ID: "sg-1", Rules: []sg.Observed{
			{Rule: sg.Rule{Protocol: "tcp", FromPort: 30080, ToPort: 30080, CIDR: vpc}, ID: "sgr-1", Description: owner.Description(), Owned: true},
			{Rule: sg.Rule{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: vpc}, ID: "sgr-2", Description: owner.Description(), Owned: true},
		}}}}
		p := ComputePlan(spec, c)
		got := rows(p.Steps[len(p.Steps)-2:])
		want := []string{
			"SecurityGroupRule sg-1 tcp 30080 from 10.0.0.0/16 found",
			"SecurityGroupRule sg-1 tcp 30200 from 10.0.0.0/16 create",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("rule steps (-want +got):\n%s", diff)
		}
	})
	t.Run("private IPs of a load balancer still to be created wait for it", func(t *testing.T) {
		spec := spec
		spec.Sources = []sg.Source{{Kind: sg.SourceNLBPrivateIPs}}
		c := nothing()
		c.Rules = &RulesState{GroupIDs: []string{"sg-1"}, Pending: "the load balancer's private IPs are known once it exists"}
		p := ComputePlan(spec, c)
		last := p.Steps[len(p.Steps)-1]
		if got := rows([]Step{last}); !cmp.Equal(got, []string{"SecurityGroupRule sg-1 tcp 30080,30200 from nlb-private-ips create"}) {
			t.Errorf("rule step = %q", got)
		}
	})
}

// TestComputePlanIsPure guards the plan against changing what it was handed.
func TestComputePlanIsPure(t *testing.T) {
	c := complete()
	before := maps.Clone(c.LoadBalancers[0].Attributes)
	_ = ComputePlan(seedSpec(), c)
	if !maps.Equal(before, c.LoadBalancers[0].Attributes) {
		t.Error("ComputePlan changed its input")
	}
}
