package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/targetsync/targetsync/pkg/bootstrap"
	"github.com/targetsync/targetsync/pkg/sg"
)

// Load balancer schemes, as the ELB API spells them.
const (
	SchemeInternetFacing = bootstrap.SchemeInternetFacing
	SchemeInternal       = bootstrap.SchemeInternal
)

// Bootstrap defaults: the values of the hand-built setup targetsync maintains.
const (
	DefaultBootstrapService       = "ingress-nginx/ingress-nginx-controller"
	DefaultBootstrapServicePort   = "http"
	DefaultHealthCheckService     = "ingress-nginx/ingress-nginx-healthcheck"
	DefaultHealthCheckServicePort = "healthz"
	DefaultNodePort               = 30080
	DefaultHealthCheckNodePort    = 30200
	DefaultListenerPort           = 80
	DefaultDeregistrationDelay    = 5 * time.Second
)

const (
	maxDeregistrationDelay        = time.Hour
	maxELBNameLen                 = 32
	defaultLoadBalancerNameSuffix = "-ingress"
	defaultTargetGroupNameSuffix  = "-http"
	flagLoadBalancerName          = "load-balancer-name"
	flagTargetGroupName           = "target-group-name"
	flagEIPAllocation             = "eip-allocation"
)

// BootstrapConfig is what `targetsync bootstrap` needs, parsed into typed values: nothing
// downstream parses a string again. Spec is what pkg/bootstrap builds; the rest is how the
// command reaches the cluster and AWS and what it prints.
type BootstrapConfig struct {
	bootstrap.Spec
	Kube Kube
	// Region overrides the environment's AWS region; empty means the SDK's default chain.
	Region      string
	DryRun      bool
	WriteConfig string
}

// bootstrapFlags holds the flag values as typed, before they are checked and converted.
type bootstrapFlags struct {
	service, servicePort, hcService, sgTag string
	nodePort, hcNodePort, listenerPort     int
	subnets, eips, sgIDs, sources          []string
}

// BindBootstrap adds the flags of `targetsync bootstrap` to fs. After fs is parsed, the
// function returned checks them and returns the typed configuration, or one error naming the
// flag that is wrong.
func BindBootstrap(fs *pflag.FlagSet) func() (BootstrapConfig, error) {
	c, f := &BootstrapConfig{}, &bootstrapFlags{}
	bindBootstrap(fs, c, f)
	return func() (BootstrapConfig, error) {
		changed := map[string]bool{}
		fs.Visit(func(fl *pflag.Flag) { changed[fl.Name] = true })
		out := *c
		if err := out.fill(*f, changed); err != nil {
			return BootstrapConfig{}, err
		}
		return out, nil
	}
}

// newBootstrapFlagSet is bootstrap's flags on a set of their own.
func newBootstrapFlagSet(c *BootstrapConfig, f *bootstrapFlags) *pflag.FlagSet {
	fs := pflag.NewFlagSet("bootstrap", pflag.ContinueOnError)
	fs.SortFlags = false
	bindBootstrap(fs, c, f)
	return fs
}

