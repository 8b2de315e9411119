package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/targetsync/targetsync/pkg/config"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	// ExitDrift is what `plan` returns when the target groups differ from the cluster,
	// like terraform plan -detailed-exitcode.
	ExitDrift = 2
)

// exitCode ends a command with a code after it has said why; Main prints nothing more.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit %d", int(c)) }

// Main runs the command in args and returns the process exit code. It is main's only call.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, version string) int {
	root := NewCommand(version, stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	var code exitCode
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &code):
		return int(code)
	}
	// One line: what is wrong, named by the command that refused it.
	fmt.Fprintf(stderr, "%s: %s\n", cmd.CommandPath(), oneLine(err))
	return ExitError
}

// NewCommand returns the targetsync command tree. Each command accepts only its own flags.
func NewCommand(version string, stdout, stderr io.Writer) *cobra.Command {
	deps := Deps{Version: version, LogOutput: stderr}
	root := &cobra.Command{
		Use:   "targetsync",
		Short: "Keep NLB IP target groups equal to the worker nodes of a Kubernetes cluster",
		Long: `targetsync keeps NLB IP target groups equal to the worker nodes of a Kubernetes cluster:
it registers each eligible node's private IP on the ingress controller's NodePort, keeps the
health-check port and the worker security-group rules in line, and builds the setup with bootstrap.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if v, _ := cmd.Flags().GetBool("version"); v {
				fmt.Fprintf(cmd.OutOrStdout(), "targetsync %s\n", version)
				return nil
			}
			cmd.SetOut(stderr)
			_ = cmd.Help()
			return exitCode(ExitError)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	// Our own --version rather than cobra's: a version template would link text/template, whose
	// method calls by name keep every exported method of every type in the binary (the whole EC2
	// client: 95 MB instead of 38).
	root.Flags().BoolP("version", "v", false, "print the version")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })

	root.AddCommand(
		configCommand(config.CommandRun, "Watch the cluster and keep the target groups in sync",
			"Watches Nodes and the bound Services and keeps each target group, its health-check port and\nthe worker security-group rules equal to the cluster, until stopped.",
			func(ctx context.Context, cfg config.Config) int {
				if err := Run(ctx, cfg, deps); err != nil {
					fmt.Fprintf(stderr, "targetsync run: %s\n", oneLine(err))
					return ExitError
				}
				return ExitOK
			}),
		configCommand(config.CommandPlan, "Compare once and print what run would change (exit 2 on drift)",
			"Reads the cluster and the target groups once and prints what run would change; changes nothing.\nExit 0 in sync, 2 on drift, 1 on error.",
			func(ctx context.Context, cfg config.Config) int { return Plan(ctx, cfg, deps, stdout, stderr) }),
		configCommand(config.CommandStatus, "Print the targets, health check and rules as AWS and the cluster see them",
			"Prints each binding's targets with their AWS state, the health-check port in AWS and in the\ncluster, the security-group rules targetsync owns and the last successful sync; changes nothing.",
			func(ctx context.Context, cfg config.Config) int { return Status(ctx, cfg, deps, stdout, stderr) }),
		bootstrapCommand(deps, stdout, stderr),
		exposeCommand(deps, stdout, stderr),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintf(cmd.OutOrStdout(), "targetsync %s\n", version) },
		},
	)
	return root
}

// configCommand is run, plan or status: the flags of the name, read into a config.Config.
func configCommand(name, short, long string, run func(context.Context, config.Config) int) *cobra.Command {
	cmd := &cobra.Command{
		Use:   name + " [flags]",
		Short: short,
		Long:  long,
		Args:  cobra.NoArgs,
	}
	cmd.Flags().SortFlags = false
	flags := config.Bind(name, cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := flags.Config()
		if err != nil {
			return err
		}
		return result(run(cmd.Context(), cfg))
	}
	return cmd
}

// result turns a command's exit code into what RunE returns.
func result(code int) error {
	if code == ExitOK {
		return nil
	}
	return exitCode(code)
}

// oneLine keeps an error to the single line the user reads.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
