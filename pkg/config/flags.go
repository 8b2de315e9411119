package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// Flag names that make up the one binding given on the command line.
const (
	flagTargetGroupARN         = "target-group-arn"
	flagService                = "service"
	flagServicePort            = "service-port"
	flagBindingName            = "binding-name"
	flagHealthCheckService     = "health-check-service"
	flagHealthCheckServicePort = "health-check-service-port"
	flagHealthCheckPath        = "health-check-path"
	flagConfig                 = "config"
)

var bindingFlags = []string{flagTargetGroupARN, flagService, flagServicePort, flagBindingName,
	flagHealthCheckService, flagHealthCheckServicePort, flagHealthCheckPath}

// Parse reads args (without the program and subcommand name) into a validated Config.
//
// --config FILE is read first; flags given explicitly then override its settings. The one-binding
// flags (--target-group-arn, --service, ...) cannot be combined with a file, which holds its
// bindings itself. name is used in usage output.
func Parse(name string, args []string) (Config, error) {
	cfg := Default()
	file, err := configFile(args)
	if err != nil {
		return Config{}, err
	}
	if file != "" {
		if cfg, err = readFile(file, cfg); err != nil {
			return Config{}, err
		}
	}

	var b flagBinding
	fs := newFlagSet(name, &cfg, &b, file)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	changed := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { changed[f.Name] = true })
	source := SourceFlags
	if file != "" {
		source = Source(file)
		for _, f := range bindingFlags {
			if changed[f] {
				return Config{}, fmt.Errorf("--%s cannot be combined with --config: put the binding in %s", f, file)
			}
		}
	} else if slices.ContainsFunc(bindingFlags, func(f string) bool { return changed[f] }) {
		cfg.Bindings = []Binding{b.binding()}
	}
	if err := cfg.validate(source, changed); err != nil {
		return Config{}, err
	}
	if cfg.Domain != "" && cfg.IngressClass == "" {
		cfg.IngressClass = DefaultIngressClass
	}
	return cfg, nil
}

// Usage returns the flag documentation, for help output.
func Usage(name string) string {
	cfg := Default()
	return newFlagSet(name, &cfg, &flagBinding{}, "").FlagUsages()
}

// newFlagSet binds every flag to cfg (global settings, whose current values are the defaults
// shown) and b (the one binding). Errors are returned, never printed.
func newFlagSet(name string, cfg *Config, b *flagBinding, file string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	b.hcPath = DefaultHealthCheckPath
	bindFlags(fs, cfg, b)
	bindOutput(fs, name, cfg)
	fs.String(flagConfig, file, "YAML file with settings and one or more bindings; flags override its settings")
	return fs
}

type flagBinding struct {
	name, arn, service, port, hcService, hcPort, hcPath string
}

func (f flagBinding) binding() Binding {
	return Binding{
		Name:           f.name,
		TargetGroupARN: f.arn,
		Service:        f.service,
		ServicePort:    parsePort(f.port),
		HealthCheck: HealthCheck{
			Service:     f.hcService,
			ServicePort: parsePort(f.hcPort),
			Path:        f.hcPath,
		},
	}
}

// parsePort reads a port as a number when it is all digits and as a port name otherwise.
// Numbers too large for a port stay text, so validation quotes them as the user typed them.
func parsePort(s string) intstr.IntOrString {
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		return intstr.FromInt32(int32(n))
	}
	return intstr.FromString(s)
}

