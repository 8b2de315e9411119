package config_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/targetsync/targetsync/pkg/awsclient"
	"github.com/targetsync/targetsync/pkg/config"
)

const (
	svc  = "ingress-nginx/ingress-nginx-controller"
	arnA = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ingress-https/0123456789abcdef"
	arnB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ingress-http/fedcba9876543210"
	// arnUS is a target group in another region than arnA and arnB.
	arnUS = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/ingress-us/0a1b2c3d4e5f6a7b"

	// header opens every config file.
	header = "apiVersion: targetsync.io/v1alpha1\nkind: Config\n"

	// bindingHTTPS and bindingHTTP are two bindings of a file, in the region of arnA.
	bindingHTTPS = "targetGroupArn: " + arnA + "\nservice: " + svc + "\nservicePort: https"
	bindingHTTP  = "targetGroupArn: " + arnB + "\nservice: " + svc + "\nservicePort: 80"

	// wantARN is the form every target group ARN error asks for.
	wantARN = "want arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID"
	// keysHint ends every unknown-key error.
	keysHint = " (keys are the flag names in lowerCamelCase)"
)

// ingressService is svc as the Config holds it.
var ingressService = types.NamespacedName{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"}

// required are the flags of one binding, which run, plan and status all need.
var required = []string{"--cluster-name", "prod-eu", "--target-group-arn", arnA, "--service", svc, "--service-port", "https"}

// withArgs is required followed by more; a string flag given again takes the later value.
func withArgs(more ...string) []string {
	return append(append([]string{}, required...), more...)
}

// fileOf is a config file: the header, the top-level lines top (each ending in a newline),
// then bindings as a list, each given as unindented lines.
func fileOf(top string, bindings ...string) string {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString(top)
	if len(bindings) > 0 {
		b.WriteString("bindings:\n")
	}
	for _, binding := range bindings {
		for i, line := range strings.Split(binding, "\n") {
			prefix := "    "
			if i == 0 {
				prefix = "  - "
			}
			b.WriteString(prefix + line + "\n")
		}
	}
	return b.String()
}

// writeFile writes a config file into a fresh directory and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "targetsync.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// expand replaces {file} in each of ss with path.
func expand(ss []string, path string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ReplaceAll(s, "{file}", path)
	}
	return out
}

// configCmp compares what the configuration means: selectors by what they select, rules and
// ARNs by value, and not the unexported fields a Config keeps for itself.
var configCmp = []cmp.Option{
	cmpopts.IgnoreUnexported(config.Config{}),
	cmpopts.EquateComparable(netip.Prefix{}),
	cmp.Comparer(func(a, b labels.Selector) bool {
		if a == nil || b == nil {
			return a == nil && b == nil
		}
		return a.String() == b.String()
	}),
	cmp.Comparer(func(a, b arn.ARN) bool { return a == b }),
	cmp.Comparer(func(a, b awsclient.ThrottleRule) bool {
		return a.Service == b.Service && a.Operation.String() == b.Operation.String() &&
			a.Limiter.Limit() == b.Limiter.Limit() && a.Limiter.Burst() == b.Limiter.Burst()
	}),
}

// mustARN, mustSelector and mustThrottle parse the test's own constants; they panic, as
// regexp.MustCompile does, since a bad constant is a broken test.
func mustARN(s string) arn.ARN {
	a, err := arn.Parse(s)
	if err != nil {
		panic(err)
	}
	return a
}

func mustSelector(s string) labels.Selector {
	sel, err := labels.Parse(s)
	if err != nil {
		panic(err)
	}
	return sel
}

func mustThrottle(s string) awsclient.ThrottleRule {
	r, err := awsclient.ParseThrottleRule(s)
	if err != nil {
		panic(err)
	}
	return r
}

// defaultConfig is what every setting left at its default gives, for cluster name, without
// bindings.
func defaultConfig(cluster string) config.Config {
	return config.Config{
		Kube:                  config.Kube{RequestTimeout: config.DefaultRequestTimeout},
		ClusterName:           cluster,
		DeregisterCordoned:    true,
		Targets:               config.TargetsAll,
		MaxDeregisterFraction: config.DefaultMaxDeregisterFraction,
		CapacityWindow:        config.DefaultCapacityWindow,
		ResyncPeriod:          config.DefaultResyncPeriod,
		MinSyncInterval:       config.DefaultMinSyncInterval,
		LeaderElection: config.LeaderElection{
			ID:            config.DefaultLeaderElectionID,
			LeaseDuration: config.DefaultLeaseDuration,
			RenewDeadline: config.DefaultRenewDeadline,
			RetryPeriod:   config.DefaultRetryPeriod,
		},
		MetricsBindAddress:     config.DefaultMetricsAddress,
		HealthProbeBindAddress: config.DefaultHealthProbeAddress,
		PprofBindAddress:       "0",
		LogLevel:               zapcore.InfoLevel,
		LogFormat:              "json",
	}
}

// binding is the binding of port of svc on target group tg with every other setting at its
// default: named after the port, no separate health check, the default node rules.
func binding(tg string, port intstr.IntOrString) config.Binding {
	return config.Binding{
		Name:            port.String(),
		TargetGroup:     mustARN(tg),
		Service:         ingressService,
		ServicePort:     port,
		HealthCheckPath: config.DefaultHealthCheckPath,
		NodeSelector:    mustSelector(config.DefaultNodeSelector),
		NotReady:        config.NotReadyKeep,
	}
}

// with returns base changed by mutate.
func with(base func() config.Config, mutate func(*config.Config)) func() config.Config {
	return func() config.Config {
		c := base()
		mutate(&c)
		return c
	}
}
