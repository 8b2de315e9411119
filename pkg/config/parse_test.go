package config_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/targetsync/targetsync/pkg/awsclient"
	"github.com/targetsync/targetsync/pkg/config"
	"github.com/targetsync/targetsync/pkg/sg"
)

// flagBinding is the binding the one-binding flags give when only the required ones are set.
func flagBinding(port intstr.IntOrString) config.Binding { return binding(arnA, port) }

// withOneBinding is the defaults for prod-eu with the binding of required.
func withOneBinding() config.Config {
	c := defaultConfig("prod-eu")
	c.Bindings = []config.Binding{flagBinding(intstr.FromString("https"))}
	return c
}

const throttleELB = "Elastic Load Balancing v2:RegisterTargets|DeregisterTargets=4:20"

// everyRunFlag sets every flag of run but --config and --bootstrap, each to a value other
// than its default.
var everyRunFlag = []string{
	"--kubeconfig", "/home/me/.kube/config",
	"--context", "prod-admin",
	"--request-timeout", "10s",
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
	"--targets", "ingress-nodes",
	"--max-deregister-fraction", "0.25",
	"--capacity-window", "3m",
	"--resync-period", "5m",
	"--min-sync-interval", "2s",
	"--dry-run",
	"--security-group-id", "sg-0123456789abcdef0",
	"--security-group-id", "sg-0fedcba9876543210",
	"--security-group-tag", "kubernetes.io/role=worker",
	"--source", "nlb-private-ips",
	"--source", "cidr:10.1.0.0/16",
	"--aws-api-throttle", throttleELB + ",EC2:Describe.*=5:10",
	"--domain", "example.com",
	"--cluster-id", "eu1",
	"--ingress-class", "public",
	"--leader-elect",
	"--leader-election-namespace", "kube-system",
	"--leader-election-id", "targetsync-prod",
	"--leader-elect-lease-duration", "30s",
	"--leader-elect-renew-deadline", "20s",
	"--leader-elect-retry-period", "4s",
	"--metrics-bind-address", ":9090",
	"--health-probe-bind-address", "0",
	"--pprof-bind-address", "localhost:6060",
	"--log-level", "debug",
	"--log-format", "console",
}

// everyRunFile says what everyRunFlag says, as a file.
var everyRunFile = fileOf(`kubeconfig: /home/me/.kube/config
context: prod-admin
requestTimeout: 10s
clusterName: prod-eu
nodeSelector: role=ingress
deregisterCordoned: false
notReady: remove
targets: ingress-nodes
maxDeregisterFraction: 0.25
capacityWindow: 3m
resyncPeriod: 5m
minSyncInterval: 2s
dryRun: true
securityGroupId: [sg-0123456789abcdef0, sg-0fedcba9876543210]
securityGroupTag: kubernetes.io/role=worker
source: [nlb-private-ips, "cidr:10.1.0.0/16"]
awsApiThrottle: ["`+throttleELB+`", "EC2:Describe.*=5:10"]
domain: example.com
clusterId: eu1
ingressClass: public
leaderElect: true
leaderElectionNamespace: kube-system
leaderElectionId: targetsync-prod
leaderElectLeaseDuration: 30s
leaderElectRenewDeadline: 20s
leaderElectRetryPeriod: 4s
metricsBindAddress: ":9090"
healthProbeBindAddress: "0"
pprofBindAddress: localhost:6060
logLevel: debug
logFormat: console
`, "bindingName: web\ntargetGroupArn: "+arnA+"\nservice: "+svc+"\nservicePort: 443\nhealthCheckService: ingress-nginx/hc\nhealthCheckServicePort: 10254\nhealthCheckPath: /ready")

// fromEveryRunFlag is what everyRunFlag and everyRunFile give.
func fromEveryRunFlag() config.Config {
	return config.Config{
		Kube:        config.Kube{Kubeconfig: "/home/me/.kube/config", Context: "prod-admin", RequestTimeout: 10 * time.Second},
		ClusterName: "prod-eu",
		Bindings: []config.Binding{{
			Name:            "web",
			TargetGroup:     mustARN(arnA),
			Service:         ingressService,
			ServicePort:     intstr.FromInt32(443),
			HealthCheck:     &config.PortRef{Service: types.NamespacedName{Namespace: "ingress-nginx", Name: "hc"}, Port: intstr.FromInt32(10254)},
			HealthCheckPath: "/ready",
			NodeSelector:    mustSelector("role=ingress"),
			NotReady:        config.NotReadyRemove,
		}},
		DeregisterCordoned:    false,
		Targets:               config.TargetsIngressNodes,
		MaxDeregisterFraction: 0.25,
		CapacityWindow:        3 * time.Minute,
		ResyncPeriod:          5 * time.Minute,
		MinSyncInterval:       2 * time.Second,
		DryRun:                true,
		SecurityGroups: &config.SecurityGroups{
			Selector: sg.GroupSelector{
				IDs:    []string{"sg-0123456789abcdef0", "sg-0fedcba9876543210"},
				TagKey: "kubernetes.io/role", TagValue: "worker",
			},
			Sources: []sg.Source{{Kind: sg.SourceNLBPrivateIPs}, {Kind: sg.SourceCIDR, CIDR: netip.MustParsePrefix("10.1.0.0/16")}},
		},
		Publishing: &config.Publishing{Domain: "example.com", ClusterID: "eu1", IngressClass: "public"},
		LeaderElection: config.LeaderElection{
			Enabled: true, Namespace: "kube-system", ID: "targetsync-prod",
			LeaseDuration: 30 * time.Second, RenewDeadline: 20 * time.Second, RetryPeriod: 4 * time.Second,
		},
		MetricsBindAddress:     ":9090",
		HealthProbeBindAddress: "0",
		PprofBindAddress:       "localhost:6060",
		LogLevel:               zapcore.DebugLevel,
		LogFormat:              "console",
		AWSThrottle:            []awsclient.ThrottleRule{mustThrottle(throttleELB), mustThrottle("EC2:Describe.*=5:10")},
	}
}

