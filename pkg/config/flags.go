package config

import (
	"fmt"
	"io"
	"slices"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/intstr"
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
	flagOutput                 = "output"
	flagBootstrap              = "bootstrap"
)

var bindingFlags = []string{flagTargetGroupARN, flagService, flagServicePort, flagBindingName,
	flagHealthCheckService, flagHealthCheckServicePort, flagHealthCheckPath}

// Commands whose flags this package binds.
const (
	CommandRun    = "run"
	CommandPlan   = "plan"
	CommandStatus = "status"
)

// Flags are the flags of run, plan or status, bound to a flag set. After the set is parsed,
// Config reads the file they name and returns the checked configuration.
type Flags struct {
	cmd  string
	fs   *pflag.FlagSet
	s    settings
	b    bindingSettings
	file string
	out  string
	// boot and bootFS are run's --bootstrap: bootstrap's own flags, of which run shows those
	// it does not have itself.
	bootstrap bool
	bootFS    *pflag.FlagSet
	boot      *bootstrapFlags
	bootCfg   *BootstrapConfig
	bootOnly  map[string]bool
}

// Bind adds the flags of cmd (CommandRun, CommandPlan or CommandStatus) to fs: each command
// gets only the flags that mean something to it.
func Bind(cmd string, fs *pflag.FlagSet) *Flags {
	f := &Flags{cmd: cmd, fs: fs, s: defaults()}
	f.b.HealthCheckPath = DefaultHealthCheckPath
	// Ports start empty, not 0, so a port left out is reported as required.
	f.b.ServicePort, f.b.HealthCheckServicePort = intstr.FromString(""), intstr.FromString("")
	s, b := &f.s, &f.b
	run, plan, status := cmd == CommandRun, cmd == CommandPlan, cmd == CommandStatus

	fs.StringVar(&f.file, flagConfig, "", "YAML file (apiVersion: "+APIVersion+", kind: "+Kind+") with settings and one or more bindings; its keys are the flag names in lowerCamelCase, and flags given override them")
	fs.StringVar(&s.ClusterName, "cluster-name", "", "name of this cluster (required): tags and rule markers carry it, and target groups or security groups tagged targetsync.io/cluster with another name are never written")
	fs.StringVar(&s.Kubeconfig, "kubeconfig", "", "path to the kubeconfig file; empty means in-cluster config, then $KUBECONFIG and ~/.kube/config")
	fs.StringVar(&s.Context, "context", "", "the kubeconfig context to use (default: its current context)")
	fs.DurationVar(&s.RequestTimeout.Duration, "request-timeout", s.RequestTimeout.Duration, "timeout of each request to the API server, and of reaching it at start-up")

	fs.StringVar(&b.TargetGroupARN, flagTargetGroupARN, "", "ARN of the NLB target group (target type ip) to keep in sync")
	fs.StringVar(&b.Service, flagService, "", "namespace/name of the ingress controller Service")
	fs.Var(portValue{&b.ServicePort}, flagServicePort, "name or number of the Service port whose NodePort receives traffic")
	fs.StringVar(&b.BindingName, flagBindingName, "", "name of the binding in logs (default: the Service port)")
	fs.StringVar(&b.HealthCheckService, flagHealthCheckService, "", "namespace/name of a separate Service whose NodePort serves the health check (default: the Service's healthCheckNodePort when externalTrafficPolicy is Local)")
	fs.Var(portValue{&b.HealthCheckServicePort}, flagHealthCheckServicePort, "name or number of the port of --health-check-service")
	fs.StringVar(&b.HealthCheckPath, flagHealthCheckPath, b.HealthCheckPath, "HTTP path of the target group health check")

	fs.StringVar(&s.NodeSelector, "node-selector", s.NodeSelector, "label selector for nodes that become targets")
	fs.BoolVar(&s.DeregisterCordoned, "deregister-cordoned", s.DeregisterCordoned, "deregister cordoned (unschedulable) nodes so connections drain before termination")
	fs.StringVar(&s.NotReady, "not-ready", s.NotReady, "what to do with NotReady nodes: keep (the NLB health check decides) or remove")
	fs.StringVar(&s.Targets, "targets", s.Targets, "which nodes are targets: all, or ingress-nodes (only nodes running a ready endpoint of the Service; for clusters beyond the target group quota)")
	if run || plan {
		fs.Float64Var(&s.MaxDeregisterFraction, "max-deregister-fraction", s.MaxDeregisterFraction, "healthy-capacity guard: deregistering targets of nodes that still exist never takes the healthy targets below (1 - this) x the most seen healthy within --capacity-window; 1 turns the guard off")
		fs.DurationVar(&s.CapacityWindow.Duration, "capacity-window", s.CapacityWindow.Duration, "how long the healthy-capacity guard remembers the highest healthy count")
	}
	if run {
		fs.DurationVar(&s.ResyncPeriod.Duration, "resync-period", s.ResyncPeriod.Duration, "how often to compare with AWS even when nothing changed in the cluster")
		fs.DurationVar(&s.MinSyncInterval.Duration, "min-sync-interval", s.MinSyncInterval.Duration, "after a sync that changed a target group, wait this long before the next one, merging the changes that arrive meanwhile; a lone change after a quiet period syncs at once")
		fs.BoolVar(&s.DryRun, "dry-run", false, "log each plan and change nothing")
	}

	fs.StringSliceVar(&s.SecurityGroupID, "security-group-id", nil, "worker security group whose ingress rules are kept open on the NodePorts (repeatable)")
	fs.StringVar(&s.SecurityGroupTag, "security-group-tag", "", "select worker security groups by tag, key=value")
	fs.StringSliceVar(&s.Source, "source", s.Source, "where load balancer traffic comes from: vpc-cidr, nlb-private-ips or cidr:<a.b.c.d/n> (repeatable)")
	fs.StringSliceVar(&s.AWSAPIThrottle, "aws-api-throttle", nil, "client-side AWS rate limits, SERVICE:OPERATION_REGEX=QPS:BURST, comma-separated, e.g. 'Elastic Load Balancing v2:RegisterTargets|DeregisterTargets=4:20'; they come before the built-in limits, first match wins")

	if run {
		fs.StringVar(&s.Domain, flagDomain, "", "publish Services annotated targetsync.io/expose-prefix as Ingresses for host PREFIX.CLUSTER_ID.DOMAIN (default: off, and Ingresses are not watched)")
		fs.StringVar(&s.ClusterID, flagClusterID, "", "ID of this cluster, the second label of published hosts (required with --domain)")
		fs.StringVar(&s.IngressClass, flagIngressClass, "", "IngressClass of published Ingresses, with --domain (default nginx)")
		fs.BoolVar(&s.LeaderElect, "leader-elect", false, "take a coordination.k8s.io Lease before changing anything, so several replicas are safe")
		fs.DurationVar(&s.LeaderElectLeaseDuration.Duration, "leader-elect-lease-duration", s.LeaderElectLeaseDuration.Duration, "how long a standby waits after the last renewal before taking the Lease")
		fs.DurationVar(&s.LeaderElectRenewDeadline.Duration, "leader-elect-renew-deadline", s.LeaderElectRenewDeadline.Duration, "how long the leader keeps trying to renew before it stops leading; less than the lease duration")
		fs.DurationVar(&s.LeaderElectRetryPeriod.Duration, "leader-elect-retry-period", s.LeaderElectRetryPeriod.Duration, "how often to try to take or renew the Lease")
	}
	if run || status {
		fs.StringVar(&s.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the Lease (default: the pod's namespace, else default)")
		fs.StringVar(&s.LeaderElectionID, "leader-election-id", s.LeaderElectionID, "name of the Lease")
	}
	if run {
		fs.StringVar(&s.MetricsBindAddress, "metrics-bind-address", s.MetricsBindAddress, "address of the Prometheus /metrics endpoint; 0 turns it off")
		fs.StringVar(&s.HealthProbeBindAddress, "health-probe-bind-address", s.HealthProbeBindAddress, "address of /healthz and /readyz; 0 turns it off")
		fs.StringVar(&s.PprofBindAddress, "pprof-bind-address", s.PprofBindAddress, "address of the Go profiler's /debug/pprof/; 0 (the default) turns it off")
	}
	fs.StringVar(&s.LogLevel, "log-level", s.LogLevel, "debug, info, warn or error")
	fs.StringVar(&s.LogFormat, "log-format", s.LogFormat, "json or console")
	if plan || status {
		f.out = OutputTable
		fs.VarP(&outputValue{&f.out}, flagOutput, "o", "output format: table, json or yaml")
	}
	if run {
		f.bindBootstrap()
	}
	return f
}

// bindBootstrap adds --bootstrap and the flags of `targetsync bootstrap` that run does not have
// itself; the flags both have keep run's meaning and are handed to bootstrap when given.
func (f *Flags) bindBootstrap() {
	f.fs.BoolVar(&f.bootstrap, flagBootstrap, false, "first build or complete the load balancer, target group, listener and health-check Service as `targetsync bootstrap` does, then keep that target group in sync; the binding comes from the one-binding flags and bootstrap's defaults")
	f.boot, f.bootCfg = &bootstrapFlags{}, &BootstrapConfig{}
	f.bootFS = newBootstrapFlagSet(f.bootCfg, f.boot)
	f.bootOnly = map[string]bool{}
	f.bootFS.VisitAll(func(fl *pflag.Flag) {
		if f.fs.Lookup(fl.Name) != nil || fl.Name == "write-config" {
			return
		}
		f.bootOnly[fl.Name] = true
		shown := *fl
		shown.Usage = "with --bootstrap: " + fl.Usage
		f.fs.AddFlag(&shown)
	})
}

// Config reads the --config file, if any, lays the flags given over it, and checks the result.
func (f *Flags) Config() (Config, error) {
	changed := map[string]bool{}
	f.fs.Visit(func(fl *pflag.Flag) { changed[fl.Name] = true })

	s := defaults()
	src := SourceFlags
	if f.file != "" {
		if f.bootstrap {
			return Config{}, fmt.Errorf("--%s cannot be combined with --%s: the binding comes from the one-binding flags", flagConfig, flagBootstrap)
		}
		var err error
		if s, err = readFile(f.file, s); err != nil {
			return Config{}, err
		}
		src = Source(f.file)
		for _, name := range bindingFlags {
			if changed[name] {
				return Config{}, fmt.Errorf("--%s cannot be combined with --%s: put the binding in %s", name, flagConfig, f.file)
			}
		}
	}
	for name := range changed {
		if !slices.Contains(bindingFlags, name) {
			copyField(&s, &f.s, jsonName(name))
		}
	}
	// With --bootstrap the one-binding flags describe what bootstrap builds; the binding is
	// added once it has (AddBootstrapBinding).
	if !f.bootstrap && slices.ContainsFunc(bindingFlags, func(n string) bool { return changed[n] }) {
		s.Bindings = []bindingSettings{f.b}
	}

	var boot *BootstrapConfig
	if f.bootFS != nil {
		var err error
		if boot, err = f.bootstrapConfig(changed); err != nil {
			return Config{}, err
		}
	}
	cfg, err := s.config(namer{src: src, index: -1, flags: changed}, boot != nil)
	if err != nil {
		return Config{}, err
	}
	cfg.Output, cfg.Bootstrap = f.out, boot
	return cfg, nil
}

// bootstrapConfig is run's --bootstrap: nil without it, and an error when a flag of bootstrap's
// is given without it.
func (f *Flags) bootstrapConfig(changed map[string]bool) (*BootstrapConfig, error) {
	var err error
	f.bootFS.VisitAll(func(fl *pflag.Flag) {
		own := f.bootOnly[fl.Name]
		switch {
		case err != nil || !changed[fl.Name]:
		case !f.bootstrap && own:
			err = fmt.Errorf("--%s is only used with --%s", fl.Name, flagBootstrap)
		case f.bootstrap && !own:
			err = setLike(f.bootFS, fl.Name, f.fs.Lookup(fl.Name).Value)
		}
	})
	if err != nil || !f.bootstrap {
		return nil, err
	}
	if changed[flagTargetGroupARN] {
		return nil, fmt.Errorf("--%s cannot be combined with --%s, which finds or creates the target group", flagTargetGroupARN, flagBootstrap)
	}
	bootChanged := map[string]bool{}
	f.bootFS.Visit(func(fl *pflag.Flag) { bootChanged[fl.Name] = true })
	for name := range changed {
		bootChanged[name] = bootChanged[name] || f.bootFS.Lookup(name) != nil
	}
	c := *f.bootCfg
	if err := c.fill(*f.boot, bootChanged); err != nil {
		return nil, err
	}
	return &c, nil
}

// setLike sets flag name of fs to the value v holds, lists included.
func setLike(fs *pflag.FlagSet, name string, v pflag.Value) error {
	if sv, ok := v.(pflag.SliceValue); ok {
		if dst, ok := fs.Lookup(name).Value.(pflag.SliceValue); ok {
			return dst.Replace(sv.GetSlice())
		}
	}
	return fs.Set(name, v.String())
}

// Parse reads the flags of cmd (CommandRun, CommandPlan or CommandStatus) from args, without
// the program and command names, as the command line does.
func Parse(cmd string, args []string) (Config, error) {
	fs := newFlagSet(cmd)
	f := Bind(cmd, fs)
	if err := parseAll(fs, args); err != nil {
		return Config{}, err
	}
	return f.Config()
}

// ParseBootstrap reads the flags of `targetsync bootstrap` from args.
func ParseBootstrap(args []string) (BootstrapConfig, error) {
	fs := newFlagSet("bootstrap")
	get := BindBootstrap(fs)
	if err := parseAll(fs, args); err != nil {
		return BootstrapConfig{}, err
	}
	return get()
}

// ParseExpose reads the flags of `targetsync expose` from args.
func ParseExpose(args []string) (ExposeConfig, error) {
	fs := newFlagSet("expose")
	get := BindExpose(fs)
	if err := parseAll(fs, args); err != nil {
		return ExposeConfig{}, err
	}
	return get()
}

func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

func parseAll(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