func bindBootstrap(fs *pflag.FlagSet, c *BootstrapConfig, f *bootstrapFlags) {
	c.Kube.RequestTimeout = DefaultRequestTimeout
	fs.StringVar(&c.Kube.Kubeconfig, "kubeconfig", "", "path to the kubeconfig file; empty means in-cluster config, then $KUBECONFIG and ~/.kube/config")
	fs.StringVar(&c.Kube.Context, "context", "", "the kubeconfig context to use (default: its current context)")
	fs.StringVar(&c.Cluster, "cluster-name", "", "name of this cluster (required): every resource is tagged and found again with it")
	fs.StringVar(&c.Region, "region", "", "AWS region (default: AWS_REGION or the shared config)")

	fs.StringVar(&f.service, flagService, DefaultBootstrapService, "namespace/name of the ingress controller Service; when it exists, the NodePort of --service-port wins over --node-port")
	fs.StringVar(&f.servicePort, flagServicePort, DefaultBootstrapServicePort, "name or number of the Service port whose NodePort receives traffic")
	fs.StringVar(&c.Binding, flagBindingName, "", "name of the binding in tags and the config file (default: the Service port)")
	fs.StringVar(&f.hcService, flagHealthCheckService, DefaultHealthCheckService, "namespace/name of the health-check NodePort Service, created when missing")
	fs.StringVar(&c.HealthCheckServicePort, flagHealthCheckServicePort, DefaultHealthCheckServicePort, "name of the health-check Service's port")
	fs.IntVar(&f.nodePort, "node-port", DefaultNodePort, "traffic NodePort, used while the ingress controller Service does not exist")
	fs.IntVar(&f.hcNodePort, "health-check-node-port", DefaultHealthCheckNodePort, "NodePort of the health-check Service (its NodePort wins when it exists)")
	fs.StringVar(&c.HealthCheckPath, flagHealthCheckPath, DefaultHealthCheckPath, "HTTP path of the target group health check")

	fs.StringVar(&c.LoadBalancerName, flagLoadBalancerName, "", "name of the network load balancer (default <cluster-name>-ingress)")
	fs.StringVar(&c.Scheme, "scheme", SchemeInternetFacing, "load balancer scheme: internet-facing or internal")
	fs.BoolVar(&c.DeletionProtection, "deletion-protection", true, "turn on the load balancer's deletion protection")
	fs.IntVar(&f.listenerPort, "listener-port", DefaultListenerPort, "TCP port of the listener")
	fs.StringVar(&c.TargetGroupName, flagTargetGroupName, "", "name of the target group (default <cluster-name>-http)")
	fs.DurationVar(&c.DeregistrationDelay, "deregistration-delay", DefaultDeregistrationDelay, "the target group's deregistration delay, whole seconds up to 1h")
	fs.StringVar(&c.VPCID, "vpc-id", "", "VPC of the target group (default: the subnets' VPC)")
	fs.StringSliceVar(&f.subnets, "subnet", nil, "subnet of the load balancer (repeatable; default: the subnets tagged kubernetes.io/role/elb=1, or internal-elb=1, and kubernetes.io/cluster/<cluster-name>)")
	fs.StringArrayVar(&f.eips, flagEIPAllocation, nil, "SUBNET=ALLOCATION: the Elastic IP the internet-facing load balancer uses in SUBNET (repeatable)")

	fs.StringSliceVar(&f.sgIDs, "security-group-id", nil, "worker security group to open on the NodePorts (repeatable; rules are only added)")
	fs.StringVar(&f.sgTag, "security-group-tag", "", "select worker security groups by tag, key=value")
	fs.StringSliceVar(&f.sources, "source", []string{DefaultSource}, "where load balancer traffic comes from: vpc-cidr, nlb-private-ips or cidr:<a.b.c.d/n> (repeatable)")

	fs.BoolVar(&c.DryRun, "dry-run", false, "print what would be created and create nothing")
	fs.StringVar(&c.WriteConfig, "write-config", "", "write the settings run needs to `FILE` (read by targetsync run --config FILE) instead of printing the run command; an existing file is never overwritten")
}

