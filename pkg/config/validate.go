package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/targetsync/targetsync/pkg/awsclient"
	"github.com/targetsync/targetsync/pkg/sg"
)

// Source says where a setting came from, so errors name the flag or the file field.
type Source string

// SourceFlags marks settings read from command-line flags alone.
const SourceFlags Source = ""

// FieldError is a validation failure of one setting.
type FieldError struct {
	Field string // flag (--service) or file path of the field (bindings[0].service in FILE)
	Value string
	Msg   string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, e.Msg)
}

type namer struct {
	src   Source
	index int
	// flags holds the flags given on the command line; they override the file, so a bad
	// value among them is named by its flag even when a file was read.
	flags map[string]bool
}

// name returns the flag when the setting came from a flag, the file key otherwise.
func (n namer) name(flag string) string {
	if n.src == SourceFlags || (n.index < 0 && n.flags[flag]) {
		return "--" + flag
	}
	field := jsonName(flag)
	if n.index >= 0 {
		field = fmt.Sprintf("bindings[%d].%s", n.index, field)
	}
	return fmt.Sprintf("%s in %s", field, string(n.src))
}

func (n namer) bad(flag, value, msg string) error { return &FieldError{n.name(flag), value, msg} }

func (n namer) binding(i int) namer { return namer{src: n.src, index: i, flags: n.flags} }

// config checks every setting and converts it, returning the first problem as one error naming
// the setting. bootstrap says the binding comes later, from `run --bootstrap`.
func (s settings) config(n namer, bootstrap bool) (Config, error) {
	c := Config{
		Kube:                  Kube{Kubeconfig: s.Kubeconfig, Context: s.Context, RequestTimeout: s.RequestTimeout.Duration},
		ClusterName:           s.ClusterName,
		DeregisterCordoned:    s.DeregisterCordoned,
		Targets:               s.Targets,
		MaxDeregisterFraction: s.MaxDeregisterFraction,
		CapacityWindow:        s.CapacityWindow.Duration,
		ResyncPeriod:          s.ResyncPeriod.Duration,
		MinSyncInterval:       s.MinSyncInterval.Duration,
		DryRun:                s.DryRun,
		LeaderElection: LeaderElection{
			Enabled: s.LeaderElect, Namespace: s.LeaderElectionNamespace, ID: s.LeaderElectionID,
			LeaseDuration: s.LeaderElectLeaseDuration.Duration,
			RenewDeadline: s.LeaderElectRenewDeadline.Duration,
			RetryPeriod:   s.LeaderElectRetryPeriod.Duration,
		},
		MetricsBindAddress:     s.MetricsBindAddress,
		HealthProbeBindAddress: s.HealthProbeBindAddress,
		PprofBindAddress:       s.PprofBindAddress,
		LogFormat:              s.LogFormat,
		nodeSelector:           s.NodeSelector,
		notReady:               s.NotReady,
	}
	if s.ClusterName == "" {
		return Config{}, n.bad("cluster-name", "", "required: the name of this cluster, written into every tag and rule targetsync owns")
	}
	if len(validation.IsDNS1123Label(s.ClusterName)) > 0 {
		return Config{}, n.bad("cluster-name", s.ClusterName, msgDNSLabel)
	}
	if s.RequestTimeout.Duration <= 0 {
		return Config{}, n.bad("request-timeout", s.RequestTimeout.Duration.String(), "must be positive")
	}
	if _, err := labels.Parse(s.NodeSelector); err != nil {
		return Config{}, n.bad("node-selector", s.NodeSelector, "not a label selector: "+err.Error())
	}
	if err := checkNotReady(n, s.NotReady); err != nil {
		return Config{}, err
	}
	if s.Targets != TargetsAll && s.Targets != TargetsIngressNodes {
		return Config{}, n.bad("targets", s.Targets, "want all or ingress-nodes")
	}
	if err := s.checkTimings(n); err != nil {
		return Config{}, err
	}
	if err := s.checkPublishing(n, &c); err != nil {
		return Config{}, err
	}
	if err := s.checkRuntime(n, &c); err != nil {
		return Config{}, err
	}
	if err := s.checkSecurityGroups(n, &c); err != nil {
		return Config{}, err
	}
	if err := s.checkBindings(n, &c, bootstrap); err != nil {
		return Config{}, err
	}
	return c, nil
}

