package config_test

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/targetsync/targetsync/pkg/config"
	"github.com/targetsync/targetsync/pkg/sg"
)

func TestParseBootstrapDefaultsAreTheSeeds(t *testing.T) {
	got, err := config.ParseBootstrap([]string{"--cluster-name", "prod"})
	if err != nil {
		t.Fatal(err)
	}
	want := config.BootstrapConfig{
		ClusterName:            "prod",
		Service:                types.NamespacedName{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"},
		ServicePort:            intstr.FromString("http"),
		BindingName:            "http",
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
	if got.ServicePort != intstr.FromInt32(80) || got.BindingName != "80" || got.NodePort != 31000 || got.ListenerPort != 8080 ||
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
	tests := []struct {
		args []string
		want string
	}{
		{nil, `invalid --cluster-name "": required`},
		{[]string{"--cluster-name", "Prod_1"}, `invalid --cluster-name "Prod_1": want a DNS label`},
		{append(base, "--scheme", "public"), `invalid --scheme "public": want internet-facing or internal`},
		{append(base, "--node-port", "70000"), `invalid --node-port "70000": port number out of range 1-65535`},
		{append(base, "--health-check-node-port", "30080"), `invalid --health-check-node-port "30080": must differ from --node-port`},
		{append(base, "--listener-port", "0"), `invalid --listener-port "0"`},
		{append(base, "--deregistration-delay", "1500ms"), `invalid --deregistration-delay "1.5s": want whole seconds from 0s to 1h0m0s`},
		{append(base, "--deregistration-delay", "2h"), `invalid --deregistration-delay "2h0m0s"`},
		{append(base, "--health-check-path", "healthz"), `invalid --health-check-path "healthz"`},
		{append(base, "--service", "nginx"), `invalid --service "nginx": want namespace/name`},
		{append(base, "--service-port", "Bad_Port"), `invalid --service-port "Bad_Port"`},
		{append(base, "--health-check-service", "ingress-nginx/ingress-nginx-controller"), `invalid --health-check-service "ingress-nginx/ingress-nginx-controller": must differ from --service`},
		{append(base, "--health-check-service-port", "Health_Z"), `invalid --health-check-service-port "Health_Z"`},
		{append(base, "--load-balancer-name", "-x"), `invalid --load-balancer-name "-x"`},
		{append(base, "--target-group-name", "internal-x"), `invalid --target-group-name "internal-x": must not start with internal-`},
		{[]string{"--cluster-name", "a-very-long-cluster-name-for-tests"}, `invalid --load-balancer-name "a-very-long-cluster-name-for-tests-ingress": the default <cluster-name>-ingress is longer than 32 characters; set --load-balancer-name`},
		{append(base, "--vpc-id", "vpc_1"), `invalid --vpc-id "vpc_1"`},
		{append(base, "--subnet", "sub-1"), `invalid --subnet "sub-1"`},
		{append(base, "--eip-allocation", "subnet-0a"), `invalid --eip-allocation "subnet-0a": want SUBNET=ALLOCATION`},
		{append(base, "--scheme", "internal", "--eip-allocation", "subnet-0a=eipalloc-1"), `invalid --eip-allocation "subnet-0a=eipalloc-1": Elastic IPs need --scheme internet-facing`},
		{append(base, "--security-group-id", "g-1"), `invalid --security-group-id "g-1"`},
		{append(base, "--security-group-tag", "=x"), `invalid --security-group-tag "=x": want key=value`},
		{append(base, "--source", "cidr:10.0.0.0/16"), `invalid --source "cidr:10.0.0.0/16": only used with --security-group-id or --security-group-tag`},
		{append(base, "--security-group-id", "sg-1", "--source", "anywhere"), `invalid --source "anywhere": want vpc-cidr, nlb-private-ips or cidr:<a.b.c.d/n>`},
		{append(base, "extra"), `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		_, err := config.ParseBootstrap(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseBootstrap(%q) = %v, want an error containing %q", tt.args, err, tt.want)
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
		fromFlags, err := config.Parse("run", bc.RunArgs(bootstrapARN))
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
		fromFile, err := config.Parse("run", []string{"--config", path})
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