// reportFlags are the flags plan and status share, each set to a value other than its default.
var reportFlags = []string{
	"--kubeconfig", "/k", "--context", "c", "--request-timeout", "5s",
	"--node-selector", "role=ingress", "--deregister-cordoned=false", "--not-ready", "remove", "--targets", "ingress-nodes",
	"--security-group-id", "sg-0123456789abcdef0", "--source", "nlb-private-ips",
	"--aws-api-throttle", throttleELB, "--log-level", "warn", "--log-format", "console", "-o", "json",
}

// fromReportFlags is what required and reportFlags give plan and status.
func fromReportFlags() config.Config {
	c := withOneBinding()
	c.Kube = config.Kube{Kubeconfig: "/k", Context: "c", RequestTimeout: 5 * time.Second}
	c.Bindings[0].NodeSelector, c.Bindings[0].NotReady = mustSelector("role=ingress"), config.NotReadyRemove
	c.DeregisterCordoned, c.Targets = false, config.TargetsIngressNodes
	c.SecurityGroups = &config.SecurityGroups{
		Selector: sg.GroupSelector{IDs: []string{"sg-0123456789abcdef0"}},
		Sources:  []sg.Source{{Kind: sg.SourceNLBPrivateIPs}},
	}
	c.AWSThrottle = []awsclient.ThrottleRule{mustThrottle(throttleELB)}
	c.LogLevel, c.LogFormat, c.Output = zapcore.WarnLevel, "console", config.OutputJSON
	return c
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name string
		cmd  string
		args []string
		want func() config.Config
	}{
		{
			name: "required flags only, port by name",
			cmd:  config.CommandRun,
			args: required,
			want: withOneBinding,
		},
		{
			name: "port by number, equals form",
			cmd:  config.CommandRun,
			args: []string{"--target-group-arn=" + arnA, "--service=" + svc, "--service-port=443", "--cluster-name=prod-eu"},
			want: with(withOneBinding, func(c *config.Config) { c.Bindings[0] = flagBinding(intstr.FromInt32(443)) }),
		},
		{
			name: "max-deregister-fraction 1 turns the guard off",
			cmd:  config.CommandRun,
			args: withArgs("--max-deregister-fraction", "1"),
			want: with(withOneBinding, func(c *config.Config) { c.MaxDeregisterFraction = 1 }),
		},
		{
			name: "max-deregister-fraction 0.5 and a capacity window",
			cmd:  config.CommandRun,
			args: withArgs("--max-deregister-fraction=0.5", "--capacity-window=90s"),
			want: with(withOneBinding, func(c *config.Config) {
				c.MaxDeregisterFraction = 0.5
				c.CapacityWindow = 90 * time.Second
			}),
		},
		{
			name: "every flag of run",
			cmd:  config.CommandRun,
			args: everyRunFlag,
			want: fromEveryRunFlag,
		},
		{
			name: "every flag of plan",
			cmd:  config.CommandPlan,
			args: withArgs(append([]string{"--max-deregister-fraction", "0.5", "--capacity-window", "2m"}, reportFlags...)...),
			want: with(fromReportFlags, func(c *config.Config) {
				c.MaxDeregisterFraction, c.CapacityWindow = 0.5, 2*time.Minute
			}),
		},
		{
			name: "every flag of status",
			cmd:  config.CommandStatus,
			args: withArgs(append([]string{"--leader-election-namespace", "kube-system", "--leader-election-id", "ts"}, reportFlags...)...),
			want: with(fromReportFlags, func(c *config.Config) {
				c.LeaderElection.Namespace, c.LeaderElection.ID = "kube-system", "ts"
			}),
		},
		{
			name: "plan prints a table unless told otherwise",
			cmd:  config.CommandPlan,
			args: required,
			want: with(withOneBinding, func(c *config.Config) { c.Output = config.OutputTable }),
		},
		{
			// kubectl's flags, so the cluster is the one kubectl would reach.
			name: "--context and --kubeconfig reach the Kube settings",
			cmd:  config.CommandRun,
			args: withArgs("--context", "staging", "--kubeconfig", "/etc/kube/config"),
			want: with(withOneBinding, func(c *config.Config) {
				c.Kube.Context, c.Kube.Kubeconfig = "staging", "/etc/kube/config"
			}),
		},
		{
			name: "--context alone keeps the default kubeconfig",
			cmd:  config.CommandStatus,
			args: withArgs("--context", "staging"),
			want: with(withOneBinding, func(c *config.Config) { c.Kube.Context, c.Output = "staging", config.OutputTable }),
		},
		{
			name: "--targets ingress-nodes",
			cmd:  config.CommandRun,
			args: withArgs("--targets", "ingress-nodes"),
			want: with(withOneBinding, func(c *config.Config) { c.Targets = config.TargetsIngressNodes }),
		},
		{
			name: "--targets all, the default, said explicitly",
			cmd:  config.CommandRun,
			args: withArgs("--targets=all"),
			want: withOneBinding,
		},
		{
			name: "--aws-api-throttle repeated adds rules in order",
			cmd:  config.CommandRun,
			args: withArgs("--aws-api-throttle", "EC2:.*=1:1", "--aws-api-throttle", throttleELB),
			want: with(withOneBinding, func(c *config.Config) {
				c.AWSThrottle = []awsclient.ThrottleRule{mustThrottle("EC2:.*=1:1"), mustThrottle(throttleELB)}
			}),
		},
		{
			name: "--aws-api-throttle with a fractional QPS",
			cmd:  config.CommandRun,
			args: withArgs("--aws-api-throttle", "EC2:AuthorizeSecurityGroupIngress=0.5:1"),
			want: with(withOneBinding, func(c *config.Config) {
				c.AWSThrottle = []awsclient.ThrottleRule{mustThrottle("EC2:AuthorizeSecurityGroupIngress=0.5:1")}
			}),
		},
		{
			name: "--pprof-bind-address turns the profiler on",
			cmd:  config.CommandRun,
			args: withArgs("--pprof-bind-address", ":6060"),
			want: with(withOneBinding, func(c *config.Config) { c.PprofBindAddress = ":6060" }),
		},
		{
			name: "leader election timings",
			cmd:  config.CommandRun,
			args: withArgs("--leader-elect", "--leader-elect-lease-duration", "1m", "--leader-elect-renew-deadline", "40s", "--leader-elect-retry-period", "5s"),
			want: with(withOneBinding, func(c *config.Config) {
				c.LeaderElection.Enabled = true
				c.LeaderElection.LeaseDuration, c.LeaderElection.RenewDeadline, c.LeaderElection.RetryPeriod = time.Minute, 40*time.Second, 5*time.Second
			}),
		},
		{
			// client-go needs the renew deadline above 1.2 x the retry period: 2.5s > 2.4s.
			name: "renew deadline just above 1.2 x the retry period",
			cmd:  config.CommandRun,
			args: withArgs("--leader-elect-renew-deadline", "2500ms"),
			want: with(withOneBinding, func(c *config.Config) { c.LeaderElection.RenewDeadline = 2500 * time.Millisecond }),
		},
		{
			name: "a health-check Service port by name",
			cmd:  config.CommandRun,
			args: withArgs("--health-check-service", "kube-system/hc", "--health-check-service-port", "health"),
			want: with(withOneBinding, func(c *config.Config) {
				c.Bindings[0].HealthCheck = &config.PortRef{Service: types.NamespacedName{Namespace: "kube-system", Name: "hc"}, Port: intstr.FromString("health")}
			}),
		},
		{
			name: "security groups by tag use the default source",
			cmd:  config.CommandRun,
			args: withArgs("--security-group-tag", "role=worker"),
			want: with(withOneBinding, func(c *config.Config) {
				c.SecurityGroups = &config.SecurityGroups{
					Selector: sg.GroupSelector{TagKey: "role", TagValue: "worker"},
					Sources:  []sg.Source{{Kind: sg.SourceVPCCIDR}},
				}
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Parse(tt.cmd, tt.args)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if diff := cmp.Diff(tt.want(), got, configCmp...); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// twoBindings is a file with two bindings, the first with a health-check Service of its own.
var twoBindings = fileOf(`clusterName: prod-eu
nodeSelector: role=ingress
notReady: remove
deregisterCordoned: false
resyncPeriod: 5m
minSyncInterval: 10s
dryRun: true
logLevel: debug
`,
	"bindingName: https\n"+bindingHTTPS+"\nhealthCheckService: ingress-nginx/hc\nhealthCheckServicePort: 10254\nhealthCheckPath: /ready",
	bindingHTTP)

// fromTwoBindings is what twoBindings says, on top of the defaults.
func fromTwoBindings() config.Config {
	c := defaultConfig("prod-eu")
	c.DeregisterCordoned = false
	c.ResyncPeriod = 5 * time.Minute
	c.MinSyncInterval = 10 * time.Second
	c.DryRun = true
	c.LogLevel = zapcore.DebugLevel
	https := binding(arnA, intstr.FromString("https"))
	https.HealthCheck = &config.PortRef{Service: types.NamespacedName{Namespace: "ingress-nginx", Name: "hc"}, Port: intstr.FromInt32(10254)}
	https.HealthCheckPath = "/ready"
	// A binding without a path gets the default one, and without a name the port's.
	http := binding(arnB, intstr.FromInt32(80))
	c.Bindings = []config.Binding{https, http}
	for i := range c.Bindings {
		c.Bindings[i].NodeSelector, c.Bindings[i].NotReady = mustSelector("role=ingress"), config.NotReadyRemove
	}
	return c
}

func TestParseFile(t *testing.T) {
	tests := []struct {
		name string
		cmd  string // run when empty
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
				for i := range c.Bindings {
					c.Bindings[i].NotReady = config.NotReadyKeep
				}
				c.ResyncPeriod = 2 * time.Minute
				c.DryRun = false
				c.DeregisterCordoned = true
				c.LogLevel = zapcore.WarnLevel
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
			file: fileOf("", bindingHTTPS),
			args: []string{"--config", "{file}", "--cluster-name", "prod-eu"},
			want: withOneBinding,
		},
		{
			name: "settings the file leaves out keep their defaults",
			file: fileOf("clusterName: prod-eu\n", bindingHTTPS),
			args: []string{"--config", "{file}"},
			want: withOneBinding,
		},
		{
			name: "every key",
			file: everyRunFile,
			args: []string{"--config", "{file}"},
			want: fromEveryRunFlag,
		},
		{
			name: "guard settings from the file",
			file: "maxDeregisterFraction: 0.5\ncapacityWindow: 2m30s\n" + twoBindings,
			args: []string{"--config", "{file}"},
			want: with(fromTwoBindings, func(c *config.Config) {
				c.MaxDeregisterFraction = 0.5
				c.CapacityWindow = 2*time.Minute + 30*time.Second
			}),
		},
		{
			name: "guard settings from the file: 1 and a whole number of seconds",
			file: "maxDeregisterFraction: 1\ncapacityWindow: 45s\n" + twoBindings,
			args: []string{"--config", "{file}"},
			want: with(fromTwoBindings, func(c *config.Config) {
				c.MaxDeregisterFraction = 1
				c.CapacityWindow = 45 * time.Second
			}),
		},
		{
			name: "guard flags override the file",
			file: "maxDeregisterFraction: 0.5\ncapacityWindow: 2m\n" + twoBindings,
			args: []string{"--config", "{file}", "--max-deregister-fraction", "1", "--capacity-window", "10s"},
			want: with(fromTwoBindings, func(c *config.Config) {
				c.MaxDeregisterFraction = 1
				c.CapacityWindow = 10 * time.Second
			}),
		},
		{
			name: "security groups with every binding in one region",
			file: "securityGroupId: [sg-0123456789abcdef0]\n" + twoBindings,
			args: []string{"--config", "{file}"},
			want: with(fromTwoBindings, func(c *config.Config) {
				c.SecurityGroups = &config.SecurityGroups{
					Selector: sg.GroupSelector{IDs: []string{"sg-0123456789abcdef0"}},
					Sources:  []sg.Source{{Kind: sg.SourceVPCCIDR}},
				}
			}),
		},
		{
			name: "bindings in two regions without security groups",
			file: strings.Replace(twoBindings, arnB, arnUS, 1),
			args: []string{"--config", "{file}"},
			want: with(fromTwoBindings, func(c *config.Config) { c.Bindings[1].TargetGroup = mustARN(arnUS) }),
		},
		{
			// As on the command line, "443" is the port number, not a port named 443.
			name: "a quoted number is a port number",
			file: fileOf("clusterName: prod-eu\n", "targetGroupArn: "+arnA+"\nservice: "+svc+"\nservicePort: \"443\"\nhealthCheckService: ingress-nginx/hc\nhealthCheckServicePort: \"10254\""),
			args: []string{"--config", "{file}"},
			want: with(withOneBinding, func(c *config.Config) {
				c.Bindings[0] = flagBinding(intstr.FromInt32(443))
				c.Bindings[0].HealthCheck = &config.PortRef{Service: types.NamespacedName{Namespace: "ingress-nginx", Name: "hc"}, Port: intstr.FromInt32(10254)}
			}),
		},
		{
			name: "a key left empty or null keeps its default",
			file: fileOf("clusterName: prod-eu\nresyncPeriod:\nnotReady: null\nsource: ~\n", bindingHTTPS+"\nhealthCheckPath: null\nnodeSelector:"),
			args: []string{"--config", "{file}"},
			want: withOneBinding,
		},
		{
			// One file serves run, plan and status: plan ignores what only run uses.
			name: "plan reads a file with run's settings",
			cmd:  config.CommandPlan,
			file: "leaderElect: true\nmetricsBindAddress: \":9090\"\n" + twoBindings,
			args: []string{"--config", "{file}", "-o", "yaml"},
			want: with(fromTwoBindings, func(c *config.Config) {
				c.LeaderElection.Enabled, c.MetricsBindAddress, c.Output = true, ":9090", config.OutputYAML
			}),
		},
		{
			name: "status reads the same file",
			cmd:  config.CommandStatus,
			file: twoBindings,
			args: []string{"--config", "{file}", "--leader-election-id", "ts"},
			want: with(fromTwoBindings, func(c *config.Config) { c.LeaderElection.ID, c.Output = "ts", config.OutputTable }),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := tt.cmd
			if cmd == "" {
				cmd = config.CommandRun
			}
			path := writeFile(t, tt.file)
			got, err := config.Parse(cmd, expand(tt.args, path))
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if diff := cmp.Diff(tt.want(), got, configCmp...); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPerBindingNodeRules checks that a binding's own nodeSelector and notReady win over the
// top-level ones, which stay the default for the other bindings.
func TestPerBindingNodeRules(t *testing.T) {
	file := fileOf("clusterName: prod-eu\nnodeSelector: role=ingress\nnotReady: keep\n",
		bindingHTTPS+"\nnodeSelector: role=edge\nnotReady: remove", bindingHTTP)
	tests := []struct {
		name string
		args []string
		// the selectors and policies of bindings[0] and bindings[1]
		wantSelectors, wantNotReady [2]string
	}{
		{
			name:          "a binding's own rules override the top-level ones",
			args:          []string{"--config", "{file}"},
			wantSelectors: [2]string{"role=edge", "role=ingress"},
			wantNotReady:  [2]string{config.NotReadyRemove, config.NotReadyKeep},
		},
		{
			// The flags replace the top-level rules, which are the default of each binding.
			name:          "the flags replace the top-level rules, not a binding's own",
			args:          []string{"--config", "{file}", "--node-selector", "role=any", "--not-ready", "remove"},
			wantSelectors: [2]string{"role=edge", "role=any"},
			wantNotReady:  [2]string{config.NotReadyRemove, config.NotReadyRemove},
		},
		{
			name:          "an empty selector selects every node",
			args:          []string{"--config", "{file}", "--node-selector="},
			wantSelectors: [2]string{"role=edge", ""},
			wantNotReady:  [2]string{config.NotReadyRemove, config.NotReadyKeep},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse(config.CommandRun, expand(tt.args, writeFile(t, file)))
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Bindings) != 2 {
				t.Fatalf("Parse() gave %d bindings, want 2", len(cfg.Bindings))
			}
			for i, b := range cfg.Bindings {
				if b.NodeSelector.String() != tt.wantSelectors[i] || b.NotReady != tt.wantNotReady[i] {
					t.Errorf("bindings[%d] selects %q and keeps NotReady %q, want %q and %q",
						i, b.NodeSelector, b.NotReady, tt.wantSelectors[i], tt.wantNotReady[i])
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const (
		msgClusterRequired = "required: the name of this cluster, written into every tag and rule targetsync owns"
		msgFraction        = "want a fraction greater than 0 and at most 1 (1 turns the guard off)"
	)
	oneBinding := fileOf("clusterName: prod-eu\n", bindingHTTPS)
	twoRegions := strings.Replace(twoBindings, arnB, arnUS, 1)

	tests := []struct {
		name string
		cmd  string // run when empty
		// file is written to a temporary path that replaces {file} in args and want; empty
		// writes no file.
		file string
		args []string
		want string
	}{
		{
			name: "no flags at all asks for the cluster name first",
			want: `invalid --cluster-name "": ` + msgClusterRequired,
		},
		{
			name: "only a cluster name",
			args: []string{"--cluster-name", "prod-eu"},
			want: "nothing to sync: set --target-group-arn, --service and --service-port, or give --config",
		},
		{
			name: "plan needs a binding too",
			cmd:  config.CommandPlan,
			args: []string{"--cluster-name", "prod-eu"},
			want: "nothing to sync: set --target-group-arn, --service and --service-port, or give --config",
		},
		{
			name: "missing --cluster-name with a binding from flags",
			args: []string{"--target-group-arn", arnA, "--service", svc, "--service-port", "https"},
			want: `invalid --cluster-name "": ` + msgClusterRequired,
		},
		{
			name: "empty --cluster-name",
			args: withArgs("--cluster-name="),
			want: `invalid --cluster-name "": ` + msgClusterRequired,
		},
		{
			name: "missing --service-port",
			args: []string{"--cluster-name", "prod-eu", "--target-group-arn", arnA, "--service", svc},
			want: `invalid --service-port "": required: a port name or number`,
		},
		{
			name: "file without a cluster name names the file key",
			file: fileOf("", bindingHTTPS),
			args: []string{"--config", "{file}"},
			want: `invalid clusterName in {file} "": ` + msgClusterRequired,
		},
		{
			name: "file with a bad cluster name",
			file: fileOf("clusterName: Prod.EU\n", bindingHTTPS),
			args: []string{"--config", "{file}"},
			want: `invalid clusterName in {file} "Prod.EU": want a DNS label: lower-case letters, digits and '-'`,
		},
		{
			name: "--cluster-name overriding a file with an empty one names the flag",
			file: oneBinding,
			args: []string{"--config", "{file}", "--cluster-name", ""},
			want: `invalid --cluster-name "": ` + msgClusterRequired,
		},
		{
			name: "max-deregister-fraction 0 from flags",
			args: withArgs("--max-deregister-fraction", "0"),
			want: `invalid --max-deregister-fraction "0": ` + msgFraction,
		},
		{
			name: "negative max-deregister-fraction from flags",
			args: withArgs("--max-deregister-fraction=-0.1"),
			want: `invalid --max-deregister-fraction "-0.1": ` + msgFraction,
		},
		{
			name: "negative max-deregister-fraction from flags, value as the next argument",
			args: withArgs("--max-deregister-fraction", "-0.1"),
			want: `invalid --max-deregister-fraction "-0.1": ` + msgFraction,
		},
		{
			name: "max-deregister-fraction 1.5 from flags",
			args: withArgs("--max-deregister-fraction", "1.5"),
			want: `invalid --max-deregister-fraction "1.5": ` + msgFraction,
		},
		{
			name: "max-deregister-fraction NaN from flags",
			args: withArgs("--max-deregister-fraction", "NaN"),
			want: `invalid --max-deregister-fraction "NaN": ` + msgFraction,
		},
		{
			name: "max-deregister-fraction Inf from flags",
			args: withArgs("--max-deregister-fraction", "Inf"),
			want: `invalid --max-deregister-fraction "+Inf": ` + msgFraction,
		},
		{
			name: "max-deregister-fraction that is not a number",
			args: withArgs("--max-deregister-fraction", "half"),
			want: `invalid argument "half" for "--max-deregister-fraction" flag: must be a number`,
		},
		{
			name: "max-deregister-fraction 0 in a file names the key",
			file: "maxDeregisterFraction: 0\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: `invalid maxDeregisterFraction in {file} "0": ` + msgFraction,
		},
		{
			name: "negative max-deregister-fraction in a file names the key",
			file: "maxDeregisterFraction: -0.1\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: `invalid maxDeregisterFraction in {file} "-0.1": ` + msgFraction,
		},
		{
			name: "max-deregister-fraction 1.5 in a file names the key",
			file: "maxDeregisterFraction: 1.5\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: `invalid maxDeregisterFraction in {file} "1.5": ` + msgFraction,
		},
		{
			// YAML reads a bare NaN as a string.
			name: "max-deregister-fraction NaN in a file names the key",
			file: "maxDeregisterFraction: NaN\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: `{file}: maxDeregisterFraction: want a number, not "NaN"`,
		},
		{
			// YAML's own NaN has no JSON form, so it is refused before any key is looked at.
			name: "max-deregister-fraction .nan in a file is refused",
			file: "maxDeregisterFraction: .nan\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: "{file}: not YAML: unsupported value: NaN",
		},
		{
			name: "max-deregister-fraction as a quoted string in a file names the key",
			file: "maxDeregisterFraction: \"0.5\"\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: `{file}: maxDeregisterFraction: want a number, not "0.5"`,
		},
		{
			name: "--max-deregister-fraction overriding a file with a bad value names the flag",
			file: "maxDeregisterFraction: 0.5\n" + oneBinding,
			args: []string{"--config", "{file}", "--max-deregister-fraction", "0"},
			want: `invalid --max-deregister-fraction "0": ` + msgFraction,
		},
		{
			name: "capacity-window 0 from flags",
			args: withArgs("--capacity-window", "0s"),
			want: `invalid --capacity-window "0s": must be positive`,
		},
		{
			name: "negative capacity-window from flags",
			args: withArgs("--capacity-window=-1m"),
			want: `invalid --capacity-window "-1m0s": must be positive`,
		},
		{
			name: "capacity-window 0 in a file names the key",
			file: "capacityWindow: 0s\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: `invalid capacityWindow in {file} "0s": must be positive`,
		},
		{
			name: "capacity-window without a unit in a file names the key",
			file: "capacityWindow: 60\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: "{file}: capacityWindow: want a duration such as 60s, not 60",
		},
		{
			name: "bad capacity-window flag",
			args: withArgs("--capacity-window", "soon"),
			want: `invalid argument "soon" for "--capacity-window" flag: must be a duration like "30s" or "5m"`,
		},
		{
			name: "security groups with bindings in two regions names the second binding",
			file: "securityGroupId: [sg-0123456789abcdef0]\n" + twoRegions,
			args: []string{"--config", "{file}"},
			want: `invalid bindings[1].targetGroupArn in {file} "` + arnUS + `": is in region us-east-1 but bindings[0] is in eu-west-1; security groups are managed in one region`,
		},
		{
			// The binding is in the file even when the security groups come from a flag.
			name: "--security-group-tag with bindings in two regions names the binding's file key",
			file: twoRegions,
			args: []string{"--config", "{file}", "--security-group-tag", "kubernetes.io/role=worker"},
			want: `invalid bindings[1].targetGroupArn in {file} "` + arnUS + `": is in region us-east-1 but bindings[0] is in eu-west-1; security groups are managed in one region`,
		},
		{
			name: "--service with --config",
			file: oneBinding,
			args: []string{"--config", "{file}", "--service", svc},
			want: "--service cannot be combined with --config: put the binding in {file}",
		},
		{
			name: "--target-group-arn with --config",
			file: oneBinding,
			args: []string{"--target-group-arn", arnB, "--config", "{file}"},
			want: "--target-group-arn cannot be combined with --config: put the binding in {file}",
		},
		{
			name: "--health-check-path with --config, even set to its default",
			file: oneBinding,
			args: []string{"--config", "{file}", "--health-check-path", config.DefaultHealthCheckPath},
			want: "--health-check-path cannot be combined with --config: put the binding in {file}",
		},
		{
			name: "unknown key servicPort",
			file: fileOf("clusterName: prod-eu\n", "targetGroupArn: "+arnA+"\nservice: "+svc+"\nservicPort: https"),
			args: []string{"--config", "{file}"},
			want: "{file}: unknown key servicPort in bindings[0]" + keysHint,
		},
		{
			name: "unknown top-level key",
			file: "resyncPeriode: 5m\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: "{file}: unknown key resyncPeriode" + keysHint,
		},
		{
			name: "wrong type names the key",
			file: "deregisterCordoned: \"yes\"\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: `{file}: deregisterCordoned: want true or false, not "yes"`,
		},
		{
			name: "bad duration names the key",
			file: "resyncPeriod: 5 minutes\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: `{file}: resyncPeriod: want a duration such as 60s, not "5 minutes"`,
		},
		{
			// Two values for one key would leave it to chance which one counts.
			name: "duplicate key",
			file: header + "notReady: keep\nnotReady: remove\n",
			args: []string{"--config", "{file}"},
			want: "{file}: not YAML: yaml: unmarshal errors:\n  line 4: key \"notReady\" already set in map",
		},
		{
			name: "duplicate key in a binding",
			file: fileOf("clusterName: prod-eu\n", bindingHTTPS+"\nservicePort: http"),
			args: []string{"--config", "{file}"},
			want: "{file}: not YAML: yaml: unmarshal errors:\n  line 8: key \"servicePort\" already set in map",
		},
		{
			name: "not YAML",
			file: "bindings: [\n",
			args: []string{"--config", "{file}"},
			want: "{file}: not YAML: yaml: line 1: did not find expected node content",
		},
		{
			name: "empty file",
			file: "\n  \n",
			args: []string{"--config", "{file}"},
			want: "{file}: file is empty",
		},
		{
			name: "missing file",
			args: []string{"--config", "/nonexistent/targetsync.yaml"},
			want: "read --config: open /nonexistent/targetsync.yaml: no such file or directory",
		},
		{
			name: "file without bindings",
			file: header + "clusterName: prod-eu\ndryRun: true\n",
			args: []string{"--config", "{file}"},
			want: "nothing to sync: {file} has no bindings",
		},
		{
			name: "file with an empty list of bindings",
			file: header + "clusterName: prod-eu\nbindings: []\n",
			args: []string{"--config", "{file}"},
			want: "nothing to sync: {file} has no bindings",
		},
		{
			name: "validation error in the second binding names the file key",
			file: fileOf("clusterName: prod-eu\n", bindingHTTPS, "targetGroupArn: "+arnB+"\nservice: "+svc+"\nservicePort: 0"),
			args: []string{"--config", "{file}"},
			want: `invalid bindings[1].servicePort in {file} "0": port number out of range 1-65535`,
		},
		{
			name: "a binding without a port names the file key",
			file: fileOf("clusterName: prod-eu\n", "targetGroupArn: "+arnA+"\nservice: "+svc),
			args: []string{"--config", "{file}"},
			want: `invalid bindings[0].servicePort in {file} "": required: a port name or number`,
		},
		{
			name: "validation error in a file setting names the file key",
			file: "notReady: drop\n" + oneBinding,
			args: []string{"--config", "{file}"},
			want: `invalid notReady in {file} "drop": want keep or remove`,
		},
		{
			// The value came from the command line, so the message must send the reader there,
			// not to a file that does not mention the setting.
			name: "flag overriding a file setting with a bad value names the flag",
			file: oneBinding,
			args: []string{"--config", "{file}", "--min-sync-interval", "2m"},
			want: `invalid --min-sync-interval "2m0s": must be at least 0 and less than the resync period`,
		},
		{
			name: "flag overriding a good file setting with a bad value names the flag",
			file: "nodeSelector: role=ingress\n" + oneBinding,
			args: []string{"--config", "{file}", "--node-selector", "role in (ingress"},
			want: `invalid --node-selector "role in (ingress": not a label selector: unable to parse requirement: found '', expected: ',' or ')'`,
		},
		{
			name: "bad setting from the file is named as a file key even with other flags",
			file: "minSyncInterval: 2m\n" + oneBinding,
			args: []string{"--config", "{file}", "--dry-run"},
			want: `invalid minSyncInterval in {file} "2m0s": must be at least 0 and less than the resync period`,
		},
		{
			name: "validation error from flags names the flag",
			args: []string{"--cluster-name", "prod-eu", "--target-group-arn", "arn:aws:s3:::bucket", "--service", svc, "--service-port", "https"},
			want: `invalid --target-group-arn "arn:aws:s3:::bucket": not a target group ARN; ` + wantARN,
		},
		{
			name: "port 70000 from flags names the flag",
			args: withArgs("--service-port", "70000"),
			want: `invalid --service-port "70000": port number out of range 1-65535`,
		},
		{
			name: "port 0 from flags names the flag",
			args: withArgs("--service-port", "0"),
			want: `invalid --service-port "0": port number out of range 1-65535`,
		},
		{
			name: "--service without a slash",
			args: withArgs("--service", "ingress-nginx-controller"),
			want: `invalid --service "ingress-nginx-controller": want namespace/name`,
		},
		{
			name: "health-check service port without the service",
			args: withArgs("--health-check-service-port", "10254"),
			want: `invalid --health-check-service-port "10254": set only together with the health-check Service`,
		},
		{
			name: "health-check path without a slash",
			args: withArgs("--health-check-path", "healthz"),
			want: `invalid --health-check-path "healthz": want an absolute HTTP path such as /healthz`,
		},
		{
			name: "unknown --not-ready",
			args: withArgs("--not-ready", "drop"),
			want: `invalid --not-ready "drop": want keep or remove`,
		},
		{
			name: "bad duration flag",
			args: withArgs("--resync-period", "often"),
			want: `invalid argument "often" for "--resync-period" flag: must be a duration like "30s" or "5m"`,
		},
		{
			name: "bad boolean flag",
			args: withArgs("--dry-run=maybe"),
			want: `invalid argument "maybe" for "--dry-run" flag: must be true or false`,
		},
		{
			name: "unknown flag",
			args: withArgs("--servce", svc),
			want: "unknown flag: --servce",
		},
		{
			name: "stray argument",
			args: withArgs("ingress"),
			want: `unexpected argument "ingress"`,
		},
		{
			name: "--config without a value",
			args: []string{"--config"},
			want: "flag needs an argument: --config",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := tt.cmd
			if cmd == "" {
				cmd = config.CommandRun
			}
			path := "/nonexistent/targetsync.yaml"
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			_, err := config.Parse(cmd, expand(tt.args, path))
			want := strings.ReplaceAll(tt.want, "{file}", path)
			if err == nil || err.Error() != want {
				t.Errorf("Parse() error = %v\nwant %s", err, want)
			}
		})
	}
}

// TestCommandsTakeOnlyTheirOwnFlags checks that plan and status refuse the flags only run uses,
// so a flag that would do nothing there is a mistake the user hears about, and that run takes
// them.
func TestCommandsTakeOnlyTheirOwnFlags(t *testing.T) {
	tests := []struct {
		cmd  string
		args []string
		want string
		// run is what run accepts with the flag; empty means required and args.
		run []string
	}{
		{cmd: config.CommandPlan, args: []string{"--leader-elect"}, want: "unknown flag: --leader-elect"},
		{cmd: config.CommandPlan, args: []string{"--metrics-bind-address=:1"}, want: "unknown flag: --metrics-bind-address"},
		{cmd: config.CommandPlan, args: []string{"--dry-run=false"}, want: "unknown flag: --dry-run"},
		{cmd: config.CommandPlan, args: []string{"--health-probe-bind-address", ":1"}, want: "unknown flag: --health-probe-bind-address"},
		{cmd: config.CommandPlan, args: []string{"--pprof-bind-address", ":1"}, want: "unknown flag: --pprof-bind-address"},
		{cmd: config.CommandPlan, args: []string{"--resync-period", "1m"}, want: "unknown flag: --resync-period"},
		{cmd: config.CommandPlan, args: []string{"--min-sync-interval", "1s"}, want: "unknown flag: --min-sync-interval"},
		{cmd: config.CommandPlan, args: []string{"--leader-election-id", "x"}, want: "unknown flag: --leader-election-id"},
		{cmd: config.CommandPlan, args: []string{"--leader-elect-lease-duration", "1m"}, want: "unknown flag: --leader-elect-lease-duration"},
		{
			cmd: config.CommandPlan, args: []string{"--domain", "example.com"}, want: "unknown flag: --domain",
			run: withArgs("--domain", "example.com", "--cluster-id", "c1"),
		},
		{
			cmd: config.CommandPlan, args: []string{"--bootstrap"}, want: "unknown flag: --bootstrap",
			run: []string{"--bootstrap", "--cluster-name", "prod"},
		},
		{
			cmd: config.CommandPlan, args: []string{"--scheme", "internal"}, want: "unknown flag: --scheme",
			run: []string{"--bootstrap", "--cluster-name", "prod", "--scheme", "internal"},
		},
		{cmd: config.CommandStatus, args: []string{"--resync-period", "1m"}, want: "unknown flag: --resync-period"},
		{cmd: config.CommandStatus, args: []string{"--leader-elect"}, want: "unknown flag: --leader-elect"},
		{cmd: config.CommandStatus, args: []string{"--max-deregister-fraction", "1"}, want: "unknown flag: --max-deregister-fraction"},
		{cmd: config.CommandStatus, args: []string{"--capacity-window", "1m"}, want: "unknown flag: --capacity-window"},
		{cmd: config.CommandStatus, args: []string{"--dry-run"}, want: "unknown flag: --dry-run"},
		{
			cmd: config.CommandStatus, args: []string{"--cluster-id", "c1"}, want: "unknown flag: --cluster-id",
			run: withArgs("--domain", "example.com", "--cluster-id", "c1"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.cmd+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := config.Parse(tt.cmd, withArgs(tt.args...))
			if err == nil || err.Error() != tt.want {
				t.Errorf("Parse(%s) error = %v, want %q", tt.cmd, err, tt.want)
			}
			run := tt.run
			if run == nil {
				run = withArgs(tt.args...)
			}
			if _, err := config.Parse(config.CommandRun, run); err != nil {
				t.Errorf("Parse(run, %q) error = %v, want nil", run, err)
			}
		})
	}
}

func TestParseHelp(t *testing.T) {
	for _, cmd := range []string{config.CommandRun, config.CommandPlan, config.CommandStatus} {
		for _, arg := range []string{"--help", "-h"} {
			t.Run(cmd+" "+arg, func(t *testing.T) {
				_, err := config.Parse(cmd, []string{arg})
				if !errors.Is(err, pflag.ErrHelp) {
					t.Errorf("Parse(%s) error = %v, want pflag.ErrHelp so the caller prints usage", arg, err)
				}
			})
		}
	}
}

// TestFlagsOfEachCommand pins the flags each command has, so one cannot appear on a command
// that would ignore it.
func TestFlagsOfEachCommand(t *testing.T) {
	common := []string{
		"aws-api-throttle", "binding-name", "cluster-name", "config", "context", "deregister-cordoned",
		"health-check-path", "health-check-service", "health-check-service-port", "kubeconfig",
		"log-format", "log-level", "node-selector", "not-ready", "request-timeout", "security-group-id",
		"security-group-tag", "service", "service-port", "source", "target-group-arn", "targets",
	}
	// bootstrapOnly are the flags of `targetsync bootstrap` that run shows for --bootstrap.
	bootstrapOnly := []string{
		"deletion-protection", "deregistration-delay", "eip-allocation", "health-check-node-port",
		"listener-port", "load-balancer-name", "node-port", "region", "scheme", "subnet",
		"target-group-name", "vpc-id",
	}
	want := map[string][]string{
		config.CommandRun: slices.Concat(common, bootstrapOnly, []string{
			"bootstrap", "capacity-window", "cluster-id", "domain", "dry-run", "health-probe-bind-address",
			"ingress-class", "leader-elect", "leader-elect-lease-duration", "leader-elect-renew-deadline",
			"leader-elect-retry-period", "leader-election-id", "leader-election-namespace",
			"max-deregister-fraction", "metrics-bind-address", "min-sync-interval", "pprof-bind-address",
			"resync-period",
		}),
		config.CommandPlan:   slices.Concat(common, []string{"capacity-window", "max-deregister-fraction", "output"}),
		config.CommandStatus: slices.Concat(common, []string{"leader-election-id", "leader-election-namespace", "output"}),
	}
	for cmd, wantFlags := range want {
		t.Run(cmd, func(t *testing.T) {
			fs := pflag.NewFlagSet(cmd, pflag.ContinueOnError)
			config.Bind(cmd, fs)
			var got []string
			fs.VisitAll(func(f *pflag.Flag) {
				got = append(got, f.Name)
				if f.Usage == "" {
					t.Errorf("--%s has no usage text", f.Name)
				}
			})
			slices.Sort(got)
			slices.Sort(wantFlags)
			if diff := cmp.Diff(wantFlags, got); diff != "" {
				t.Errorf("flags of %s (-want +got):\n%s", cmd, diff)
			}
			if cmd != config.CommandRun {
				return
			}
			// run's help says which flags only mean something with --bootstrap.
			for _, name := range bootstrapOnly {
				if u := fs.Lookup(name).Usage; !strings.HasPrefix(u, "with --bootstrap: ") {
					t.Errorf("usage of --%s = %q, want it to start with \"with --bootstrap: \"", name, u)
				}
			}
		})
	}
}