func checkNotReady(n namer, v string) error {
	if v != NotReadyKeep && v != NotReadyRemove {
		return n.bad("not-ready", v, "want keep or remove")
	}
	return nil
}

func (s settings) checkTimings(n namer) error {
	if s.ResyncPeriod.Duration <= 0 {
		return n.bad("resync-period", s.ResyncPeriod.Duration.String(), "must be positive")
	}
	if f := s.MaxDeregisterFraction; !(f > 0 && f <= 1) {
		return n.bad("max-deregister-fraction", strconv.FormatFloat(f, 'g', -1, 64), "want a fraction greater than 0 and at most 1 (1 turns the guard off)")
	}
	if s.CapacityWindow.Duration <= 0 {
		return n.bad("capacity-window", s.CapacityWindow.Duration.String(), "must be positive")
	}
	if d := s.MinSyncInterval.Duration; d < 0 || d >= s.ResyncPeriod.Duration {
		return n.bad("min-sync-interval", d.String(), "must be at least 0 and less than the resync period")
	}
	// client-go's own rules for the three leader-election timings.
	le, rd, rp := s.LeaderElectLeaseDuration.Duration, s.LeaderElectRenewDeadline.Duration, s.LeaderElectRetryPeriod.Duration
	if rp <= 0 {
		return n.bad("leader-elect-retry-period", rp.String(), "must be positive")
	}
	if rd <= time.Duration(1.2*float64(rp)) {
		return n.bad("leader-elect-renew-deadline", rd.String(), fmt.Sprintf("must be more than 1.2 x --leader-elect-retry-period (%s)", rp))
	}
	if le <= rd {
		return n.bad("leader-elect-lease-duration", le.String(), fmt.Sprintf("must be more than --leader-elect-renew-deadline (%s)", rd))
	}
	return nil
}

func (s settings) checkRuntime(n namer, c *Config) error {
	if s.LeaderElectionID == "" || len(validation.IsDNS1123Subdomain(s.LeaderElectionID)) > 0 {
		return n.bad("leader-election-id", s.LeaderElectionID, "want a DNS subdomain name")
	}
	if ns := s.LeaderElectionNamespace; ns != "" && len(validation.IsDNS1123Label(ns)) > 0 {
		return n.bad("leader-election-namespace", ns, "not a namespace name")
	}
	level, err := zapcore.ParseLevel(s.LogLevel)
	if err != nil || level > zapcore.ErrorLevel {
		return n.bad("log-level", s.LogLevel, "want debug, info, warn or error")
	}
	c.LogLevel = level
	if s.LogFormat != "json" && s.LogFormat != "console" {
		return n.bad("log-format", s.LogFormat, "want json or console")
	}
	for _, a := range []struct{ flag, addr string }{
		{"metrics-bind-address", s.MetricsBindAddress}, {"health-probe-bind-address", s.HealthProbeBindAddress}, {"pprof-bind-address", s.PprofBindAddress},
	} {
		if a.addr != "0" && !strings.Contains(a.addr, ":") {
			return n.bad(a.flag, a.addr, "want host:port or :port, or 0 for off")
		}
	}
	for _, t := range s.AWSAPIThrottle {
		rule, err := awsclient.ParseThrottleRule(t)
		if err != nil {
			return n.bad("aws-api-throttle", t, err.Error())
		}
		c.AWSThrottle = append(c.AWSThrottle, rule)
	}
	return nil
}

