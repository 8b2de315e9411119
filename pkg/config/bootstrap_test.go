package config_test

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/targetsync/targetsync/pkg/bootstrap"
	"github.com/targetsync/targetsync/pkg/config"
	"github.com/targetsync/targetsync/pkg/sg"
)

func TestParseBootstrapDefaultsAreTheSeeds(t *testing.T) {
	got, err := config.ParseBootstrap([]string{"--cluster-name", "prod"})
	if err != nil {
		t.Fatal(err)
	}
	want := config.BootstrapConfig{
		Kube: config.Kube{RequestTimeout: config.DefaultRequestTimeout},
		Spec: bootstrap.Spec{
			Cluster:                "prod",
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
			Scheme:                 "internet-facing",
			DeletionProtection:     true,
			LoadBalancerName:       "prod-ingress",
			TargetGroupName:        "prod-http",
			Sources:                []sg.Source{{Kind: sg.SourceVPCCIDR}},
		},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestParseBootstrapFlags(t *testing.T) {
	got, err := config.ParseBootstrap([]string{
		"--cluster-name", "prod", "--region", "eu-west-1", "--service", "edge/nginx", "--service-port", "80",
		"--node-port", "31000", "--health-check-node-port", "31001", "--listener-port", "8080",
		"--deregistration-delay", "30s", "--scheme", "internet-facing", "--deletion-protection=false",
		"--load-balancer-name", "edge", "--target-group-name", "edge-80", "--vpc-id", "vpc-0a",
		"--subnet", "subnet-0b", "--eip-allocation", "subnet-0a=eipalloc-01", "--subnet", "subnet-0a",
		"--security-group-id", "sg-1", "--source", "cidr:10.1.0.0/16", "--source", "nlb-private-ips",
		"--dry-run", "--write-config", "/tmp/x.yaml",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.ServicePort != intstr.FromInt32(80) || got.Binding != "80" || got.NodePort != 31000 || got.ListenerPort != 8080 ||
		got.DeregistrationDelay != 30*time.Second || got.DeletionProtection || got.Region != "eu-west-1" || !got.DryRun {
		t.Errorf("parsed %+v", got)
	}
	if diff := cmp.Diff([]string{"subnet-0a", "subnet-0b"}, got.Subnets); diff != "" {
		t.Errorf("subnets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"subnet-0a": "eipalloc-01"}, got.EIPAllocations); diff != "" {
		t.Errorf("allocations (-want +got):\n%s", diff)
	}
	if len(got.Sources) != 2 || got.Sources[1].Kind != sg.SourceNLBPrivateIPs {
		t.Errorf("sources %v", got.Sources)
	}
}

func TestParseBootstrapErrorsNameTheFlag(t *testing.T) {
	base := []string{"--cluster-name", "prod"}
	with := func(more ...string) []string { return append(append([]string{}, base...), more...) }
	const msgDNSLabel = "want a DNS label: lower-case letters, digits and '-'"
	tests := []struct {
		args []string
		want string
	}{
		{nil, `invalid --cluster-name "": required: the name of this cluster, written into every tag targetsync owns`},
		{[]string{"--cluster-name", "Prod_1"}, `invalid --cluster-name "Prod_1": ` + msgDNSLabel},
		{with("--scheme", "public"), `invalid --scheme "public": want internet-facing or internal`},
		{with("--node-port", "70000"), `invalid --node-port "70000": port number out of range 1-65535`},
		{with("--health-check-node-port", "30080"), `invalid --health-check-node-port "30080": must differ from --node-port`},
		{with("--listener-port", "0"), `invalid --listener-port "0": port number out of range 1-65535`},
		{with("--deregistration-delay", "1500ms"), `invalid --deregistration-delay "1.5s": want whole seconds from 0s to 1h0m0s`},
		{with("--deregistration-delay", "2h"), `invalid --deregistration-delay "2h0m0s": want whole seconds from 0s to 1h0m0s`},
		{with("--health-check-path", "healthz"), `invalid --health-check-path "healthz": want an absolute HTTP path such as /healthz`},
		{with("--service", "nginx"), `invalid --service "nginx": want namespace/name`},
		{with("--service-port", "Bad_Port"), `invalid --service-port "Bad_Port": not a port name or number in 1-65535`},
		{with("--binding-name", "Web"), `invalid --binding-name "Web": ` + msgDNSLabel},
		{with("--health-check-service", "ingress-nginx/ingress-nginx-controller"), `invalid --health-check-service "ingress-nginx/ingress-nginx-controller": must differ from --service: bootstrap creates it, and never touches the ingress controller's Service`},
		{with("--health-check-service-port", "Health_Z"), `invalid --health-check-service-port "Health_Z": want a port name: lower-case letters, digits and '-', at most 15`},
		{with("--load-balancer-name", "-x"), `invalid --load-balancer-name "-x": want letters, digits and '-', not starting or ending with '-'`},
		{with("--target-group-name", "internal-x"), `invalid --target-group-name "internal-x": must not start with internal-`},
		{[]string{"--cluster-name", "a-very-long-cluster-name-for-tests"}, `invalid --load-balancer-name "a-very-long-cluster-name-for-tests-ingress": the default <cluster-name>-ingress is longer than 32 characters; set --load-balancer-name`},
		{with("--vpc-id", "vpc_1"), `invalid --vpc-id "vpc_1": want a VPC ID such as vpc-0123456789abcdef0`},
		{with("--subnet", "sub-1"), `invalid --subnet "sub-1": want a subnet ID such as subnet-0123456789abcdef0`},
		{with("--eip-allocation", "subnet-0a"), `invalid --eip-allocation "subnet-0a": want SUBNET=ALLOCATION such as subnet-0123456789abcdef0=eipalloc-0123456789abcdef0`},
		{with("--scheme", "internal", "--eip-allocation", "subnet-0a=eipalloc-1"), `invalid --eip-allocation "subnet-0a=eipalloc-1": Elastic IPs need --scheme internet-facing`},
		{with("--eip-allocation", "subnet-0a=eipalloc-1", "--eip-allocation", "subnet-0a=eipalloc-2"), `invalid --eip-allocation "subnet-0a=eipalloc-2": a second allocation for the same subnet`},
		{with("--security-group-id", "g-1"), `invalid --security-group-id "g-1": want a security group ID such as sg-0123456789abcdef0`},
		{with("--security-group-tag", "=x"), `invalid --security-group-tag "=x": want key=value`},
		{with("--source", "cidr:10.0.0.0/16"), `invalid --source "cidr:10.0.0.0/16": only used with --security-group-id or --security-group-tag`},
		{with("--security-group-id", "sg-1", "--source", "anywhere"), `invalid --source "anywhere": want vpc-cidr, nlb-private-ips or cidr:<a.b.c.d/n>`},
		{with("--security-group-id", "sg-1", "--source="), `invalid --source "": at least one source is needed to open security groups`},
		{with("extra"), `unexpected argument "extra"`},
		{with("--leader-elect"), "unknown flag: --leader-elect"},
	}
	for _, tt := range tests {
		_, err := config.ParseBootstrap(tt.args)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseBootstrap(%q) = %v, want %q", tt.args, err, tt.want)
		}
	}
	if _, err := config.ParseBootstrap([]string{"--help"}); !errors.Is(err, pflag.ErrHelp) {
		t.Errorf("--help: %v, want pflag.ErrHelp", err)
	}
}

const bootstrapARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/prod-http/0123456789abcdef"

// TestRunConfigRoundTrips checks that what bootstrap prints and writes is what run reads: the
// command line and the file give the same validated Config.
func TestRunConfigRoundTrips(t *testing.T) {
	for _, args := range [][]string{
		{"--cluster-name", "prod"},
		{"--cluster-name", "prod", "--service-port", "443", "--binding-name", "https", "--health-check-path", "/ready",
			"--security-group-id", "sg-1", "--security-group-tag", "role=worker", "--source", "nlb-private-ips"},
		{"--cluster-name", "prod", "--security-group-id", "sg-1"},
	} {
		bc, err := config.ParseBootstrap(args)
		if err != nil {
			t.Fatal(err)
		}
		fromFlags, err := config.Parse(config.CommandRun, bc.RunArgs(bootstrapARN))
		if err != nil {
			t.Fatalf("%q: run %q: %v", args, bc.RunArgs(bootstrapARN), err)
		}
		data, err := bc.RunFile(bootstrapARN)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "targetsync.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		fromFile, err := config.Parse(config.CommandRun, []string{"--config", path})
		if err != nil {
			t.Fatalf("%q: run --config:\n%s\n%v", args, data, err)
		}
		if diff := cmp.Diff(fromFlags, fromFile, configCmp...); diff != "" {
			t.Errorf("%q: flags and file differ (-flags +file):\n%s", args, diff)
		}
		b := fromFlags.Bindings[0]
		if b.TargetGroupARN() != bootstrapARN || b.HealthCheck == nil || b.HealthCheck.Service.String() != "ingress-nginx/ingress-nginx-healthcheck" || b.HealthCheck.Port != intstr.FromString("healthz") {
			t.Errorf("%q: binding %+v", args, b)
		}
	}
}

func TestRunArgsOfTheDefaults(t *testing.T) {
	bc, err := config.ParseBootstrap([]string{"--cluster-name", "prod"})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(bc.RunArgs(bootstrapARN), " ")
	want := "--cluster-name prod --target-group-arn " + bootstrapARN + " --service ingress-nginx/ingress-nginx-controller --service-port http" +
		" --health-check-service ingress-nginx/ingress-nginx-healthcheck --health-check-service-port healthz"
	if got != want {
		t.Errorf("run args\n got %s\nwant %s", got, want)
	}
}

func TestBootstrapUsageListsEveryFlag(t *testing.T) {
	fs := pflag.NewFlagSet("bootstrap", pflag.ContinueOnError)
	config.BindBootstrap(fs)
	usage := fs.FlagUsages()
	for _, f := range []string{"cluster-name", "node-port", "health-check-node-port", "health-check-path", "listener-port",
		"deregistration-delay", "scheme", "deletion-protection", "load-balancer-name", "target-group-name", "vpc-id",
		"subnet", "eip-allocation", "service", "service-port", "security-group-id", "source", "dry-run", "write-config", "region"} {
		if !strings.Contains(usage, "--"+f+" ") && !strings.Contains(usage, "--"+f+"[") {
			t.Errorf("usage does not list --%s", f)
		}
	}
}

// bootstrapDefaults is what `targetsync bootstrap --cluster-name prod` builds.
func bootstrapDefaults() config.BootstrapConfig {
	return config.BootstrapConfig{
		Kube: config.Kube{RequestTimeout: config.DefaultRequestTimeout},
		Spec: bootstrap.Spec{
			Cluster:                "prod",
			Service:                ingressService,
			ServicePort:            intstr.FromString("http"),
			Binding:                "http",
			HealthCheckService:     types.NamespacedName{Namespace: "ingress-nginx", Name: "ingress-nginx-healthcheck"},
			HealthCheckServicePort: "healthz",
			NodePort:               config.DefaultNodePort,
			HealthCheckNodePort:    config.DefaultHealthCheckNodePort,
			HealthCheckPath:        config.DefaultHealthCheckPath,
			ListenerPort:           config.DefaultListenerPort,
			DeregistrationDelay:    config.DefaultDeregistrationDelay,
			Scheme:                 config.SchemeInternetFacing,
			DeletionProtection:     true,
			LoadBalancerName:       "prod-ingress",
			TargetGroupName:        "prod-http",
			Sources:                []sg.Source{{Kind: sg.SourceVPCCIDR}},
		},
	}
}

// TestRunBootstrap checks `run --bootstrap`: bootstrap's flags only with it, run's own flags
// handed to bootstrap, and no binding until bootstrap has found or created the target group.
func TestRunBootstrap(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    *config.BootstrapConfig
		wantErr string
	}{
		{
			name: "without --bootstrap nothing is bootstrapped",
			args: required,
		},
		{
			name: "the defaults are bootstrap's",
			args: []string{"--bootstrap", "--cluster-name", "prod"},
			want: new(bootstrapDefaults()),
		},
		{
			name: "one-binding flags and bootstrap's own flags describe what bootstrap builds",
			args: []string{"--bootstrap", "--cluster-name", "prod", "--service-port", "https", "--scheme", "internal"},
			want: new(func() config.BootstrapConfig {
				c := bootstrapDefaults()
				c.ServicePort, c.Binding, c.Scheme = intstr.FromString("https"), "https", config.SchemeInternal
				return c
			}()),
		},
		{
			name: "run's flags that bootstrap has too are handed to it",
			args: []string{
				"--bootstrap", "--cluster-name", "prod", "--kubeconfig", "/k", "--context", "staging",
				"--service", "edge/nginx", "--service-port", "443", "--binding-name", "web",
				"--health-check-service", "edge/hc", "--health-check-service-port", "health", "--health-check-path", "/ready",
				"--security-group-id", "sg-1", "--source", "nlb-private-ips", "--dry-run",
				"--region", "eu-west-1", "--node-port", "31000", "--listener-port", "443", "--deletion-protection=false",
			},
			want: new(func() config.BootstrapConfig {
				c := bootstrapDefaults()
				c.Kube.Kubeconfig, c.Kube.Context, c.Region = "/k", "staging", "eu-west-1"
				c.Service, c.ServicePort, c.Binding = types.NamespacedName{Namespace: "edge", Name: "nginx"}, intstr.FromInt32(443), "web"
				c.HealthCheckService, c.HealthCheckServicePort, c.HealthCheckPath = types.NamespacedName{Namespace: "edge", Name: "hc"}, "health", "/ready"
				c.SecurityGroups, c.Sources = sg.GroupSelector{IDs: []string{"sg-1"}}, []sg.Source{{Kind: sg.SourceNLBPrivateIPs}}
				c.NodePort, c.ListenerPort, c.DeletionProtection, c.DryRun = 31000, 443, false, true
				return c
			}()),
		},
		{
			name:    "a flag of bootstrap without --bootstrap",
			args:    withArgs("--scheme", "internal"),
			wantErr: "--scheme is only used with --bootstrap",
		},
		{
			name:    "another flag of bootstrap without --bootstrap",
			args:    withArgs("--region", "eu-west-1"),
			wantErr: "--region is only used with --bootstrap",
		},
		{
			// run keeps what it bootstraps in sync itself; a file for a later run means nothing.
			name:    "run has no --write-config",
			args:    []string{"--bootstrap", "--cluster-name", "prod", "--write-config", "/tmp/run.yaml"},
			wantErr: "unknown flag: --write-config",
		},
		{
			name:    "--bootstrap with --config",
			args:    []string{"--bootstrap", "--cluster-name", "prod", "--config", "/etc/targetsync/config.yaml"},
			wantErr: "--config cannot be combined with --bootstrap: the binding comes from the one-binding flags",
		},
		{
			name:    "--bootstrap with --target-group-arn",
			args:    []string{"--bootstrap", "--cluster-name", "prod", "--target-group-arn", arnA},
			wantErr: "--target-group-arn cannot be combined with --bootstrap, which finds or creates the target group",
		},
		{
			name:    "--bootstrap checks bootstrap's flags",
			args:    []string{"--bootstrap", "--cluster-name", "prod", "--scheme", "public"},
			wantErr: `invalid --scheme "public": want internet-facing or internal`,
		},
		{
			name:    "--bootstrap checks run's flags as bootstrap reads them",
			args:    []string{"--bootstrap", "--cluster-name", "prod", "--health-check-service-port", "10254"},
			wantErr: `invalid --health-check-service-port "10254": want a port name: lower-case letters, digits and '-', at most 15`,
		},
		{
			name:    "--bootstrap still needs a cluster name",
			args:    []string{"--bootstrap"},
			wantErr: `invalid --cluster-name "": required: the name of this cluster, written into every tag targetsync owns`,
		},
		{
			name:    "--bootstrap still checks run's own settings",
			args:    []string{"--bootstrap", "--cluster-name", "prod", "--resync-period", "0s"},
			wantErr: `invalid --resync-period "0s": must be positive`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse(config.CommandRun, tt.args)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Parse() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cfg.Bootstrap, configCmp...); diff != "" {
				t.Errorf("Bootstrap (-want +got):\n%s", diff)
			}
			if tt.want != nil && len(cfg.Bindings) != 0 {
				t.Errorf("Bindings = %+v, want none until bootstrap has a target group", cfg.Bindings)
			}
		})
	}
}

// TestAddBootstrapBinding checks that the target group bootstrap found or created becomes the
// one binding, under the node rules given on the command line.
func TestAddBootstrapBinding(t *testing.T) {
	healthcheck := &config.PortRef{Service: types.NamespacedName{Namespace: "ingress-nginx", Name: "ingress-nginx-healthcheck"}, Port: intstr.FromString("healthz")}
	tests := []struct {
		name    string
		args    []string
		arn     string
		want    []config.Binding
		wantErr string
	}{
		{
			name: "the default node rules",
			args: []string{"--bootstrap", "--cluster-name", "prod", "--service-port", "https", "--scheme", "internal"},
			arn:  bootstrapARN,
			want: []config.Binding{{
				Name: "https", TargetGroup: mustARN(bootstrapARN), Service: ingressService, ServicePort: intstr.FromString("https"),
				HealthCheck: healthcheck, HealthCheckPath: config.DefaultHealthCheckPath,
				NodeSelector: mustSelector(config.DefaultNodeSelector), NotReady: config.NotReadyKeep,
			}},
		},
		{
			name: "the node rules of the command line",
			args: []string{"--bootstrap", "--cluster-name", "prod", "--node-selector", "role=ingress", "--not-ready", "remove", "--binding-name", "web"},
			arn:  bootstrapARN,
			want: []config.Binding{{
				Name: "web", TargetGroup: mustARN(bootstrapARN), Service: ingressService, ServicePort: intstr.FromString("http"),
				HealthCheck: healthcheck, HealthCheckPath: config.DefaultHealthCheckPath,
				NodeSelector: mustSelector("role=ingress"), NotReady: config.NotReadyRemove,
			}},
		},
		{
			name:    "an ARN that is not a target group's",
			args:    []string{"--bootstrap", "--cluster-name", "prod"},
			arn:     "prod-http",
			wantErr: `invalid --target-group-arn "prod-http": not an ARN; ` + wantARN,
		},
		{
			name:    "without --bootstrap",
			args:    required,
			arn:     bootstrapARN,
			wantErr: "not bootstrapping",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse(config.CommandRun, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			before := slices.Clone(cfg.Bindings)
			err = cfg.AddBootstrapBinding(tt.arn)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("AddBootstrapBinding() error = %v, want %q", err, tt.wantErr)
				}
				if diff := cmp.Diff(before, cfg.Bindings, configCmp...); diff != "" {
					t.Errorf("a failed AddBootstrapBinding changed the bindings (-before +after):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cfg.Bindings, configCmp...); diff != "" {
				t.Errorf("Bindings (-want +got):\n%s", diff)
			}
		})
	}
}
