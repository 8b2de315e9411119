package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/targetsync/targetsync/pkg/config"
)

// FuzzParse feeds Parse arbitrary flags and an arbitrary config file. Parse must never panic,
// and whatever it accepts must be a config the rest of targetsync can rely on.
func FuzzParse(f *testing.F) {
	flags := "--cluster-name prod-eu --target-group-arn " + arnA + " --service " + svc + " --service-port https"
	f.Add(flags, "")
	f.Add("--target-group-arn "+arnA+" --service "+svc+" --service-port https", "")
	f.Add(flags+" --max-deregister-fraction 1 --capacity-window 30s", "")
	f.Add(flags+" --max-deregister-fraction NaN", "")
	f.Add(flags+" --max-deregister-fraction=-0.1 --capacity-window 0s", "")
	f.Add(flags+" --security-group-id sg-0123456789abcdef0 --source nlb-private-ips", "")
	f.Add(flags+" --health-check-service ingress-nginx/hc --health-check-service-port 10254 --health-check-path /ready", "")
	f.Add(flags+" --not-ready remove --resync-period 5m --min-sync-interval 0s --dry-run", "")
	f.Add(flags+" --node-selector !!x --service-port=70000", "")
	f.Add("--service", "")
	f.Add("", "")
	f.Add("-h", "")
	f.Add("--log-level debug", twoBindings)
	f.Add("--service "+svc, twoBindings)
	f.Add("--cluster-name prod-us --max-deregister-fraction 0.5", twoBindings)
	f.Add("", "maxDeregisterFraction: 0.5\ncapacityWindow: 2m\n"+twoBindings)
	f.Add("", "maxDeregisterFraction: .nan\n"+twoBindings)
	f.Add("", "securityGroupIDs: [sg-0123456789abcdef0]\n"+twoBindings)
	f.Add("", "securityGroupIDs: [sg-0123456789abcdef0]\n"+strings.Replace(twoBindings, arnB, arnUS, 1))
	f.Add("--security-group-tag a=b", strings.Replace(twoBindings, arnB, arnUS, 1))
	f.Add("", "bindings:\n- targetGroupARN: "+arnA+"\n  service: "+svc+"\n  servicPort: https\n")
	f.Add("", "resyncPeriod: 5 minutes\nbindings: []\n")
	f.Add("", "bindings:\n- servicePort: [1, 2]\n  healthCheck: {servicePort: -1}\n")
	f.Add("", "- a\n- b\n")
	f.Add("", "bindings: [\n")
	f.Add("", "&a [*a]")
	f.Add("", "notReady: keep\nnotReady: remove\n")

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
		src := config.SourceFlags
		if file != "" {
			path := filepath.Join(t.TempDir(), "targetsync.yaml")
			if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
				t.Fatal(err)
			}
			args = append([]string{"--config", path}, args...)
			src = config.Source(path)
		}

		cfg, err := config.Parse("targetsync", args)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("Parse() returned an error with an empty message")
			}
			return
		}

		if err := cfg.Validate(src); err != nil {
			t.Fatalf("Parse() accepted a config that Validate rejects: %v", err)
		}
		if len(cfg.Bindings) == 0 {
			t.Fatal("Parse() accepted a config without bindings")
		}
		if cfg.MinSyncInterval.Duration < 0 || cfg.MinSyncInterval.Duration >= cfg.ResyncPeriod.Duration {
			t.Fatalf("Parse() accepted min-sync-interval %v with resync period %v", cfg.MinSyncInterval, cfg.ResyncPeriod)
		}
		if cfg.ClusterName == "" {
			t.Fatal("Parse() accepted a config without a cluster name")
		}
		if f := cfg.MaxDeregisterFraction; !(f > 0 && f <= 1) {
			t.Fatalf("Parse() accepted max-deregister-fraction %v", f)
		}
		if cfg.CapacityWindow.Duration <= 0 {
			t.Fatalf("Parse() accepted capacity window %v", cfg.CapacityWindow)
		}
		for i, b := range cfg.Bindings {
			if n := b.ServiceName(); n.Namespace == "" || n.Name == "" {
				t.Fatalf("bindings[%d]: Service %q splits into %v", i, b.Service, n)
			}
			if b.Region() == "" {
				t.Fatalf("bindings[%d]: ARN %q has no region", i, b.TargetGroupARN)
			}
			if !strings.HasPrefix(b.HealthCheck.Path, "/") {
				t.Fatalf("bindings[%d]: health-check path %q", i, b.HealthCheck.Path)
			}
			if cfg.ManagesSecurityGroups() && b.Region() != cfg.Bindings[0].Region() {
				t.Fatalf("bindings[%d]: region %s differs from bindings[0]'s %s with security groups managed", i, b.Region(), cfg.Bindings[0].Region())
			}
		}
	})
}