func (s settings) checkSecurityGroups(n namer, c *Config) error {
	var sel sg.GroupSelector
	for _, id := range s.SecurityGroupID {
		if !strings.HasPrefix(id, "sg-") || len(id) < 4 {
			return n.bad("security-group-id", id, "want a security group ID such as sg-0123456789abcdef0")
		}
		sel.IDs = append(sel.IDs, id)
	}
	if t := s.SecurityGroupTag; t != "" {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return n.bad("security-group-tag", t, "want key=value")
		}
		sel.TagKey, sel.TagValue = k, v
	}
	managed := len(sel.IDs) > 0 || sel.TagKey != ""
	if managed && len(s.Source) == 0 {
		return n.bad("source", "", "at least one source is needed to manage security groups")
	}
	var sources []sg.Source
	for _, v := range s.Source {
		src, err := sg.ParseSource(v)
		if err != nil {
			return n.bad("source", v, "want vpc-cidr, nlb-private-ips or cidr:<a.b.c.d/n>")
		}
		sources = append(sources, src)
	}
	if managed {
		c.SecurityGroups = &SecurityGroups{Selector: sel, Sources: sources}
	}
	return nil
}

// checkPublishing checks run's publishing settings: all or nothing, keyed on the domain.
func (s settings) checkPublishing(n namer, c *Config) error {
	if s.Domain == "" {
		if s.ClusterID != "" {
			return n.bad(flagClusterID, s.ClusterID, "only used with --domain")
		}
		if s.IngressClass != "" {
			return n.bad(flagIngressClass, s.IngressClass, "only used with --domain")
		}
		return nil
	}
	class := s.IngressClass
	if class == "" {
		class = DefaultIngressClass
	}
	if err := checkSite(n, s.Domain, s.ClusterID, class); err != nil {
		return err
	}
	c.Publishing = &Publishing{Domain: s.Domain, ClusterID: s.ClusterID, IngressClass: class}
	return nil
}

func (s settings) checkBindings(n namer, c *Config, bootstrap bool) error {
	if len(s.Bindings) == 0 && !bootstrap {
		if n.src == SourceFlags {
			return fmt.Errorf("nothing to sync: set --target-group-arn, --service and --service-port, or give --config")
		}
		return fmt.Errorf("nothing to sync: %s has no bindings", string(n.src))
	}
	arns := map[string]int{}
	names := map[string]int{}
	for i, bs := range s.Bindings {
		bn := n.binding(i)
		b, err := bs.binding(bn, s.NodeSelector, s.NotReady)
		if err != nil {
			return err
		}
		if j, dup := arns[b.TargetGroupARN()]; dup {
			return bn.bad(flagTargetGroupARN, bs.TargetGroupARN, fmt.Sprintf("already bound by bindings[%d]; two bindings would fight over one target group", j))
		}
		arns[b.TargetGroupARN()] = i
		if j, dup := names[b.Name]; dup {
			return bn.bad(flagBindingName, b.Name, fmt.Sprintf("already used by bindings[%d]", j))
		}
		names[b.Name] = i
		// One security-group reconciler serves every binding, through one regional EC2 client.
		if c.SecurityGroups != nil && i > 0 && b.Region() != c.Bindings[0].Region() {
			return bn.bad(flagTargetGroupARN, bs.TargetGroupARN,
				fmt.Sprintf("is in region %s but bindings[0] is in %s; security groups are managed in one region", b.Region(), c.Bindings[0].Region()))
		}
		c.Bindings = append(c.Bindings, b)
	}
	return nil
}

