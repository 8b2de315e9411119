package demo

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/targetsync/targetsync/internal/testenv"
)

// tryThis prints where everything listens and three commands to try while the demo stays up.
func (d *demo) tryThis() {
	kubectl := "kubectl"
	if assets, err := testenv.AssetsDir(); err == nil {
		kubectl = relative(filepath.Join(assets, "kubectl"))
	}
	awsEnv := fmt.Sprintf("AWS_ENDPOINT_URL=%s AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing", d.proxy.URL)
	fmt.Fprintf(d.out, `
targetsync run keeps running against the embedded cluster; Ctrl-C stops everything and removes %s
  kubeconfig:    %s
  metrics:       http://%s/metrics
  AWS endpoint:  %s  (moto behind the AWS double; credentials testing/testing, region us-east-1)
  target group:  %s
  run's log:     %s

Try:
  %s --kubeconfig %s cordon worker-5
  %s bin/targetsync %s
  curl -s http://%s/metrics | grep targetsync_
`, d.dir, d.kube.Kubeconfig, d.metrics, d.proxy.URL, d.tgARN, d.logPath,
		kubectl, d.kube.Kubeconfig,
		awsEnv, strings.Join(d.statusArgs(), " "),
		d.metrics)
}

// statusArgs are the flags of `targetsync status` for the demo's target group (every one
// shell-safe: paths, ARNs and names without spaces).
func (d *demo) statusArgs() []string {
	args := d.bindingArgs("status")
	if i := slices.Index(args, "--leader-elect"); i >= 0 {
		args = slices.Delete(args, i, i+1) // status only reads the Lease, in --leader-election-namespace
	}
	return args
}
