package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/targetsync/targetsync/pkg/sg"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Source says where a Config came from, so errors name the flag or the file field.
type Source string

// SourceFlags marks a Config built from command-line flags alone.
const SourceFlags Source = ""

// FieldError is a validation failure of one setting.
type FieldError struct {
	Field string // flag (--service) or file path of the field (bindings[0].service)
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

// name returns the flag name when the setting came from a flag, the file field otherwise.
func (n namer) name(flag, field string) string {
	if n.src == SourceFlags || n.flags[flag] {
		return "--" + flag
	}
	if n.index >= 0 {
		field = fmt.Sprintf("bindings[%d].%s", n.index, field)
	}
	return fmt.Sprintf("%s in %s", field, string(n.src))
}

// Validate checks every setting and returns the first problem as one error naming the setting.
func (c Config) Validate(src Source) error { return c.validate(src, nil) }

func (c Config) validate(src Source, flags map[string]bool) error {
	g := namer{src: src, index: -1, flags: flags}
	if _, err := labels.Parse(c.NodeSelector); err != nil {
		return &FieldError{g.name("node-selector", "nodeSelector"), c.NodeSelector, "not a label selector: " + err.Error()}
	}
	if c.NotReady != NotReadyKeep && c.NotReady != NotReadyRemove {
		return &FieldError{g.name("not-ready", "notReady"), c.NotReady, "want keep or remove"}
	}
	if c.ResyncPeriod.Duration <= 0 {
		return &FieldError{g.name("resync-period", "resyncPeriod"), c.ResyncPeriod.String(), "must be positive"}
	}
	if f := c.MaxDeregisterFraction; !(f > 0 && f <= 1) {
		return &FieldError{g.name("max-deregister-fraction", "maxDeregisterFraction"), strconv.FormatFloat(f, 'g', -1, 64), "want a fraction greater than 0 and at most 1 (1 turns the guard off)"}
	}
	if c.CapacityWindow.Duration <= 0 {
		return &FieldError{g.name("capacity-window", "capacityWindow"), c.CapacityWindow.String(), "must be positive"}
	}
	if c.MinSyncInterval.Duration < 0 || c.MinSyncInterval.Duration >= c.ResyncPeriod.Duration {
		return &FieldError{g.name("min-sync-interval", "minSyncInterval"), c.MinSyncInterval.String(), "must be at least 0 and less than the resync period"}
	}
	if c.ClusterName == "" {
		return &FieldError{g.name("cluster-name", "clusterName"), c.ClusterName, "required: the name of this cluster, written into every tag and rule targetsync owns"}
	}
	if len(validation.IsDNS1123Label(c.ClusterName)) > 0 {
		return &FieldError{g.name("cluster-name", "clusterName"), c.ClusterName, "want a DNS label: lower-case letters, digits and '-'"}
	}
	if err := c.validatePublishing(g); err != nil {
		return err
	}
	if c.LeaderElectionID == "" || len(validation.IsDNS1123Subdomain(c.LeaderElectionID)) > 0 {
		return &FieldError{g.name("leader-election-id", "leaderElectionID"), c.LeaderElectionID, "want a DNS subdomain name"}
	}
	if ns := c.LeaderElectionNamespace; ns != "" && len(validation.IsDNS1123Label(ns)) > 0 {
		return &FieldError{g.name("leader-election-namespace", "leaderElectionNamespace"), ns, "not a namespace name"}
	}
	if _, err := zapcore.ParseLevel(c.LogLevel); err != nil {
		return &FieldError{g.name("log-level", "logLevel"), c.LogLevel, "want debug, info, warn or error"}
	}
	if c.LogFormat != "json" && c.LogFormat != "console" {
		return &FieldError{g.name("log-format", "logFormat"), c.LogFormat, "want json or console"}
	}
	for _, id := range c.SecurityGroupIDs {
		if !strings.HasPrefix(id, "sg-") || len(id) < 4 {
			return &FieldError{g.name("security-group-id", "securityGroupIDs"), id, "want a security group ID such as sg-0123456789abcdef0"}
		}
	}
	if t := c.SecurityGroupTag; t != "" {
		if k, _, ok := strings.Cut(t, "="); !ok || k == "" {
			return &FieldError{g.name("security-group-tag", "securityGroupTag"), t, "want key=value"}
		}
	}
	if c.ManagesSecurityGroups() && len(c.Sources) == 0 {
		return &FieldError{g.name("source", "sources"), "", "at least one source is needed to manage security groups"}
	}
	for _, s := range c.Sources {
		if _, err := sg.ParseSource(s); err != nil {
			return &FieldError{g.name("source", "sources"), s, "want vpc-cidr, nlb-private-ips or cidr:<a.b.c.d/n>"}
		}
	}
	if len(c.Bindings) == 0 {
		if src == SourceFlags {
			return fmt.Errorf("nothing to sync: set --target-group-arn, --service and --service-port, or give --config")
		}
		return fmt.Errorf("nothing to sync: %s has no bindings", string(src))
	}

	arns := map[string]int{}
	names := map[string]int{}
	for i := range c.Bindings {
		b := &c.Bindings[i]
		n := namer{src: src, index: i, flags: flags}
		if err := b.validate(n); err != nil {
			return err
		}
		if j, dup := arns[b.TargetGroupARN]; dup {
			return &FieldError{n.name(flagTargetGroupARN, "targetGroupARN"), b.TargetGroupARN, fmt.Sprintf("already bound by bindings[%d]; two bindings would fight over one target group", j)}
		}
		arns[b.TargetGroupARN] = i
		if j, dup := names[b.DisplayName()]; dup {
			return &FieldError{n.name(flagBindingName, "name"), b.DisplayName(), fmt.Sprintf("already used by bindings[%d]", j)}
		}
		names[b.DisplayName()] = i
	}

	// After every ARN is known to be well formed, so each has a region to compare.
	if c.ManagesSecurityGroups() {
		// One security-group reconciler serves every binding, through one regional EC2 client.
		for i, b := range c.Bindings {
			if r := b.Region(); r != c.Bindings[0].Region() {
				n := namer{src: src, index: i, flags: flags}
				return &FieldError{n.name(flagTargetGroupARN, "targetGroupARN"), b.TargetGroupARN,
					fmt.Sprintf("is in region %s but bindings[0] is in %s; security groups are managed in one region", r, c.Bindings[0].Region())}
			}
		}
	}
	return nil
}

// DisplayName is the binding's name, defaulting to the Service port.
func (b Binding) DisplayName() string {
	if b.Name != "" {
		return b.Name
	}
	return b.ServicePort.String()
}

func (b *Binding) validate(n namer) error {
	if err := validateTargetGroupARN(b.TargetGroupARN); err != nil {
		return &FieldError{n.name(flagTargetGroupARN, "targetGroupARN"), b.TargetGroupARN, err.Error()}
	}
	if err := validateServiceName(b.Service); err != nil {
		return &FieldError{n.name(flagService, "service"), b.Service, err.Error()}
	}
	if err := validatePort(b.ServicePort); err != nil {
		return &FieldError{n.name(flagServicePort, "servicePort"), b.ServicePort.String(), err.Error()}
	}
	if b.Name != "" && len(validation.IsDNS1123Label(b.Name)) > 0 {
		return &FieldError{n.name(flagBindingName, "name"), b.Name, "want a DNS label: lower-case letters, digits and '-'"}
	}
	hc := b.HealthCheck
	if hc.Service != "" {
		if err := validateServiceName(hc.Service); err != nil {
			return &FieldError{n.name(flagHealthCheckService, "healthCheck.service"), hc.Service, err.Error()}
		}
		if err := validatePort(hc.ServicePort); err != nil {
			return &FieldError{n.name(flagHealthCheckServicePort, "healthCheck.servicePort"), hc.ServicePort.String(), err.Error()}
		}
	} else if hc.ServicePort.String() != "" && hc.ServicePort.String() != "0" {
		return &FieldError{n.name(flagHealthCheckServicePort, "healthCheck.servicePort"), hc.ServicePort.String(), "set only together with the health-check Service"}
	}
	if !strings.HasPrefix(hc.Path, "/") || len(hc.Path) > 1024 {
		return &FieldError{n.name(flagHealthCheckPath, "healthCheck.path"), hc.Path, "want an absolute HTTP path such as /healthz"}
	}
	return nil
}

func validateTargetGroupARN(s string) error {
	const want = "want arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID"
	if s == "" {
		return fmt.Errorf("required; %s", want)
	}
	a, err := arn.Parse(s)
	if err != nil {
		return fmt.Errorf("not an ARN; %s", want)
	}
	parts := strings.Split(a.Resource, "/")
	if a.Service != "elasticloadbalancing" || len(parts) != 3 || parts[0] != "targetgroup" || parts[1] == "" || parts[2] == "" {
		return fmt.Errorf("not a target group ARN; %s", want)
	}
	if a.Region == "" || a.AccountID == "" {
		return fmt.Errorf("region or account missing; %s", want)
	}
	return nil
}

func validateServiceName(s string) error {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" {
		return fmt.Errorf("want namespace/name")
	}
	if len(validation.IsDNS1123Label(ns)) > 0 {
		return fmt.Errorf("namespace %q is not a valid namespace name", ns)
	}
	if len(validation.IsDNS1035Label(name)) > 0 {
		return fmt.Errorf("name %q is not a valid Service name", name)
	}
	return nil
}

func validatePort(p intstr.IntOrString) error {
	if p.Type == intstr.Int {
		if p.IntVal < 1 || p.IntVal > 65535 {
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

func mustSplit(s string) types.NamespacedName {
	ns, name, _ := strings.Cut(s, "/")
	return types.NamespacedName{Namespace: ns, Name: name}
}

// Region returns the AWS region named in the binding's target group ARN.
func (b Binding) Region() string {
	a, err := arn.Parse(b.TargetGroupARN)
	if err != nil {
		return ""
	}
	return a.Region
}