// binding checks one binding and converts it; selector and notReady are the top-level node
// rules, which the binding's own override.
func (bs bindingSettings) binding(n namer, selector, notReady string) (Binding, error) {
	tg, err := parseTargetGroupARN(bs.TargetGroupARN)
	if err != nil {
		return Binding{}, n.bad(flagTargetGroupARN, bs.TargetGroupARN, err.Error())
	}
	b := Binding{Name: bs.BindingName, TargetGroup: tg, ServicePort: bs.ServicePort, HealthCheckPath: bs.HealthCheckPath}
	if b.Service, err = parseServiceName(bs.Service); err != nil {
		return Binding{}, n.bad(flagService, bs.Service, err.Error())
	}
	if err := validatePort(bs.ServicePort); err != nil {
		return Binding{}, n.bad(flagServicePort, bs.ServicePort.String(), err.Error())
	}
	if b.Name == "" {
		b.Name = bs.ServicePort.String()
	} else if len(validation.IsDNS1123Label(b.Name)) > 0 {
		return Binding{}, n.bad(flagBindingName, b.Name, msgDNSLabel)
	}
	hcPort := bs.HealthCheckServicePort.String()
	switch {
	case bs.HealthCheckService != "":
		svc, err := parseServiceName(bs.HealthCheckService)
		if err != nil {
			return Binding{}, n.bad(flagHealthCheckService, bs.HealthCheckService, err.Error())
		}
		if err := validatePort(bs.HealthCheckServicePort); err != nil {
			return Binding{}, n.bad(flagHealthCheckServicePort, hcPort, err.Error())
		}
		b.HealthCheck = &PortRef{Service: svc, Port: bs.HealthCheckServicePort}
	case hcPort != "" && hcPort != "0":
		return Binding{}, n.bad(flagHealthCheckServicePort, hcPort, "set only together with the health-check Service")
	}
	if p := bs.HealthCheckPath; !strings.HasPrefix(p, "/") || len(p) > 1024 {
		return Binding{}, n.bad(flagHealthCheckPath, p, "want an absolute HTTP path such as /healthz")
	}
	sel, selNamer, nrNamer := selector, n.binding(-1), n.binding(-1)
	if bs.NodeSelector != nil {
		sel, selNamer = *bs.NodeSelector, n
	}
	if bs.NotReady != nil {
		notReady, nrNamer = *bs.NotReady, n
	}
	if b.NodeSelector, err = labels.Parse(sel); err != nil {
		return Binding{}, selNamer.bad("node-selector", sel, "not a label selector: "+err.Error())
	}
	if err := checkNotReady(nrNamer, notReady); err != nil {
		return Binding{}, err
	}
	b.NotReady = notReady
	return b, nil
}

func parseTargetGroupARN(s string) (arn.ARN, error) {
	const want = "want arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID"
	if s == "" {
		return arn.ARN{}, fmt.Errorf("required; %s", want)
	}
	a, err := arn.Parse(s)
	if err != nil {
		return arn.ARN{}, fmt.Errorf("not an ARN; %s", want)
	}
	parts := strings.Split(a.Resource, "/")
	if a.Service != "elasticloadbalancing" || len(parts) != 3 || parts[0] != "targetgroup" || parts[1] == "" || parts[2] == "" {
		return arn.ARN{}, fmt.Errorf("not a target group ARN; %s", want)
	}
	if a.Region == "" || a.AccountID == "" {
		return arn.ARN{}, fmt.Errorf("region or account missing; %s", want)
	}
	return a, nil
}

func parseServiceName(s string) (types.NamespacedName, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" {
		return types.NamespacedName{}, fmt.Errorf("want namespace/name")
	}
	if len(validation.IsDNS1123Label(ns)) > 0 {
		return types.NamespacedName{}, fmt.Errorf("namespace %q is not a valid namespace name", ns)
	}
	if len(validation.IsDNS1035Label(name)) > 0 {
		return types.NamespacedName{}, fmt.Errorf("name %q is not a valid Service name", name)
	}
	return types.NamespacedName{Namespace: ns, Name: name}, nil
}

func validatePort(p intstr.IntOrString) error {
	if p.Type == intstr.Int {
		if p.IntVal < 1 || p.IntVal > math.MaxUint16 {
			return fmt.Errorf("port number out of range 1-65535")
		}
		return nil
	}
	if p.StrVal == "" {
		return fmt.Errorf("required: a port name or number")
	}
	if strings.Trim(p.StrVal, "0123456789") == "" {
		return fmt.Errorf("port number out of range 1-65535")
	}
	if errs := validation.IsValidPortName(p.StrVal); len(errs) > 0 {
		return fmt.Errorf("not a port name or number in 1-65535")
	}
	return nil
}
