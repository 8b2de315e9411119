package config_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/targetsync/targetsync/pkg/config"
)

// FuzzParse feeds run, plan and status arbitrary flags and an arbitrary config file. Parsing
// must never panic, and whatever it accepts must be a config the rest of targetsync can rely on
// without checking it again.
func FuzzParse(f *testing.F) {
	flags := strings.Join(required, " ")
	f.Add(flags, "")
	f.Add("--target-group-arn "+arnA+" --service "+svc+" --service-port https", "")
	f.Add(flags+" --max-deregister-fraction 1 --capacity-window 30s", "")
	f.Add(flags+" --max-deregister-fraction NaN", "")
	f.Add(flags+" --max-deregister-fraction=-0.1 --capacity-window 0s", "")
	f.Add(flags+" --security-group-id sg-0123456789abcdef0 --source nlb-private-ips", "")
	f.Add(flags+" --health-check-service ingress-nginx/hc --health-check-service-port 10254 --health-check-path /ready", "")
	f.Add(flags+" --health-check-service ingress-nginx/hc", "")
	f.Add(flags+" --not-ready remove --resync-period 5m --min-sync-interval 0s --dry-run", "")
	f.Add(flags+" --node-selector !!x --service-port=70000", "")
	f.Add(flags+" --targets ingress-nodes --context staging --kubeconfig /k --pprof-bind-address :6060", "")
	f.Add(flags+" --aws-api-throttle EC2:Describe.*=10:40 --aws-api-throttle EC2:(=1:0", "")
	f.Add(flags+" --leader-elect --leader-elect-lease-duration 15s --leader-elect-renew-deadline 2400ms --leader-elect-retry-period 2s", "")
	f.Add(flags+" --domain example.com --cluster-id c1 --ingress-class public", "")
	f.Add(flags+" -o json", "")
	f.Add("--bootstrap --cluster-name prod --service-port https --scheme internal", "")
	f.Add("--bootstrap --cluster-name prod --security-group-id sg-1 --source cidr:10.0.0.0/16 --eip-allocation subnet-0a=eipalloc-1", "")
	f.Add("--cluster-name prod --scheme internal", "")
	f.Add("--service", "")
	f.Add("", "")
	f.Add("-h", "")
	f.Add("--log-level debug", twoBindings)
	f.Add("--service "+svc, twoBindings)
	f.Add("--cluster-name prod-us --max-deregister-fraction 0.5 --node-selector role=any", twoBindings)
	f.Add("--bootstrap", twoBindings)
	f.Add("", everyRunFile)
	f.Add("", "maxDeregisterFraction: 0.5\ncapacityWindow: 2m\n"+twoBindings)
	f.Add("", "maxDeregisterFraction: .nan\n"+twoBindings)
	f.Add("", "securityGroupId: [sg-0123456789abcdef0]\n"+twoBindings)
	f.Add("", "securityGroupId: [sg-0123456789abcdef0]\n"+strings.Replace(twoBindings, arnB, arnUS, 1))
	f.Add("--security-group-tag a=b", strings.Replace(twoBindings, arnB, arnUS, 1))
	f.Add("", fileOf("clusterName: prod\nnodeSelector: role=ingress\n", bindingHTTPS+"\nnodeSelector: role=edge\nnotReady: remove", bindingHTTP))
	f.Add("", fileOf("clusterName: prod\n", bindingHTTPS+"\nservicPort: https"))
	f.Add("", fileOf("clusterName: prod\nresyncPeriod:\nnotReady: ~\n", bindingHTTPS+"\nhealthCheckServicePort: null"))
	f.Add("", header+"resyncPeriod: 5 minutes\nbindings: []\n")
	f.Add("", header+"bindings:\n- servicePort: [1, 2]\n  healthCheckServicePort: -1\n")
	f.Add("", header+"TargetGroupArn: x\nbindings: [null, {}]\n")
	f.Add("", oldFormat)
	f.Add("", header+oldFormat)
	f.Add("", "- a\n- b\n")
	f.Add("", "bindings: [\n")
	f.Add("", "&a [*a]")
	f.Add("", header+"notReady: keep\nnotReady: remove\n")

	f.Fuzz(func(t *testing.T, argLine, file string) {
		var args []string
		for _, a := range strings.Fields(argLine) {
			// The file is the one written below; a fuzzed --config could name a device
			// such as /dev/zero and never finish reading.
			if strings.Contains(a, "--config") {
				continue
			}
			args = append(args, a)
		}
		if file != "" {
			path := filepath.Join(t.TempDir(), "targetsync.yaml")
			if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
				t.Fatal(err)
			}
			args = append([]string{"--config", path}, args...)
		}
		for _, cmd := range []string{config.CommandRun, config.CommandPlan, config.CommandStatus} {
			cfg, err := config.Parse(cmd, args)
			if err != nil {
				if err.Error() == "" {
					t.Fatalf("Parse(%s) returned an error with an empty message", cmd)
				}
				continue
			}
			checkAccepted(t, cmd, cfg)
		}
	})
}

