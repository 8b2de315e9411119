package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/spf13/cobra"

	"github.com/targetsync/targetsync/pkg/awsclient"
	"github.com/targetsync/targetsync/pkg/bootstrap"
	"github.com/targetsync/targetsync/pkg/config"
	"github.com/targetsync/targetsync/pkg/sg"
)

// bootstrapCommand is `targetsync bootstrap`.
func bootstrapCommand(deps Deps, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bootstrap [flags]",
		Short: "Create what is missing of the NLB, target group, listener and health-check Service",
		Long: `Finds by tags, and creates when missing, the network load balancer, its TCP listener, the ip
target group, the ingress-nginx Namespace and health-check Service, and the worker security-group
rules; it never deletes or changes what exists. Prints one row per resource, then how to keep
it in sync. Safe to run again at any time.`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().SortFlags = false
	get := config.BindBootstrap(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := get()
		if err != nil {
			return err
		}
		return result(Bootstrap(cmd.Context(), cfg, deps, stdout, stderr))
	}
	return cmd
}

// Bootstrap builds or completes the setup, prints one row per resource and then what keeps it
// in sync, and returns ExitOK when the setup is complete (in a dry run: would be), ExitError
// when something is left alone as a problem, failed, or could not be read.
func Bootstrap(ctx context.Context, cfg config.BootstrapConfig, d Deps, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "targetsync bootstrap: %s\n", oneLine(err))
		return ExitError
	}
	res, err := bootstrapSetup(ctx, cfg, d)
	if err != nil {
		return fail(err)
	}
	if err := res.WriteTable(stdout); err != nil {
		return fail(err)
	}
	code := ExitOK
	if err := writeNext(stdout, cfg, res); err != nil {
		fmt.Fprintf(stderr, "targetsync bootstrap: %s\n", oneLine(err))
		code = ExitError
	}
	if !res.OK() {
		fmt.Fprintln(stderr, "targetsync bootstrap: the setup is not complete: see the rows marked left alone, skipped or failed")
		code = ExitError
	}
	return code
}

// bootstrapSetup reads what exists of the setup, and creates what is missing unless
// cfg.DryRun.
func bootstrapSetup(ctx context.Context, cfg config.BootstrapConfig, d Deps) (bootstrap.Result, error) {
	kube := d.Kube
	if kube == nil {
		var err error
		if kube, err = kubeClient(cfg.Kube, d.Version); err != nil {
			return bootstrap.Result{}, err
		}
	}
	awsCfg, err := awsclient.Load(ctx, awsclient.Options{Region: cfg.Region, AppID: "targetsync_" + d.Version})
	if err != nil {
		return bootstrap.Result{}, err
	}
	if cfg.Region != "" {
		awsCfg.Region = cfg.Region
	}
	if awsCfg.Region == "" {
		return bootstrap.Result{}, errors.New("no AWS region: set --region or AWS_REGION")
	}
	ec2Client := ec2.NewFromConfig(awsCfg)
	clients := bootstrap.Clients{ELB: elbv2.NewFromConfig(awsCfg), EC2: ec2Client, Kube: kube}
	if cfg.ManagesSecurityGroups() {
		if clients.Rules, err = sg.NewClient(ec2Client, sg.Owner{Cluster: cfg.Cluster}); err != nil {
			return bootstrap.Result{}, err
		}
	}
	return bootstrap.New(clients, cfg.Spec).Run(ctx, cfg.DryRun)
}

// writeNext prints the target group ARN, the load balancer's DNS name and the `targetsync run`
// command that keeps the setup in sync, or writes it as a config file with --write-config.
func writeNext(w io.Writer, cfg config.BootstrapConfig, res bootstrap.Result) error {
	tgARN, lbDNS := res.TargetGroup.ARN, res.LoadBalancer.DNSName
	tgUsable := usable(res, bootstrap.KindTargetGroup)
	if tgARN == "" || !tgUsable {
		tgARN = fmt.Sprintf("<ARN of %s once created>", res.TargetGroup.Name)
	}
	if lbDNS == "" || !usable(res, bootstrap.KindLoadBalancer) {
		lbDNS = fmt.Sprintf("<DNS name of %s once created>", res.LoadBalancer.Name)
	}
	fmt.Fprintf(w, "\ntarget group ARN:        %s\nload balancer DNS name:  %s\n", tgARN, lbDNS)
	if !tgUsable {
		fmt.Fprintln(w, "\nno target group to keep in sync until the problems above are solved")
		return nil
	}
	if cfg.WriteConfig == "" {
		fmt.Fprintf(w, "\nkeep it in sync:\n  targetsync run %s\n", shellJoin(cfg.RunArgs(tgARN)))
		return nil
	}
	if !res.Applied || res.TargetGroup.ARN == "" {
		fmt.Fprintf(w, "\nwould write %s for: targetsync run --config %s\n", cfg.WriteConfig, shellQuote(cfg.WriteConfig))
		return nil
	}
	data, err := cfg.RunFile(tgARN)
	if err != nil {
		return err
	}
	wrote, err := writeFileOnce(cfg.WriteConfig, data)
	if err != nil {
		return err
	}
	verb := "wrote"
	if !wrote {
		verb = "kept (unchanged)"
	}
	fmt.Fprintf(w, "\n%s %s; keep it in sync:\n  targetsync run --config %s\n", verb, cfg.WriteConfig, shellQuote(cfg.WriteConfig))
	return nil
}

// usable reports whether the resource of kind was found or created (or would be).
func usable(res bootstrap.Result, kind bootstrap.Kind) bool {
	for _, s := range res.Steps {
		if s.Kind == kind {
			return s.Err == nil && (s.Action == bootstrap.ActionFound || s.Action == bootstrap.ActionCreate)
		}
	}
	return false
}

// writeFileOnce writes data to path unless the file exists: a file with the same content is
// kept, one with other content is an error, never overwritten.
func writeFileOnce(path string, data []byte) (bool, error) {
	old, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(old, data):
		return false, nil
	case err == nil:
		return false, fmt.Errorf("--write-config %s exists with other content: not overwritten; remove it or choose another file", path)
	case !errors.Is(err, os.ErrNotExist):
		return false, fmt.Errorf("--write-config: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".targetsync-*.yaml")
	if err != nil {
		return false, fmt.Errorf("--write-config: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, fmt.Errorf("--write-config: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, fmt.Errorf("--write-config: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("--write-config: %w", err)
	}
	// Link, unlike rename, fails when someone created the file meanwhile.
	if err := os.Link(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("--write-config: %w", err)
	}
	return true, nil
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=@,+-]+$`)

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}
