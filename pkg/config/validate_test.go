package config_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/targetsync/targetsync/pkg/config"
)

const (
	arnA = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ingress-https/0123456789abcdef"
	arnB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ingress-http/fedcba9876543210"
	// arnUS is a target group in another region than arnA and arnB.
	arnUS = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/ingress-us/0a1b2c3d4e5f6a7b"

	fileSrc = config.Source("/etc/targetsync/config.yaml")
)

// valid returns a config that passes Validate from either source, with two bindings so that
// errors in the second one can be told apart from errors in the first.
func valid() config.Config {
	c := config.Default()
	c.ClusterName = "prod-eu"
	c.Bindings = []config.Binding{
		{
			TargetGroupARN: arnA,
			Service:        "ingress-nginx/ingress-nginx-controller",
			ServicePort:    intstr.FromString("https"),
			HealthCheck:    config.HealthCheck{Path: "/healthz"},
		},
		{
			TargetGroupARN: arnB,
			Service:        "ingress-nginx/ingress-nginx-controller",
			ServicePort:    intstr.FromInt32(80),
			HealthCheck:    config.HealthCheck{Path: "/healthz"},
		},
	}
	return c
}

// validOne is valid with one binding, as the flags produce it.
func validOne() config.Config {
	c := valid()
	c.Bindings = c.Bindings[:1]
	c.Bindings[0].HealthCheck.ServicePort = intstr.FromString("")
	return c
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		src    config.Source
		config func() config.Config
		// wantField is the FieldError's Field; empty when the error is not about one setting.
		wantField string
		// wantMsg is part of the message; empty means the config is valid.
		wantMsg string
	}{
		{name: "valid from flags", src: config.SourceFlags, config: validOne},
		{name: "valid from a file", src: fileSrc, config: valid},
		{
			name: "valid with a health-check Service",
			src:  config.SourceFlags,
			config: func() config.Config {
				c := validOne()
				c.Bindings[0].HealthCheck = config.HealthCheck{Service: "ingress-nginx/hc", ServicePort: intstr.FromString("health"), Path: "/"}
				return c
			},
		},
		{
			name: "valid with an explicit zero health-check port and no Service",
			src:  fileSrc,
			config: func() config.Config {
				c := valid()
				c.Bindings[0].HealthCheck.ServicePort = intstr.FromInt32(0)
				return c
			},
		},
		{
			name:      "malformed ARN",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.Bindings[0].TargetGroupARN = "ingress-https" }),
			wantField: "--target-group-arn",
			wantMsg:   "not an ARN",
		},
		{
			name:      "missing ARN",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.Bindings[0].TargetGroupARN = "" }),
			wantField: "--target-group-arn",
			wantMsg:   "required",
		},
		{
			name: "load balancer ARN instead of a target group",
			src:  config.SourceFlags,
			config: with(validOne, func(c *config.Config) {
				c.Bindings[0].TargetGroupARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/ingress/0123456789abcdef"
			}),
			wantField: "--target-group-arn",
			wantMsg:   "not a target group ARN",
		},
		{
			name: "ARN of another service",
			src:  config.SourceFlags,
			config: with(validOne, func(c *config.Config) {
				c.Bindings[0].TargetGroupARN = "arn:aws:ec2:eu-west-1:123456789012:targetgroup/ingress-https/0123456789abcdef"
			}),
			wantField: "--target-group-arn",
			wantMsg:   "not a target group ARN",
		},
		{
			name: "target group ARN without an ID",
			src:  config.SourceFlags,
			config: with(validOne, func(c *config.Config) {
				c.Bindings[0].TargetGroupARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ingress-https"
			}),
			wantField: "--target-group-arn",
			wantMsg:   "not a target group ARN",
		},
		{
			name: "target group ARN without a region",
			src:  config.SourceFlags,
			config: with(validOne, func(c *config.Config) {
				c.Bindings[0].TargetGroupARN = "arn:aws:elasticloadbalancing::123456789012:targetgroup/ingress-https/0123456789abcdef"
			}),
			wantField: "--target-group-arn",
			wantMsg:   "region or account missing",
		},
		{
			name:      "malformed ARN in the second binding of a file",
			src:       fileSrc,
			config:    with(valid, func(c *config.Config) { c.Bindings[1].TargetGroupARN = "arn:aws:elasticloadbalancing" }),
			wantField: "bindings[1].targetGroupARN in /etc/targetsync/config.yaml",
			wantMsg:   "not an ARN",
		},
		{
			name:      "port 0",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.Bindings[0].ServicePort = intstr.FromInt32(0) }),
			wantField: "--service-port",
			wantMsg:   "out of range 1-65535",
		},
		{
			name:      "port 70000",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.Bindings[0].ServicePort = intstr.FromInt32(70000) }),
			wantField: "--service-port",
			wantMsg:   "out of range 1-65535",
		},
		{
			name:      "port 70000 in the second binding of a file",
			src:       fileSrc,
			config:    with(valid, func(c *config.Config) { c.Bindings[1].ServicePort = intstr.FromInt32(70000) }),
			wantField: "bindings[1].servicePort in /etc/targetsync/config.yaml",
			wantMsg:   "out of range 1-65535",
		},
		{
			name:      "bad port name",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.Bindings[0].ServicePort = intstr.FromString("HTTPS_PORT") }),
			wantField: "--service-port",
			wantMsg:   "not a port name",
		},
		{
			name:      "empty port",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.Bindings[0].ServicePort = intstr.FromString("") }),
			wantField: "--service-port",
			wantMsg:   "required",
		},
		{
			name:      "service without a slash",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.Bindings[0].Service = "ingress-nginx-controller" }),
			wantField: "--service",
			wantMsg:   "want namespace/name",
		},
		{
			name:      "service with an empty name",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.Bindings[0].Service = "ingress-nginx/" }),
			wantField: "--service",
			wantMsg:   "want namespace/name",
		},
		{
			name:      "service with a bad namespace",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.Bindings[0].Service = "Ingress_Nginx/controller" }),
			wantField: "--service",
			wantMsg:   "not a valid namespace name",
		},
		{
			name:      "service with a bad name",
			src:       fileSrc,
			config:    with(valid, func(c *config.Config) { c.Bindings[0].Service = "ingress-nginx/1controller" }),
			wantField: "bindings[0].service in /etc/targetsync/config.yaml",
			wantMsg:   "not a valid Service name",
		},
		{
			name:      "unknown --not-ready value",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.NotReady = "drop" }),
			wantField: "--not-ready",
			wantMsg:   "want keep or remove",
		},
		{
			name:      "unknown notReady in a file names the field, not a binding",
			src:       fileSrc,
			config:    with(valid, func(c *config.Config) { c.NotReady = "Remove" }),
			wantField: "notReady in /etc/targetsync/config.yaml",
			wantMsg:   "want keep or remove",
		},
		{
			name:      "bad --node-selector",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.NodeSelector = "role in (ingress" }),
			wantField: "--node-selector",
			wantMsg:   "not a label selector",
		},
		{
			name:      "min-sync-interval equal to the resync period",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.MinSyncInterval.Duration = c.ResyncPeriod.Duration }),
			wantField: "--min-sync-interval",
			wantMsg:   "less than the resync period",
		},
		{
			name: "min-sync-interval above the resync period",
			src:  config.SourceFlags,
			config: with(validOne, func(c *config.Config) {
				c.ResyncPeriod.Duration, c.MinSyncInterval.Duration = 30*time.Second, time.Minute
			}),
			wantField: "--min-sync-interval",
			wantMsg:   "less than the resync period",
		},
		{
			name:      "negative min-sync-interval",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.MinSyncInterval.Duration = -time.Second }),
			wantField: "--min-sync-interval",
			wantMsg:   "at least 0",
		},
		{
			name:   "zero min-sync-interval is allowed",
			src:    config.SourceFlags,
			config: with(validOne, func(c *config.Config) { c.MinSyncInterval.Duration = 0 }),
		},
		{
			name:      "zero resync period",
			src:       fileSrc,
			config:    with(valid, func(c *config.Config) { c.ResyncPeriod.Duration = 0 }),
			wantField: "resyncPeriod in /etc/targetsync/config.yaml",
			wantMsg:   "must be positive",
		},
		{
			name:      "duplicate target group ARN across bindings",
			src:       fileSrc,
			config:    with(valid, func(c *config.Config) { c.Bindings[1].TargetGroupARN = arnA }),
			wantField: "bindings[1].targetGroupARN in /etc/targetsync/config.yaml",
			wantMsg:   "already bound by bindings[0]",
		},
		{
			name:      "duplicate binding names",
			src:       fileSrc,
			config:    with(valid, func(c *config.Config) { c.Bindings[0].Name, c.Bindings[1].Name = "web", "web" }),
			wantField: "bindings[1].name in /etc/targetsync/config.yaml",
			wantMsg:   "already used by bindings[0]",
		},
		{
			name:      "bad binding name",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.Bindings[0].Name = "Web_HTTPS" }),
			wantField: "--binding-name",
			wantMsg:   "want a DNS label",
		},
		{
			name:      "health-check service port without a health-check service",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.Bindings[0].HealthCheck.ServicePort = intstr.FromString("health") }),
			wantField: "--health-check-service-port",
			wantMsg:   "only together with the health-check Service",
		},
		{
			name:      "numeric health-check service port without a health-check service, in a file",
			src:       fileSrc,
			config:    with(valid, func(c *config.Config) { c.Bindings[1].HealthCheck.ServicePort = intstr.FromInt32(10254) }),
			wantField: "bindings[1].healthCheck.servicePort in /etc/targetsync/config.yaml",
			wantMsg:   "only together with the health-check Service",
		},
		{
			name:      "health-check service without a port",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.Bindings[0].HealthCheck.Service = "ingress-nginx/hc" }),
			wantField: "--health-check-service-port",
			wantMsg:   "required",
		},
		{
			name: "health-check service without a slash",
			src:  config.SourceFlags,
			config: with(validOne, func(c *config.Config) {
				c.Bindings[0].HealthCheck.Service, c.Bindings[0].HealthCheck.ServicePort = "hc", intstr.FromInt32(10254)
			}),
			wantField: "--health-check-service",
			wantMsg:   "want namespace/name",
		},
		{
			name:      "health-check path without a leading slash",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.Bindings[0].HealthCheck.Path = "healthz" }),
			wantField: "--health-check-path",
			wantMsg:   "want an absolute HTTP path",
		},
		{
			name:      "empty health-check path",
			src:       fileSrc,
			config:    with(valid, func(c *config.Config) { c.Bindings[0].HealthCheck.Path = "" }),
			wantField: "bindings[0].healthCheck.path in /etc/targetsync/config.yaml",
			wantMsg:   "want an absolute HTTP path",
		},
		{
			name:      "health-check path too long",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.Bindings[0].HealthCheck.Path = "/" + strings.Repeat("a", 1024) }),
			wantField: "--health-check-path",
			wantMsg:   "want an absolute HTTP path",
		},
		{
			name:      "bad cluster name",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.ClusterName = "Prod.EU" }),
			wantField: "--cluster-name",
			wantMsg:   "want a DNS label",
		},
		{
			name:      "empty cluster name",
			src:       fileSrc,
			config:    with(valid, func(c *config.Config) { c.ClusterName = "" }),
			wantField: "clusterName in /etc/targetsync/config.yaml",
			wantMsg:   "required: the name of this cluster",
		},
		{
			name:      "empty cluster name from flags",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.ClusterName = "" }),
			wantField: "--cluster-name",
			wantMsg:   "required: the name of this cluster",
		},
		{
			name:      "the default config has no cluster name",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.ClusterName = config.Default().ClusterName }),
			wantField: "--cluster-name",
			wantMsg:   "required: the name of this cluster",
		},
		{
			name:      "max-deregister-fraction 0",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.MaxDeregisterFraction = 0 }),
			wantField: "--max-deregister-fraction",
			wantMsg:   "want a fraction greater than 0 and at most 1 (1 turns the guard off)",
		},
		{
			name:      "negative max-deregister-fraction",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.MaxDeregisterFraction = -0.1 }),
			wantField: "--max-deregister-fraction",
			wantMsg:   "want a fraction greater than 0 and at most 1",
		},
		{
			name:      "max-deregister-fraction above 1",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.MaxDeregisterFraction = 1.5 }),
			wantField: "--max-deregister-fraction",
			wantMsg:   "want a fraction greater than 0 and at most 1",
		},
		{
			name:      "NaN max-deregister-fraction",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.MaxDeregisterFraction = math.NaN() }),
			wantField: "--max-deregister-fraction",
			wantMsg:   "want a fraction greater than 0 and at most 1",
		},
		{
			name:      "infinite max-deregister-fraction",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.MaxDeregisterFraction = math.Inf(1) }),
			wantField: "--max-deregister-fraction",
			wantMsg:   "want a fraction greater than 0 and at most 1",
		},
		{
			name:      "max-deregister-fraction 0 in a file names the field",
			src:       fileSrc,
			config:    with(valid, func(c *config.Config) { c.MaxDeregisterFraction = 0 }),
			wantField: "maxDeregisterFraction in /etc/targetsync/config.yaml",
			wantMsg:   "want a fraction greater than 0 and at most 1",
		},
		{
			name:      "max-deregister-fraction above 1 in a file names the field",
			src:       fileSrc,
			config:    with(valid, func(c *config.Config) { c.MaxDeregisterFraction = 1.5 }),
			wantField: "maxDeregisterFraction in /etc/targetsync/config.yaml",
			wantMsg:   "want a fraction greater than 0 and at most 1",
		},
		{
			name:   "max-deregister-fraction 1 turns the guard off",
			src:    config.SourceFlags,
			config: with(validOne, func(c *config.Config) { c.MaxDeregisterFraction = 1 }),
		},
		{
			name:   "max-deregister-fraction 0.5",
			src:    fileSrc,
			config: with(valid, func(c *config.Config) { c.MaxDeregisterFraction = 0.5 }),
		},
		{
			name:   "smallest positive max-deregister-fraction",
			src:    config.SourceFlags,
			config: with(validOne, func(c *config.Config) { c.MaxDeregisterFraction = math.SmallestNonzeroFloat64 }),
		},
		{
			name:      "zero capacity window",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.CapacityWindow.Duration = 0 }),
			wantField: "--capacity-window",
			wantMsg:   "must be positive",
		},
		{
			name:      "negative capacity window in a file names the field",
			src:       fileSrc,
			config:    with(valid, func(c *config.Config) { c.CapacityWindow.Duration = -time.Second }),
			wantField: "capacityWindow in /etc/targetsync/config.yaml",
			wantMsg:   "must be positive",
		},
		{
			name: "managed security groups need every binding in the region of bindings[0]",
			src:  fileSrc,
			config: with(valid, func(c *config.Config) {
				c.SecurityGroupIDs = []string{"sg-0123456789abcdef0"}
				c.Bindings[1].TargetGroupARN = arnUS
			}),
			wantField: "bindings[1].targetGroupARN in /etc/targetsync/config.yaml",
			wantMsg:   "is in region us-east-1 but bindings[0] is in eu-west-1",
		},
		{
			name: "security groups selected by tag need one region too",
			src:  fileSrc,
			config: with(valid, func(c *config.Config) {
				c.SecurityGroupTag = "kubernetes.io/role=worker"
				c.Bindings = append(c.Bindings, config.Binding{
					TargetGroupARN: arnUS,
					Service:        "ingress-nginx/ingress-nginx-controller",
					ServicePort:    intstr.FromInt32(8443),
					HealthCheck:    config.HealthCheck{Path: "/healthz"},
				})
			}),
			wantField: "bindings[2].targetGroupARN in /etc/targetsync/config.yaml",
			wantMsg:   "is in region us-east-1 but bindings[0] is in eu-west-1",
		},
		{
			name: "the region of bindings[0] is the one the others must match",
			src:  fileSrc,
			config: with(valid, func(c *config.Config) {
				c.SecurityGroupIDs = []string{"sg-0123456789abcdef0"}
				c.Bindings[0].TargetGroupARN = arnUS
			}),
			wantField: "bindings[1].targetGroupARN in /etc/targetsync/config.yaml",
			wantMsg:   "is in region eu-west-1 but bindings[0] is in us-east-1",
		},
		{
			name:   "bindings in several regions are fine without security groups",
			src:    fileSrc,
			config: with(valid, func(c *config.Config) { c.Bindings[1].TargetGroupARN = arnUS }),
		},
		{
			name: "bindings in one region are fine with security groups",
			src:  fileSrc,
			config: with(valid, func(c *config.Config) {
				c.SecurityGroupIDs = []string{"sg-0123456789abcdef0"}
				c.SecurityGroupTag = "kubernetes.io/role=worker"
			}),
		},
		{
			// A malformed ARN has no region; saying it is in region "" would hide what is wrong.
			name: "malformed ARN in bindings[0] with security groups is reported as malformed",
			src:  fileSrc,
			config: with(valid, func(c *config.Config) {
				c.SecurityGroupIDs = []string{"sg-0123456789abcdef0"}
				c.Bindings[0].TargetGroupARN = "ingress-https"
			}),
			wantField: "bindings[0].targetGroupARN in /etc/targetsync/config.yaml",
			wantMsg:   "not an ARN",
		},
		{
			name: "malformed ARN in bindings[1] with security groups is reported as malformed",
			src:  fileSrc,
			config: with(valid, func(c *config.Config) {
				c.SecurityGroupIDs = []string{"sg-0123456789abcdef0"}
				c.Bindings[1].TargetGroupARN = "arn:aws:elasticloadbalancing"
			}),
			wantField: "bindings[1].targetGroupARN in /etc/targetsync/config.yaml",
			wantMsg:   "not an ARN",
		},
		{
			name:      "bad leader election ID",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.LeaderElectionID = "Target Sync" }),
			wantField: "--leader-election-id",
			wantMsg:   "want a DNS subdomain name",
		},
		{
			name:      "bad leader election namespace",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.LeaderElectionNamespace = "kube_system" }),
			wantField: "--leader-election-namespace",
			wantMsg:   "not a namespace name",
		},
		{
			name:      "bad log level",
			src:       config.SourceFlags,
			config:    with(validOne, func(c *config.Config) { c.LogLevel = "verbose" }),
			wantField: "--log-level",
			wantMsg:   "want debug, info, warn or error",
		},
		{
			name:      "bad log format",
			src:       fileSrc,
			config:    with(valid, func(c *config.Config) { c.LogFormat = "text" }),
			wantField: "logFormat in /etc/targetsync/config.yaml",
			wantMsg:   "want json or console",
		},
		{
			name:    "no binding from flags says which flags to set",
			src:     config.SourceFlags,
			config:  with(validOne, func(c *config.Config) { c.Bindings = nil }),
			wantMsg: "nothing to sync: set --target-group-arn, --service and --service-port, or give --config",
		},
		{
			name:    "no binding in a file names the file",
			src:     fileSrc,
			config:  with(valid, func(c *config.Config) { c.Bindings = nil }),
			wantMsg: "nothing to sync: /etc/targetsync/config.yaml has no bindings",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.config().Validate(tt.src)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Validate() error = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() error = nil, want one containing %q", tt.wantMsg)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Validate() error = %q, want it to contain %q", err, tt.wantMsg)
			}
			var fe *config.FieldError
			isField := errors.As(err, &fe)
			if tt.wantField == "" {
				if isField {
					t.Errorf("Validate() error is a FieldError for %q, want a plain error", fe.Field)
				}
				return
			}
			if !isField {
				t.Fatalf("Validate() error %q is not a *FieldError", err)
			}
			if fe.Field != tt.wantField {
				t.Errorf("FieldError.Field = %q, want %q", fe.Field, tt.wantField)
			}
			if !strings.Contains(err.Error(), tt.wantField) {
				t.Errorf("Validate() error = %q, want it to name %q", err, tt.wantField)
			}
		})
	}
}