func bindFlags(fs *pflag.FlagSet, c *Config, b *flagBinding) {
	fs.StringVar(&c.Kubeconfig, "kubeconfig", c.Kubeconfig, "path to a kubeconfig; empty means in-cluster config, then $KUBECONFIG and ~/.kube/config")
	fs.StringVar(&c.ClusterName, "cluster-name", c.ClusterName, "name of this cluster (required): tags and rule markers carry it, and target groups or security groups tagged targetsync.io/cluster with another name are never written")

	fs.StringVar(&b.arn, flagTargetGroupARN, "", "ARN of the NLB target group (target type ip) to keep in sync")
	fs.StringVar(&b.service, flagService, "", "namespace/name of the ingress controller Service")
	fs.StringVar(&b.port, flagServicePort, "", "name or number of the Service port whose NodePort receives traffic")
	fs.StringVar(&b.name, flagBindingName, "", "name of the binding in logs (default: the Service port)")
	fs.StringVar(&b.hcService, flagHealthCheckService, "", "namespace/name of a separate Service whose NodePort serves the health check (default: the Service's healthCheckNodePort when externalTrafficPolicy is Local)")
	fs.StringVar(&b.hcPort, flagHealthCheckServicePort, "", "name or number of the port of --health-check-service")
	fs.StringVar(&b.hcPath, flagHealthCheckPath, b.hcPath, "HTTP path of the target group health check")

	fs.StringVar(&c.NodeSelector, "node-selector", c.NodeSelector, "label selector for nodes that become targets")
	fs.BoolVar(&c.DeregisterCordoned, "deregister-cordoned", c.DeregisterCordoned, "deregister cordoned (unschedulable) nodes so connections drain before termination")
	fs.StringVar(&c.NotReady, "not-ready", c.NotReady, "what to do with NotReady nodes: keep (the NLB health check decides) or remove")
	fs.Float64Var(&c.MaxDeregisterFraction, "max-deregister-fraction", c.MaxDeregisterFraction, "healthy-capacity guard: deregistering targets of nodes that still exist never takes the healthy targets below (1 - this) x the most seen healthy within --capacity-window; 1 turns the guard off")
	fs.DurationVar(&c.CapacityWindow.Duration, "capacity-window", c.CapacityWindow.Duration, "how long the healthy-capacity guard remembers the highest healthy count")
	fs.DurationVar(&c.ResyncPeriod.Duration, "resync-period", c.ResyncPeriod.Duration, "how often to compare with AWS even when nothing changed in the cluster")
	fs.DurationVar(&c.MinSyncInterval.Duration, "min-sync-interval", c.MinSyncInterval.Duration, "after a sync that changed a target group, wait this long before the next one, merging the changes that arrive meanwhile; a lone change after a quiet period syncs at once")
	fs.BoolVar(&c.DryRun, "dry-run", c.DryRun, "log each plan and change nothing")

	fs.StringSliceVar(&c.SecurityGroupIDs, "security-group-id", c.SecurityGroupIDs, "worker security group whose ingress rules are kept open on the NodePorts (repeatable)")
	fs.StringVar(&c.SecurityGroupTag, "security-group-tag", c.SecurityGroupTag, "select worker security groups by tag, key=value")
	fs.StringSliceVar(&c.Sources, "source", c.Sources, "where load balancer traffic comes from: vpc-cidr, nlb-private-ips or cidr:<a.b.c.d/n> (repeatable)")

	fs.StringVar(&c.Domain, flagDomain, c.Domain, "publish Services annotated targetsync.io/expose-prefix as Ingresses for host PREFIX.CLUSTER_ID.DOMAIN (default: off, and Ingresses are not watched)")
	fs.StringVar(&c.ClusterID, flagClusterID, c.ClusterID, "ID of this cluster, the second label of published hosts (required with --domain)")
	fs.StringVar(&c.IngressClass, flagIngressClass, c.IngressClass, "IngressClass of published Ingresses, with --domain (default nginx)")

	fs.BoolVar(&c.LeaderElect, "leader-elect", c.LeaderElect, "take a coordination.k8s.io Lease before changing anything, so several replicas are safe")
	fs.StringVar(&c.LeaderElectionNamespace, "leader-election-namespace", c.LeaderElectionNamespace, "namespace of the Lease (default: the pod's namespace, else default)")
	fs.StringVar(&c.LeaderElectionID, "leader-election-id", c.LeaderElectionID, "name of the Lease")

	fs.StringVar(&c.MetricsBindAddress, "metrics-bind-address", c.MetricsBindAddress, "address of the Prometheus /metrics endpoint; 0 turns it off")
	fs.StringVar(&c.HealthProbeBindAddress, "health-probe-bind-address", c.HealthProbeBindAddress, "address of /healthz and /readyz; 0 turns it off")
	fs.StringVar(&c.PprofBindAddress, "pprof-bind-address", c.PprofBindAddress, "address of Go's profiles under /debug/pprof/; 0 turns them off")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "json or console")
	fs.DurationVar(&c.RequestTimeout.Duration, "request-timeout", c.RequestTimeout.Duration, "timeout of each request to the API server, and of reaching it at start-up")
}

// configFile finds --config in args without parsing the rest.
func configFile(args []string) (string, error) {
	fs := pflag.NewFlagSet("config", pflag.ContinueOnError)
	fs.ParseErrorsAllowlist.UnknownFlags = true
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	file := fs.String(flagConfig, "", "")
	if err := fs.Parse(args); err != nil && !errors.Is(err, pflag.ErrHelp) {
		return "", err
	}
	return *file, nil
}

func readFile(path string, base Config) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read --config: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return Config{}, fmt.Errorf("%s: file is empty", path)
	}
	cfg := base
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("%s: %s", path, cleanYAMLError(err))
	}
	for i := range cfg.Bindings {
		b := &cfg.Bindings[i]
		if b.HealthCheck.Path == "" {
			b.HealthCheck.Path = DefaultHealthCheckPath
		}
		// A quoted number ("443") means the port number, as it does on the command line.
		b.ServicePort = parsePort(b.ServicePort.String())
		if hc := b.HealthCheck.ServicePort.String(); hc != "" && hc != "0" {
			b.HealthCheck.ServicePort = parsePort(hc)
		}
	}
	return cfg, nil
}

// cleanYAMLError strips the decoder's layers ("error converting YAML to JSON: ...") so the
// message says what is wrong and where, once.
func cleanYAMLError(err error) string {
	msg := err.Error()
	for _, p := range []string{"error converting YAML to JSON: ", "error unmarshaling JSON: ", "while decoding JSON: ", "json: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return msg
}
