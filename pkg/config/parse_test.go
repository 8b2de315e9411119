package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/targetsync/targetsync/pkg/config"
)

const svc = "ingress-nginx/ingress-nginx-controller"

// writeFile writes a config file into a fresh directory and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "targetsync.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// expand replaces {file} in args with path.
func expand(args []string, path string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "{file}", path)
	}
	return out
}

// flagBinding is the binding the one-binding flags produce when only the required ones are set.
func flagBinding(port intstr.IntOrString) config.Binding {
	return config.Binding{
		TargetGroupARN: arnA,
		Service:        svc,
		ServicePort:    port,
		HealthCheck:    config.HealthCheck{ServicePort: intstr.FromString(""), Path: config.DefaultHealthCheckPath},
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want func() config.Config
	}{
		{
			name: "required flags only, port by name",
			args: []string{"--cluster-name", "prod-eu", "--target-group-arn", arnA, "--service", svc, "--service-port", "https"},
			want: func() config.Config {
				c := config.Default()
				c.ClusterName = "prod-eu"
				c.Bindings = []config.Binding{flagBinding(intstr.FromString("https"))}
				return c
			},
		},
		{
			name: "port by number, equals form",
			args: []string{"--target-group-arn=" + arnA, "--service=" + svc, "--service-port=443", "--cluster-name=prod-eu"},
			want: func() config.Config {
				c := config.Default()
				c.ClusterName = "prod-eu"
				c.Bindings = []config.Binding{flagBinding(intstr.FromInt32(443))}
				return c
			},
		},
		{
			name: "max-deregister-fraction 1 turns the guard off",
			args: []string{"--cluster-name", "prod-eu", "--target-group-arn", arnA, "--service", svc, "--service-port", "https", "--max-deregister-fraction", "1"},
			want: func() config.Config {
				c := config.Default()
				c.ClusterName = "prod-eu"
				c.MaxDeregisterFraction = 1
				c.Bindings = []config.Binding{flagBinding(intstr.FromString("https"))}
				return c
			},
		},
		{
			name: "max-deregister-fraction 0.5 and a capacity window",
			args: []string{"--cluster-name", "prod-eu", "--target-group-arn", arnA, "--service", svc, "--service-port", "https", "--max-deregister-fraction=0.5", "--capacity-window=90s"},
			want: func() config.Config {
				c := config.Default()
				c.ClusterName = "prod-eu"
				c.MaxDeregisterFraction = 0.5
				c.CapacityWindow.Duration = 90 * time.Second
				c.Bindings = []config.Binding{flagBinding(intstr.FromString("https"))}
				return c
			},
		},
		{
			name: "every flag",
			args: []string{
				"--kubeconfig", "/home/me/.kube/config",
				"--cluster-name", "prod-eu",
				"--target-group-arn", arnA,
				"--service", svc,
				"--service-port", "443",
				"--binding-name", "web",
				"--health-check-service", "ingress-nginx/hc",
				"--health-check-service-port", "10254",
				"--health-check-path", "/ready",
				"--node-selector", "role=ingress",
				"--deregister-cordoned=false",
				"--not-ready", "remove",
				"--max-deregister-fraction", "0.25",
				"--capacity-window", "3m",
				"--resync-period", "5m",
				"--min-sync-interval", "2s",
				"--dry-run",
				"--leader-elect",
				"--leader-election-namespace", "kube-system",
				"--leader-election-id", "targetsync-prod",
				"--metrics-bind-address", ":9090",
				"--health-probe-bind-address", "0",
				"--pprof-bind-address", "127.0.0.1:6060",
				"--log-level", "debug",
				"--log-format", "console",
				"--request-timeout", "10s",
				"--security-group-id", "sg-0123456789abcdef0",
				"--security-group-id", "sg-0fedcba9876543210",
				"--security-group-tag", "kubernetes.io/role=worker",
				"--source", "nlb-private-ips",
				"--source", "cidr:10.1.0.0/16",
			},
			want: func() config.Config {
				return config.Config{
					Kubeconfig:              "/home/me/.kube/config",
					ClusterName:             "prod-eu",
					NodeSelector:            "role=ingress",
					DeregisterCordoned:      false,
					NotReady:                config.NotReadyRemove,
					MaxDeregisterFraction:   0.25,
					CapacityWindow:          config.Duration{Duration: 3 * time.Minute},
					ResyncPeriod:            config.Duration{Duration: 5 * time.Minute},
					MinSyncInterval:         config.Duration{Duration: 2 * time.Second},
					DryRun:                  true,
					LeaderElect:             true,
					LeaderElectionNamespace: "kube-system",
					LeaderElectionID:        "targetsync-prod",
					MetricsBindAddress:      ":9090",
					HealthProbeBindAddress:  "0",
					PprofBindAddress:        "127.0.0.1:6060",
					LogLevel:                "debug",
					LogFormat:               "console",
					RequestTimeout:          config.Duration{Duration: 10 * time.Second},
					SecurityGroupIDs:        []string{"sg-0123456789abcdef0", "sg-0fedcba9876543210"},
					SecurityGroupTag:        "kubernetes.io/role=worker",
					Sources:                 []string{"nlb-private-ips", "cidr:10.1.0.0/16"},
					Bindings: []config.Binding{{
						Name:           "web",
						TargetGroupARN: arnA,
						Service:        svc,
						ServicePort:    intstr.FromInt32(443),
						HealthCheck: config.HealthCheck{
							Service:     "ingress-nginx/hc",
							ServicePort: intstr.FromInt32(10254),
							Path:        "/ready",
						},
					}},
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Parse("targetsync", tt.args)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if diff := cmp.Diff(tt.want(), got); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

const twoBindings = `
clusterName: prod-eu
nodeSelector: role=ingress
notReady: remove
deregisterCordoned: false
resyncPeriod: 5m
minSyncInterval: 10s
dryRun: true
logLevel: debug
bindings:
- name: https
  targetGroupARN: ` + arnA + `
  service: ingress-nginx/ingress-nginx-controller
  servicePort: https
  healthCheck:
    service: ingress-nginx/hc
    servicePort: 10254
    path: /ready
- targetGroupARN: ` + arnB + `
  service: ingress-nginx/ingress-nginx-controller
  servicePort: 80
`

// fromTwoBindings is what twoBindings says, on top of the defaults.
func fromTwoBindings() config.Config {
	c := config.Default()
	c.ClusterName = "prod-eu"
	c.NodeSelector = "role=ingress"
	c.NotReady = config.NotReadyRemove
	c.DeregisterCordoned = false
	c.ResyncPeriod.Duration = 5 * time.Minute
	c.MinSyncInterval.Duration = 10 * time.Second
	c.DryRun = true
	c.LogLevel = "debug"
	c.Bindings = []config.Binding{
		{
			Name:           "https",
			TargetGroupARN: arnA,
			Service:        svc,
			ServicePort:    intstr.FromString("https"),
			HealthCheck:    config.HealthCheck{Service: "ingress-nginx/hc", ServicePort: intstr.FromInt32(10254), Path: "/ready"},
		},
		{
			TargetGroupARN: arnB,
			Service:        svc,
			ServicePort:    intstr.FromInt32(80),
			// A binding without a path gets the default one.
			HealthCheck: config.HealthCheck{Path: config.DefaultHealthCheckPath},
		},
	}
	return c
}

func TestParseFile(t *testing.T) {
	tests := []struct {
		name string
		file string
		args []string
		want func() config.Config
	}{
		{
			name: "file alone",
			file: twoBindings,
			args: []string{"--config", "{file}"},
			want: fromTwoBindings,
		},
		{
			name: "file in equals form after other flags",
			file: twoBindings,
			args: []string{"--log-format", "console", "--config={file}"},
			want: with(fromTwoBindings, func(c *config.Config) { c.LogFormat = "console" }),
		},
		{
			name: "flags given explicitly override the file",
			file: twoBindings,
			args: []string{
				"--config", "{file}",
				"--not-ready", "keep",
				"--resync-period", "2m",
				"--dry-run=false",
				"--deregister-cordoned",
				"--log-level", "warn",
			},
			want: with(fromTwoBindings, func(c *config.Config) {
				c.NotReady = config.NotReadyKeep
				c.ResyncPeriod.Duration = 2 * time.Minute
				c.DryRun = false
				c.DeregisterCordoned = true
				c.LogLevel = "warn"
			}),
		},
		{
			// A flag's default must not undo what the file says: --node-selector is not given,
			// so the file's selector stays instead of the built-in default.
			name: "flags not given leave the file's settings alone",
			file: twoBindings,
			args: []string{"--config", "{file}", "--cluster-name", "prod-us"},
			want: with(fromTwoBindings, func(c *config.Config) { c.ClusterName = "prod-us" }),
		},
		{
			name: "cluster name from the flag, everything else from the file",
			file: "bindings:\n- targetGroupARN: " + arnA + "\n  service: " + svc + "\n  servicePort: 443\n",
			args: []string{"--config", "{file}", "--cluster-name", "prod-eu"},
			want: func() config.Config {
				c := config.Default()
				c.ClusterName = "prod-eu"
				c.Bindings = []config.Binding{{
					TargetGroupARN: arnA,
					Service:        svc,
					ServicePort:    intstr.FromInt32(443),
					HealthCheck:    config.HealthCheck{Path: config.DefaultHealthCheckPath},
				}}
				return c
			},
		},
		{
			name: "guard settings from the file",
			file: "maxDeregisterFraction: 0.5\ncapacityWindow: 2m30s\n" + twoBindings,
			args: []string{"--config", "{file}"},
			want: with(fromTwoBindings, func(c *config.Config) {
				c.MaxDeregisterFraction = 0.5
				c.CapacityWindow.Duration = 2*time.Minute + 30*time.Second
			}),
		},
		{
			name: "guard settings from the file: 1 and a whole number of seconds",
			file: "maxDeregisterFraction: 1\ncapacityWindow: 45s\n" + twoBindings,
			args: []string{"--config", "{file}"},
			want: with(fromTwoBindings, func(c *config.Config) {
				c.MaxDeregisterFraction = 1
				c.CapacityWindow.Duration = 45 * time.Second
			}),
		},
		{
			name: "guard flags override the file",
			file: "maxDeregisterFraction: 0.5\ncapacityWindow: 2m\n" + twoBindings,
			args: []string{"--config", "{file}", "--max-deregister-fraction", "1", "--capacity-window", "10s"},
			want: with(fromTwoBindings, func(c *config.Config) {
				c.MaxDeregisterFraction = 1
				c.CapacityWindow.Duration = 10 * time.Second
			}),
		},
		{
			name: "security groups with every binding in one region",
			file: "securityGroupIDs: [sg-0123456789abcdef0]\n" + twoBindings,
			args: []string{"--config", "{file}"},
			want: with(fromTwoBindings, func(c *config.Config) { c.SecurityGroupIDs = []string{"sg-0123456789abcdef0"} }),
		},
		{
			name: "bindings in two regions without security groups",
			file: strings.Replace(twoBindings, arnB, arnUS, 1),
			args: []string{"--config", "{file}"},
			want: with(fromTwoBindings, func(c *config.Config) { c.Bindings[1].TargetGroupARN = arnUS }),
		},
		{
			name: "settings the file leaves out keep their defaults",
			file: "clusterName: prod-eu\nbindings:\n- targetGroupARN: " + arnA + "\n  service: " + svc + "\n  servicePort: 443\n",
			args: []string{"--config", "{file}"},
			want: func() config.Config {
				c := config.Default()
				c.ClusterName = "prod-eu"
				c.Bindings = []config.Binding{{
					TargetGroupARN: arnA,
					Service:        svc,
					ServicePort:    intstr.FromInt32(443),
					HealthCheck:    config.HealthCheck{Path: config.DefaultHealthCheckPath},
				}}
				return c
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file)
			got, err := config.Parse("targetsync", expand(tt.args, path))
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if diff := cmp.Diff(tt.want(), got); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const oneBinding = "clusterName: prod-eu\nbindings:\n- targetGroupARN: " + arnA + "\n  service: " + svc + "\n  servicePort: https\n"
	required := []string{"--cluster-name", "prod-eu", "--target-group-arn", arnA, "--service", svc, "--service-port", "https"}
	// withFlags is required followed by more.
	withFlags := func(more ...string) []string { return append(append([]string{}, required...), more...) }

	tests := []struct {
		name string
		// file is written to a temporary path that replaces {file} in args; empty writes no file.
		file string
		args []string
		// want are parts of the message; {file} is replaced by the path.
		want []string
		// wantOnce are parts that must appear exactly once, so the message says it once.
		wantOnce []string
		// multiline allows the YAML parser's own line-by-line report.
		multiline bool
	}{
		{
			name: "no flags at all asks for the cluster name first",
			args: nil,
			want: []string{"invalid --cluster-name", "required: the name of this cluster"},
		},
		{
			name: "only a cluster name",
			args: []string{"--cluster-name", "prod-eu"},
			want: []string{"nothing to sync", "--target-group-arn", "--config"},
		},
		{
			name:     "missing --cluster-name with a binding from flags",
			args:     []string{"--target-group-arn", arnA, "--service", svc, "--service-port", "https"},
			want:     []string{`invalid --cluster-name ""`, "required: the name of this cluster"},
			wantOnce: []string{"--cluster-name"},
		},
		{
			name: "empty --cluster-name",
			args: withFlags("--cluster-name="),
			want: []string{`invalid --cluster-name ""`, "required: the name of this cluster"},
		},
		{
			name: "file without a cluster name names the file field",
			file: strings.TrimPrefix(oneBinding, "clusterName: prod-eu\n"),
			args: []string{"--config", "{file}"},
			want: []string{`invalid clusterName in {file} ""`, "required: the name of this cluster"},
		},
		{
			name: "file with a bad cluster name",
			file: "clusterName: Prod.EU\n" + strings.TrimPrefix(oneBinding, "clusterName: prod-eu\n"),
			args: []string{"--config", "{file}"},
			want: []string{`invalid clusterName in {file} "Prod.EU"`, "want a DNS label"},
		},
		{
			name: "--cluster-name overriding a file with an empty one names the flag",
			file: oneBinding,
			args: []string{"--config", "{file}", "--cluster-name", ""},
			want: []string{"invalid --cluster-name", "required: the name of this cluster"},
		},
		{
			name: "max-deregister-fraction 0 from flags",
			args: withFlags("--max-deregister-fraction", "0"),
			want: []string{`invalid --max-deregister-fraction "0"`, "want a fraction greater than 0 and at most 1 (1 turns the guard off)"},
		},
		{
			name: "negative max-deregister-fraction from flags",
			args: withFlags("--max-deregister-fraction=-0.1"),
			want: []string{`invalid --max-deregister-fraction "-0.1"`, "want a fraction greater than 0 and at most 1"},
		},
		{
			name: "negative max-deregister-fraction from flags, value as the next argument",
			args: withFlags("--max-deregister-fraction", "-0.1"),
			want: []string{`invalid --max-deregister-fraction "-0.1"`, "want a fraction greater than 0 and at most 1"},
		},
		{
			name: "max-deregister-fraction 1.5 from flags",
			args: withFlags("--max-deregister-fraction", "1.5"),
			want: []string{`invalid --max-deregister-fraction "1.5"`, "want a fraction greater than 0 and at most 1"},
		},
		{
			name: "max-deregister-fraction NaN from flags",
			args: withFlags("--max-deregister-fraction", "NaN"),
			want: []string{`invalid --max-deregister-fraction "NaN"`, "want a fraction greater than 0 and at most 1"},
		},
		{
			name: "max-deregister-fraction Inf from flags",
			args: withFlags("--max-deregister-fraction", "Inf"),
			want: []string{`invalid --max-deregister-fraction "+Inf"`, "want a fraction greater than 0 and at most 1"},
		},
		{
			name: "max-deregister-fraction that is not a number",
			args: withFlags("--max-deregister-fraction", "half"),
			want: []string{"max-deregister-fraction", "half"},
		},
		{
			name:     "max-deregister-fraction 0 in a file names the field",
			file:     "maxDeregisterFraction: 0\n" + oneBinding,
			args:     []string{"--config", "{file}"},
			want:     []string{`invalid maxDeregisterFraction in {file} "0"`, "want a fraction greater than 0 and at most 1"},
			wantOnce: []string{"maxDeregisterFraction"},
		},
		{
			name: "negative max-deregister-fraction in a file names the field",
			file: "maxDeregisterFraction: -0.1\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: []string{`invalid maxDeregisterFraction in {file} "-0.1"`, "want a fraction greater than 0 and at most 1"},
		},
		{
			name: "max-deregister-fraction 1.5 in a file names the field",
			file: "maxDeregisterFraction: 1.5\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: []string{`invalid maxDeregisterFraction in {file} "1.5"`, "want a fraction greater than 0 and at most 1"},
		},
		{
			// YAML reads a bare NaN as a string.
			name:     "max-deregister-fraction NaN in a file names the field",
			file:     "maxDeregisterFraction: NaN\n" + oneBinding,
			args:     []string{"--config", "{file}"},
			want:     []string{"{file}: ", "maxDeregisterFraction", "float64"},
			wantOnce: []string{"maxDeregisterFraction"},
		},
		{
			// YAML's own NaN cannot become JSON, so the YAML-to-JSON step refuses it before any
			// field is looked at: the message names the file and the value but not the field.
			name: "max-deregister-fraction .nan in a file is refused",
			file: "maxDeregisterFraction: .nan\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: []string{"{file}: ", "NaN"},
		},
		{
			name: "max-deregister-fraction as a quoted string in a file names the field",
			file: "maxDeregisterFraction: \"0.5\"\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: []string{"{file}: ", "maxDeregisterFraction", "float64"},
		},
		{
			name: "--max-deregister-fraction overriding a file with a bad value names the flag",
			file: "maxDeregisterFraction: 0.5\n" + oneBinding,
			args: []string{"--config", "{file}", "--max-deregister-fraction", "0"},
			want: []string{`invalid --max-deregister-fraction "0"`, "want a fraction greater than 0 and at most 1"},
		},
		{
			name: "capacity-window 0 from flags",
			args: withFlags("--capacity-window", "0s"),
			want: []string{`invalid --capacity-window "0s"`, "must be positive"},
		},
		{
			name: "negative capacity-window from flags",
			args: withFlags("--capacity-window=-1m"),
			want: []string{`invalid --capacity-window "-1m0s"`, "must be positive"},
		},
		{
			name: "capacity-window 0 in a file names the field",
			file: "capacityWindow: 0s\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: []string{`invalid capacityWindow in {file} "0s"`, "must be positive"},
		},
		{
			name:     "capacity-window without a unit in a file names the field",
			file:     "capacityWindow: 60\n" + oneBinding,
			args:     []string{"--config", "{file}"},
			want:     []string{"{file}: ", "capacityWindow", "want a duration"},
			wantOnce: []string{"capacityWindow"},
		},
		{
			name: "bad capacity-window flag",
			args: withFlags("--capacity-window", "soon"),
			want: []string{"capacity-window", "soon"},
		},
		{
			name: "security groups with bindings in two regions names the second binding",
			file: "securityGroupIDs: [sg-0123456789abcdef0]\n" + strings.Replace(twoBindings, arnB, arnUS, 1),
			args: []string{"--config", "{file}"},
			want: []string{"invalid bindings[1].targetGroupARN in {file}", arnUS, "is in region us-east-1 but bindings[0] is in eu-west-1"},
		},
		{
			// The binding is in the file even when the security groups come from a flag.
			name: "--security-group-tag with bindings in two regions names the binding's file field",
			file: strings.Replace(twoBindings, arnB, arnUS, 1),
			args: []string{"--config", "{file}", "--security-group-tag", "kubernetes.io/role=worker"},
			want: []string{"invalid bindings[1].targetGroupARN in {file}", "is in region us-east-1 but bindings[0] is in eu-west-1"},
		},
		{
			name: "--service with --config",
			file: oneBinding,
			args: []string{"--config", "{file}", "--service", svc},
			want: []string{"--service cannot be combined with --config", "put the binding in {file}"},
		},
		{
			name: "--target-group-arn with --config",
			file: oneBinding,
			args: []string{"--target-group-arn", arnB, "--config", "{file}"},
			want: []string{"--target-group-arn cannot be combined with --config"},
		},
		{
			name: "--health-check-path with --config, even set to its default",
			file: oneBinding,
			args: []string{"--config", "{file}", "--health-check-path", config.DefaultHealthCheckPath},
			want: []string{"--health-check-path cannot be combined with --config"},
		},
		{
			name:     "unknown field servicPort",
			file:     "bindings:\n- targetGroupARN: " + arnA + "\n  service: " + svc + "\n  servicPort: https\n",
			args:     []string{"--config", "{file}"},
			want:     []string{"{file}: ", `unknown field "servicPort"`},
			wantOnce: []string{"servicPort", "{file}"},
		},
		{
			name:     "unknown top-level field",
			file:     "resyncPeriode: 5m\n" + oneBinding,
			args:     []string{"--config", "{file}"},
			want:     []string{"{file}: ", `unknown field "resyncPeriode"`},
			wantOnce: []string{"resyncPeriode"},
		},
		{
			name:     "wrong type names the field",
			file:     "deregisterCordoned: \"yes\"\n" + oneBinding,
			args:     []string{"--config", "{file}"},
			want:     []string{"{file}: ", "deregisterCordoned", "bool"},
			wantOnce: []string{"deregisterCordoned"},
		},
		{
			name:     "bad duration names the field",
			file:     "resyncPeriod: 5 minutes\n" + oneBinding,
			args:     []string{"--config", "{file}"},
			want:     []string{"{file}: ", "resyncPeriod", `"5 minutes"`},
			wantOnce: []string{"resyncPeriod"},
		},
		{
			name:      "duplicate key",
			file:      "notReady: keep\nnotReady: remove\n" + oneBinding,
			args:      []string{"--config", "{file}"},
			want:      []string{"{file}: ", "line 2", `"notReady" already set`},
			multiline: true,
		},
		{
			name: "not YAML",
			file: "bindings: [\n",
			args: []string{"--config", "{file}"},
			want: []string{"{file}: ", "line 1"},
		},
		{
			name: "empty file",
			file: "\n  \n",
			args: []string{"--config", "{file}"},
			want: []string{"{file}: file is empty"},
		},
		{
			name: "missing file",
			args: []string{"--config", "/nonexistent/targetsync.yaml"},
			want: []string{"read --config", "/nonexistent/targetsync.yaml"},
		},
		{
			name: "file without bindings",
			file: "clusterName: prod-eu\ndryRun: true\n",
			args: []string{"--config", "{file}"},
			want: []string{"nothing to sync: {file} has no bindings"},
		},
		{
			name: "validation error in the second binding names the file field",
			file: oneBinding + "- targetGroupARN: " + arnB + "\n  service: " + svc + "\n  servicePort: 0\n",
			args: []string{"--config", "{file}"},
			want: []string{"invalid bindings[1].servicePort in {file}", "out of range"},
		},
		{
			name: "validation error in a file setting names the file field",
			file: "notReady: drop\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: []string{"invalid notReady in {file}", "want keep or remove"},
		},
		{
			// The value came from the command line, so the message must send the reader there,
			// not to a file that does not mention the setting.
			name: "flag overriding a file setting with a bad value names the flag",
			file: oneBinding,
			args: []string{"--config", "{file}", "--min-sync-interval", "2m"},
			want: []string{"invalid --min-sync-interval", "less than the resync period"},
		},
		{
			name: "bad setting from the file is named as a file field even with other flags",
			file: "minSyncInterval: 2m\n" + oneBinding,
			args: []string{"--config", "{file}", "--dry-run"},
			want: []string{"invalid minSyncInterval in {file}", "less than the resync period"},
		},
		{
			name: "validation error from flags names the flag",
			args: []string{"--cluster-name", "prod-eu", "--target-group-arn", "arn:aws:s3:::bucket", "--service", svc, "--service-port", "https"},
			want: []string{"invalid --target-group-arn", "not a target group ARN"},
		},
		{
			name: "port 70000 from flags names the flag",
			args: []string{"--cluster-name", "prod-eu", "--target-group-arn", arnA, "--service", svc, "--service-port", "70000"},
			want: []string{"invalid --service-port", `"70000"`},
		},
		{
			name: "port 0 from flags names the flag",
			args: []string{"--cluster-name", "prod-eu", "--target-group-arn", arnA, "--service", svc, "--service-port", "0"},
			want: []string{"invalid --service-port", `"0"`},
		},
		{
			name: "--service without a slash",
			args: []string{"--cluster-name", "prod-eu", "--target-group-arn", arnA, "--service", "ingress-nginx-controller", "--service-port", "https"},
			want: []string{"invalid --service ", "want namespace/name"},
		},
		{
			name: "health-check service port without the service",
			args: withFlags("--health-check-service-port", "10254"),
			want: []string{"invalid --health-check-service-port", "only together with the health-check Service"},
		},
		{
			name: "health-check path without a slash",
			args: withFlags("--health-check-path", "healthz"),
			want: []string{"invalid --health-check-path", "absolute HTTP path"},
		},
		{
			name: "unknown --not-ready",
			args: withFlags("--not-ready", "drop"),
			want: []string{"invalid --not-ready", "want keep or remove"},
		},
		{
			name: "bad duration flag",
			args: withFlags("--resync-period", "often"),
			want: []string{"resync-period", "often"},
		},
		{
			name: "unknown flag",
			args: withFlags("--servce", svc),
			want: []string{"unknown flag: --servce"},
		},
		{
			name: "stray argument",
			args: withFlags("ingress"),
			want: []string{`unexpected argument "ingress"`},
		},
		{
			name: "--config without a value",
			args: []string{"--config"},
			want: []string{"flag needs an argument", "--config"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/nonexistent/targetsync.yaml"
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			_, err := config.Parse("targetsync", expand(tt.args, path))
			if err == nil {
				t.Fatal("Parse() error = nil, want an error")
			}
			msg := err.Error()
			for _, w := range expand(tt.want, path) {
				if !strings.Contains(msg, w) {
					t.Errorf("Parse() error = %q, want it to contain %q", msg, w)
				}
			}
			// The temporary path carries the test name, so count in the message without it.
			bare := strings.ReplaceAll(msg, path, "{file}")
			for _, w := range tt.wantOnce {
				if n := strings.Count(bare, w); n != 1 {
					t.Errorf("Parse() error = %q names %q %d times, want once", msg, w, n)
				}
			}
			for _, noise := range []string{"error converting YAML to JSON", "error unmarshaling JSON", "while decoding JSON", "json: "} {
				if strings.Contains(msg, noise) {
					t.Errorf("Parse() error = %q carries decoder noise %q", msg, noise)
				}
			}
			if !tt.multiline && strings.Contains(msg, "\n") {
				t.Errorf("Parse() error = %q spans several lines, want one", msg)
			}
		})
	}
}

func TestParseHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		t.Run(arg, func(t *testing.T) {
			_, err := config.Parse("targetsync", []string{arg})
			if !errors.Is(err, pflag.ErrHelp) {
				t.Errorf("Parse(%s) error = %v, want pflag.ErrHelp so the caller prints usage", arg, err)
			}
		})
	}
}

func TestUsageListsEveryFlag(t *testing.T) {
	usage := config.Usage("targetsync")
	for _, f := range []string{
		"--config", "--target-group-arn", "--service", "--service-port", "--binding-name",
		"--health-check-service", "--health-check-service-port", "--health-check-path",
		"--node-selector", "--deregister-cordoned", "--not-ready", "--resync-period", "--min-sync-interval",
		"--dry-run", "--leader-elect", "--leader-election-namespace", "--leader-election-id",
		"--metrics-bind-address", "--health-probe-bind-address", "--log-level", "--log-format",
		"--kubeconfig", "--cluster-name", "--max-deregister-fraction", "--capacity-window",
		"--security-group-id", "--security-group-tag", "--source", "--request-timeout",
	} {
		// Boolean flags are listed as --dry-run[=true|false].
		if !strings.Contains(usage, f+" ") && !strings.Contains(usage, f+"[") {
			t.Errorf("Usage() does not document %s", f)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	d := config.Duration{Duration: 90 * time.Second}
	b, err := d.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `"1m30s"` {
		t.Errorf("MarshalJSON() = %s, want \"1m30s\"", b)
	}
	var back config.Duration
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	if back != d {
		t.Errorf("round trip = %v, want %v", back, d)
	}
}
