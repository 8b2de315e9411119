package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

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

const usage = `targetsync keeps NLB IP target groups equal to the worker nodes of a Kubernetes cluster.

Usage:
  targetsync run [flags]       watch the cluster and keep the target groups in sync
  targetsync plan [flags]      compare once and print what run would change (exit 2 on drift)
  targetsync status [flags]    print the targets, health check and rules as AWS and the cluster see them; changes nothing
  targetsync bootstrap [flags] create what is missing of the NLB, target group, listener and health-check Service
  targetsync expose [flags]    publish a Service port at PREFIX.CLUSTER_ID.DOMAIN through an Ingress
  targetsync version           print the version
  targetsync help [command]    show this help, or a command's flags
`

// Main runs the command in args and returns the process exit code. It is main's only call.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, version string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ExitError
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version", "--version":
		fmt.Fprintf(stdout, "targetsync %s\n", version)
		return ExitOK
	case "help", "-h", "--help":
		if len(rest) > 0 {
			switch rest[0] {
			case "run", "plan", "status":
				fmt.Fprintf(stdout, "Usage: targetsync %s [flags]\n\nFlags:\n%s", rest[0], config.Usage(rest[0]))
				return ExitOK
			case "bootstrap", "expose":
				// Their own flag sets answer --help.
				return Main(ctx, []string{rest[0], "--help"}, stdout, stderr, version)
			}
		}
		fmt.Fprint(stdout, usage)
		return ExitOK
	case "bootstrap":
		return bootstrapCommand(ctx, rest, stdout, stderr, version)
	case "expose":
		return exposeCommand(ctx, rest, stdout, stderr, version)
	case "run", "plan", "status":
	default:
		fmt.Fprintf(stderr, "targetsync: unknown command %q\n\n%s", cmd, usage)
		return ExitError
	}

	cfg, err := config.Parse(cmd, rest)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintf(stdout, "Usage: targetsync %s [flags]\n\nFlags:\n%s", cmd, config.Usage(cmd))
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "targetsync %s: %s\n", cmd, oneLine(err))
		return ExitError
	}
	if cmd == "plan" {
		return Plan(ctx, cfg, Deps{Version: version, LogOutput: stderr}, stdout, stderr)
	}
	if cmd == "status" {
		return Status(ctx, cfg, Deps{Version: version, LogOutput: stderr}, stdout, stderr)
	}
	if err := Run(ctx, cfg, Deps{Version: version, LogOutput: stderr}); err != nil {
		fmt.Fprintf(stderr, "targetsync run: %s\n", oneLine(err))
		return ExitError
	}
	return ExitOK
}

// oneLine keeps an error to the single line the user reads.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