var (
	// elbNameRE is what AWS accepts as a load balancer or target group name: alphanumerics and
	// hyphens, not starting or ending with a hyphen.
	elbNameRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$`)
	idRE      = map[string]*regexp.Regexp{
		"subnet":   regexp.MustCompile(`^subnet-[0-9a-f]+$`),
		"vpc":      regexp.MustCompile(`^vpc-[0-9a-f]+$`),
		"eipalloc": regexp.MustCompile(`^eipalloc-[0-9a-f]+$`),
	}
)

// fill checks f and copies it into c, with the first problem as one error naming its flag.
func (c *BootstrapConfig) fill(f bootstrapFlags, changed map[string]bool) error {
	bad := func(flag, value, msg string) error { return &FieldError{"--" + flag, value, msg} }

	if c.Cluster == "" {
		return bad("cluster-name", "", "required: the name of this cluster, written into every tag targetsync owns")
	}
	if len(validation.IsDNS1123Label(c.Cluster)) > 0 {
		return bad("cluster-name", c.Cluster, "want a DNS label: lower-case letters, digits and '-'")
	}
	var err error
	if c.Service, err = parseServiceName(f.service); err != nil {
		return bad(flagService, f.service, err.Error())
	}
	c.ServicePort = parsePort(f.servicePort)
	if err := validatePort(c.ServicePort); err != nil {
		return bad(flagServicePort, f.servicePort, err.Error())
	}
	if c.Binding == "" {
		c.Binding = c.ServicePort.String()
	}
	if len(validation.IsDNS1123Label(c.Binding)) > 0 {
		return bad(flagBindingName, c.Binding, "want a DNS label: lower-case letters, digits and '-'")
	}
	if c.HealthCheckService, err = parseServiceName(f.hcService); err != nil {
		return bad(flagHealthCheckService, f.hcService, err.Error())
	}
	if c.HealthCheckService == c.Service {
		return bad(flagHealthCheckService, f.hcService, "must differ from --service: bootstrap creates it, and never touches the ingress controller's Service")
	}
	if errs := validation.IsValidPortName(c.HealthCheckServicePort); len(errs) > 0 {
		return bad(flagHealthCheckServicePort, c.HealthCheckServicePort, "want a port name: lower-case letters, digits and '-', at most 15")
	}
	for _, p := range []struct {
		flag string
		v    int
		dst  *int32
	}{{"node-port", f.nodePort, &c.NodePort}, {"health-check-node-port", f.hcNodePort, &c.HealthCheckNodePort}, {"listener-port", f.listenerPort, &c.ListenerPort}} {
		if p.v < 1 || p.v > 65535 {
			return bad(p.flag, strconv.Itoa(p.v), "port number out of range 1-65535")
		}
		*p.dst = int32(p.v)
	}
	if c.NodePort == c.HealthCheckNodePort {
		return bad("health-check-node-port", strconv.Itoa(f.hcNodePort), "must differ from --node-port")
	}
	if !strings.HasPrefix(c.HealthCheckPath, "/") || len(c.HealthCheckPath) > 1024 {
		return bad(flagHealthCheckPath, c.HealthCheckPath, "want an absolute HTTP path such as /healthz")
	}
	if d := c.DeregistrationDelay; d < 0 || d > maxDeregistrationDelay || d%time.Second != 0 {
		return bad("deregistration-delay", d.String(), "want whole seconds from 0s to 1h0m0s")
	}
	if c.Scheme != SchemeInternetFacing && c.Scheme != SchemeInternal {
		return bad("scheme", c.Scheme, "want internet-facing or internal")
	}
	if err := c.fillNames(); err != nil {
		return err
	}
	if c.VPCID != "" && !idRE["vpc"].MatchString(c.VPCID) {
		return bad("vpc-id", c.VPCID, "want a VPC ID such as vpc-0123456789abcdef0")
	}
	if err := c.fillSubnets(f); err != nil {
		return err
	}
	return c.fillSecurityGroups(f, changed)
}

// fillNames sets the default names and checks them against AWS's rules.
func (c *BootstrapConfig) fillNames() error {
	for _, n := range []struct {
		flag, suffix string
		dst          *string
	}{{flagLoadBalancerName, defaultLoadBalancerNameSuffix, &c.LoadBalancerName}, {flagTargetGroupName, defaultTargetGroupNameSuffix, &c.TargetGroupName}} {
		explicit := *n.dst != ""
		if !explicit {
			*n.dst = c.Cluster + n.suffix
		}
		msg := ""
		switch {
		case len(*n.dst) > maxELBNameLen:
			msg = fmt.Sprintf("longer than %d characters", maxELBNameLen)
		case !elbNameRE.MatchString(*n.dst):
			msg = "want letters, digits and '-', not starting or ending with '-'"
		case strings.HasPrefix(*n.dst, "internal-"):
			msg = "must not start with internal-"
		}
		if msg == "" {
			continue
		}
		if !explicit {
			msg = fmt.Sprintf("the default <cluster-name>%s is %s; set --%s", n.suffix, msg, n.flag)
		}
		return &FieldError{"--" + n.flag, *n.dst, msg}
	}
	return nil
}

// fillSubnets reads --subnet and --eip-allocation; the subnets of the allocations join the list.
func (c *BootstrapConfig) fillSubnets(f bootstrapFlags) error {
	for _, s := range f.subnets {
		if !idRE["subnet"].MatchString(s) {
			return &FieldError{"--subnet", s, "want a subnet ID such as subnet-0123456789abcdef0"}
		}
	}
	subnets := slices.Clone(f.subnets)
	for _, e := range f.eips {
		subnet, alloc, ok := strings.Cut(e, "=")
		if !ok || !idRE["subnet"].MatchString(subnet) || !idRE["eipalloc"].MatchString(alloc) {
			return &FieldError{"--" + flagEIPAllocation, e, "want SUBNET=ALLOCATION such as subnet-0123456789abcdef0=eipalloc-0123456789abcdef0"}
		}
		if c.Scheme != SchemeInternetFacing {
			return &FieldError{"--" + flagEIPAllocation, e, "Elastic IPs need --scheme internet-facing"}
		}
		if c.EIPAllocations == nil {
			c.EIPAllocations = map[string]string{}
		}
		if prev, dup := c.EIPAllocations[subnet]; dup && prev != alloc {
			return &FieldError{"--" + flagEIPAllocation, e, "a second allocation for the same subnet"}
		}
		c.EIPAllocations[subnet] = alloc
		subnets = append(subnets, subnet)
	}
	slices.Sort(subnets)
	c.Subnets = slices.Compact(subnets)
	return nil
}

func (c *BootstrapConfig) fillSecurityGroups(f bootstrapFlags, changed map[string]bool) error {
	for _, id := range f.sgIDs {
		if !strings.HasPrefix(id, "sg-") || len(id) < 4 {
			return &FieldError{"--security-group-id", id, "want a security group ID such as sg-0123456789abcdef0"}
		}
	}
	c.SecurityGroups.IDs = f.sgIDs
	if f.sgTag != "" {
		k, v, ok := strings.Cut(f.sgTag, "=")
		if !ok || k == "" {
			return &FieldError{"--security-group-tag", f.sgTag, "want key=value"}
		}
		c.SecurityGroups.TagKey, c.SecurityGroups.TagValue = k, v
	}
	if changed["source"] && !c.ManagesSecurityGroups() {
		return &FieldError{"--source", strings.Join(f.sources, ","), "only used with --security-group-id or --security-group-tag"}
	}
	if len(f.sources) == 0 && c.ManagesSecurityGroups() {
		return &FieldError{"--source", "", "at least one source is needed to open security groups"}
	}
	for _, s := range f.sources {
		src, err := sg.ParseSource(s)
		if err != nil {
			return &FieldError{"--source", s, "want vpc-cidr, nlb-private-ips or cidr:<a.b.c.d/n>"}
		}
		c.Sources = append(c.Sources, src)
	}
	return nil
}

// bindingSettings is the binding `targetsync run` keeps in sync for what bootstrap built.
func (c BootstrapConfig) bindingSettings(targetGroupARN string) bindingSettings {
	name := c.Binding
	if name == c.ServicePort.String() {
		name = "" // the default, which run derives the same way
	}
	return bindingSettings{
		BindingName:            name,
		TargetGroupARN:         targetGroupARN,
		Service:                c.Service.String(),
		ServicePort:            c.ServicePort,
		HealthCheckService:     c.HealthCheckService.String(),
		HealthCheckServicePort: intstr.FromString(c.HealthCheckServicePort),
		HealthCheckPath:        c.HealthCheckPath,
	}
}

// AddBootstrapBinding makes the target group `run --bootstrap` found or created the binding.
func (c *Config) AddBootstrapBinding(targetGroupARN string) error {
	if c.Bootstrap == nil {
		return fmt.Errorf("not bootstrapping")
	}
	b, err := c.Bootstrap.bindingSettings(targetGroupARN).binding(namer{index: -1}, c.nodeSelector, c.notReady)
	if err != nil {
		return err
	}
	c.Bindings = append(c.Bindings, b)
	return nil
}

// RunArgs renders the flags of `targetsync run` that keep what bootstrap built in sync, in the
// order people read them. Settings left at their defaults are left out.
func (c BootstrapConfig) RunArgs(targetGroupARN string) []string {
	b := c.bindingSettings(targetGroupARN)
	args := []string{"--cluster-name", c.Cluster,
		"--" + flagTargetGroupARN, b.TargetGroupARN, "--" + flagService, b.Service, "--" + flagServicePort, b.ServicePort.String()}
	if b.BindingName != "" {
		args = append(args, "--"+flagBindingName, b.BindingName)
	}
	args = append(args, "--"+flagHealthCheckService, b.HealthCheckService, "--"+flagHealthCheckServicePort, b.HealthCheckServicePort.String())
	if b.HealthCheckPath != DefaultHealthCheckPath {
		args = append(args, "--"+flagHealthCheckPath, b.HealthCheckPath)
	}
	for _, id := range c.SecurityGroups.IDs {
		args = append(args, "--security-group-id", id)
	}
	if c.SecurityGroups.TagKey != "" {
		args = append(args, "--security-group-tag", c.SecurityGroups.TagKey+"="+c.SecurityGroups.TagValue)
	}
	if sources := c.sources(); c.ManagesSecurityGroups() && !slices.Equal(sources, []string{DefaultSource}) {
		for _, s := range sources {
			args = append(args, "--source", s)
		}
	}
	return args
}

func (c BootstrapConfig) sources() []string {
	var out []string
	for _, s := range c.Sources {
		out = append(out, s.String())
	}
	return out
}

// runFile is the part of the file format a bootstrapped setup needs, so the file holds only
// what differs from the defaults.
type runFile struct {
	APIVersion       string        `json:"apiVersion"`
	Kind             string        `json:"kind"`
	ClusterName      string        `json:"clusterName"`
	SecurityGroupID  []string      `json:"securityGroupId,omitempty"`
	SecurityGroupTag string        `json:"securityGroupTag,omitempty"`
	Source           []string      `json:"source,omitempty"`
	Bindings         []fileBinding `json:"bindings"`
}

type fileBinding struct {
	BindingName            string             `json:"bindingName,omitempty"`
	TargetGroupARN         string             `json:"targetGroupArn"`
	Service                string             `json:"service"`
	ServicePort            intstr.IntOrString `json:"servicePort"`
	HealthCheckService     string             `json:"healthCheckService,omitempty"`
	HealthCheckServicePort intstr.IntOrString `json:"healthCheckServicePort,omitempty"`
	HealthCheckPath        string             `json:"healthCheckPath,omitempty"`
}

// RunFile renders the cluster name, security-group settings and binding of what bootstrap
// built in the format --config reads; every other setting keeps its default.
func (c BootstrapConfig) RunFile(targetGroupARN string) ([]byte, error) {
	b := c.bindingSettings(targetGroupARN)
	f := runFile{APIVersion: APIVersion, Kind: Kind, ClusterName: c.Cluster, Bindings: []fileBinding{{
		BindingName: b.BindingName, TargetGroupARN: b.TargetGroupARN, Service: b.Service, ServicePort: b.ServicePort,
		HealthCheckService: b.HealthCheckService, HealthCheckServicePort: b.HealthCheckServicePort, HealthCheckPath: b.HealthCheckPath,
	}}}
	if c.ManagesSecurityGroups() {
		f.SecurityGroupID = c.SecurityGroups.IDs
		if c.SecurityGroups.TagKey != "" {
			f.SecurityGroupTag = c.SecurityGroups.TagKey + "=" + c.SecurityGroups.TagValue
		}
		f.Source = c.sources()
	}
	out, err := yaml.Marshal(f)
	if err != nil {
		return nil, err
	}
	return append([]byte("# Written by `targetsync bootstrap`; use with: targetsync run --config <this file>\n"), out...), nil
}