func with(base func() config.Config, mutate func(*config.Config)) func() config.Config {
	return func() config.Config {
		c := base()
		mutate(&c)
		return c
	}
}

func TestBindingAccessors(t *testing.T) {
	b := config.Binding{
		TargetGroupARN: arnA,
		Service:        "ingress-nginx/ingress-nginx-controller",
		ServicePort:    intstr.FromInt32(443),
		HealthCheck:    config.HealthCheck{Service: "kube-system/hc", ServicePort: intstr.FromString("health")},
	}
	if got, want := b.ServiceName(), (types.NamespacedName{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"}); got != want {
		t.Errorf("ServiceName() = %v, want %v", got, want)
	}
	if got, ok := b.HealthCheckServiceName(); !ok || got != (types.NamespacedName{Namespace: "kube-system", Name: "hc"}) {
		t.Errorf("HealthCheckServiceName() = %v, %v; want kube-system/hc, true", got, ok)
	}
	if got := b.Region(); got != "eu-west-1" {
		t.Errorf("Region() = %q, want eu-west-1", got)
	}
	if got := b.DisplayName(); got != "443" {
		t.Errorf("DisplayName() = %q, want the Service port 443", got)
	}

	b.Name = "web"
	b.HealthCheck.Service = ""
	b.TargetGroupARN = "not-an-arn"
	if got := b.DisplayName(); got != "web" {
		t.Errorf("DisplayName() = %q, want web", got)
	}
	if got, ok := b.HealthCheckServiceName(); ok {
		t.Errorf("HealthCheckServiceName() = %v, true; want false without a health-check Service", got)
	}
	if got := b.Region(); got != "" {
		t.Errorf("Region() of a bad ARN = %q, want empty", got)
	}
}