// checkAccepted fails t unless cfg keeps every promise a parsed Config makes.
func checkAccepted(t *testing.T, cmd string, cfg config.Config) {
	t.Helper()
	fail := func(format string, a ...any) { t.Helper(); t.Fatalf(cmd+": Parse() accepted "+format, a...) }
	if cfg.ClusterName == "" {
		fail("a config without a cluster name")
	}
	switch {
	case cfg.Bootstrap != nil && cmd != config.CommandRun:
		fail("--bootstrap for %s", cmd)
	case cfg.Bootstrap != nil && len(cfg.Bindings) != 0:
		fail("--bootstrap with %d bindings before bootstrapping", len(cfg.Bindings))
	case cfg.Bootstrap == nil && len(cfg.Bindings) == 0:
		fail("a config without bindings")
	}
	if cfg.Kube.RequestTimeout <= 0 {
		fail("request timeout %v", cfg.Kube.RequestTimeout)
	}
	if cfg.ResyncPeriod <= 0 || cfg.MinSyncInterval < 0 || cfg.MinSyncInterval >= cfg.ResyncPeriod {
		fail("min-sync-interval %v with resync period %v", cfg.MinSyncInterval, cfg.ResyncPeriod)
	}
	if f := cfg.MaxDeregisterFraction; !(f > 0 && f <= 1) {
		fail("max-deregister-fraction %v", f)
	}
	if cfg.CapacityWindow <= 0 {
		fail("capacity window %v", cfg.CapacityWindow)
	}
	le := cfg.LeaderElection
	if le.RetryPeriod <= 0 || float64(le.RenewDeadline) <= 1.2*float64(le.RetryPeriod) || le.LeaseDuration <= le.RenewDeadline {
		fail("leader election timings %v, %v, %v", le.LeaseDuration, le.RenewDeadline, le.RetryPeriod)
	}
	if le.ID == "" {
		fail("an empty leader election ID")
	}
	if cfg.Targets != config.TargetsAll && cfg.Targets != config.TargetsIngressNodes {
		fail("targets %q", cfg.Targets)
	}
	if cfg.LogLevel < zapcore.DebugLevel || cfg.LogLevel > zapcore.ErrorLevel || (cfg.LogFormat != "json" && cfg.LogFormat != "console") {
		fail("log level %v, format %q", cfg.LogLevel, cfg.LogFormat)
	}
	for _, r := range cfg.AWSThrottle {
		if r.Service == "" || r.Operation == nil || r.Limiter == nil || r.Limiter.Burst() < 1 || !(r.Limiter.Limit() > 0) || math.IsInf(float64(r.Limiter.Limit()), 0) {
			fail("throttle rule %+v", r)
		}
	}
	if cfg.Output == "" && cmd != config.CommandRun || cfg.Output != "" && cmd == config.CommandRun {
		fail("output %q", cfg.Output)
	}
	if p := cfg.Publishing; p != nil && (p.Domain == "" || p.ClusterID == "" || p.IngressClass == "") {
		fail("publishing %+v", *p)
	}
	if sgs := cfg.SecurityGroups; sgs != nil && (len(sgs.Sources) == 0 || len(sgs.Selector.IDs) == 0 && sgs.Selector.TagKey == "") {
		fail("security groups %+v", *sgs)
	}
	arns, names := map[string]bool{}, map[string]bool{}
	for i, b := range cfg.Bindings {
		if b.Name == "" || names[b.Name] {
			fail("bindings[%d] named %q", i, b.Name)
		}
		names[b.Name] = true
		if again, err := arn.Parse(b.TargetGroupARN()); err != nil || again != b.TargetGroup || b.Region() == "" || b.TargetGroup.AccountID == "" {
			fail("bindings[%d] target group %q", i, b.TargetGroupARN())
		}
		if arns[b.TargetGroupARN()] {
			fail("bindings[%d] target group %q twice", i, b.TargetGroupARN())
		}
		arns[b.TargetGroupARN()] = true
		if b.Service.Namespace == "" || b.Service.Name == "" {
			fail("bindings[%d] Service %v", i, b.Service)
		}
		if !goodPort(b.ServicePort) {
			fail("bindings[%d] port %v", i, b.ServicePort)
		}
		if hc := b.HealthCheck; hc != nil && (hc.Service.Namespace == "" || hc.Service.Name == "" || !goodPort(hc.Port)) {
			fail("bindings[%d] health check %+v", i, *hc)
		}
		if !strings.HasPrefix(b.HealthCheckPath, "/") {
			fail("bindings[%d] health-check path %q", i, b.HealthCheckPath)
		}
		if b.NodeSelector == nil || (b.NotReady != config.NotReadyKeep && b.NotReady != config.NotReadyRemove) {
			fail("bindings[%d] node rules %v, %q", i, b.NodeSelector, b.NotReady)
		}
		if cfg.SecurityGroups != nil && b.Region() != cfg.Bindings[0].Region() {
			fail("bindings[%d] in region %s, bindings[0] in %s, with security groups managed", i, b.Region(), cfg.Bindings[0].Region())
		}
	}
	if b := cfg.Bootstrap; b != nil && (b.Cluster != cfg.ClusterName || b.DeregistrationDelay%time.Second != 0 || !goodPort(b.ServicePort)) {
		fail("bootstrap %+v", *b)
	}
}

// goodPort reports whether p is a port number in range or a non-empty name.
func goodPort(p intstr.IntOrString) bool {
	if p.Type == intstr.Int {
		return p.IntVal >= 1 && p.IntVal <= 65535
	}
	return p.StrVal != ""
}
