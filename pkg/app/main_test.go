package app

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestMainCommands checks the command line a user meets: help for each command, the version,
// completion scripts, suggestions for a typo, and that each command refuses the flags that
// only mean something to another.
func TestMainCommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		out, err   string
		notOut     string
		exactOut   string
		exactErrLn string
	}{
		{name: "no command prints the usage on stderr", args: nil, code: ExitError, err: "Available Commands:"},
		{name: "version", args: []string{"version"}, exactOut: "targetsync test\n"},
		{name: "--version", args: []string{"--version"}, exactOut: "targetsync test\n"},
		{name: "-v", args: []string{"-v"}, exactOut: "targetsync test\n"},
		{name: "help version is the version command's help", args: []string{"help", "version"}, out: "Usage:\n  targetsync version", notOut: "Available Commands"},
		{name: "version --help is help, not the version", args: []string{"version", "--help"}, out: "Print the version", notOut: "targetsync test\n"},
		{name: "help run lists run's flags", args: []string{"help", "run"}, out: "--leader-elect-lease-duration duration"},
		{name: "run lists bootstrap's flags for --bootstrap", args: []string{"run", "--help"}, out: "with --bootstrap: load balancer scheme"},
		{name: "plan has no run-only flags", args: []string{"plan", "--help"}, out: "--max-deregister-fraction", notOut: "--leader-elect"},
		{name: "completion bash", args: []string{"completion", "bash"}, out: "# bash completion V2 for targetsync"},
		{name: "completion zsh", args: []string{"completion", "zsh"}, out: "#compdef targetsync"},
		{name: "completion fish", args: []string{"completion", "fish"}, out: "complete -c targetsync"},
		{name: "a typo gets a suggestion", args: []string{"stauts"}, code: ExitError, err: `unknown command "stauts" for "targetsync" Did you mean this? status`},
		{name: "plan refuses --leader-elect", args: []string{"plan", "--leader-elect"}, code: ExitError, exactErrLn: "targetsync plan: unknown flag: --leader-elect"},
		{name: "plan refuses --metrics-bind-address", args: []string{"plan", "--metrics-bind-address=:9090"}, code: ExitError, exactErrLn: "targetsync plan: unknown flag: --metrics-bind-address"},
		{name: "plan refuses --dry-run=false", args: []string{"plan", "--dry-run=false"}, code: ExitError, exactErrLn: "targetsync plan: unknown flag: --dry-run"},
		{name: "status refuses --resync-period", args: []string{"status", "--resync-period=1m"}, code: ExitError, exactErrLn: "targetsync status: unknown flag: --resync-period"},
		{name: "arguments are refused", args: []string{"run", "extra"}, code: ExitError, err: `targetsync run: unknown command "extra" for "targetsync run"`},
		{name: "a bad value is one line naming the flag", args: []string{"run", "--cluster-name", "Prod"}, code: ExitError,
			exactErrLn: `targetsync run: invalid --cluster-name "Prod": want a DNS label: lower-case letters, digits and '-'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(context.Background(), tt.args, &out, &errOut, "test")
			report := func() string { return "stdout:\n" + out.String() + "\nstderr:\n" + errOut.String() }
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, report())
			}
			if !strings.Contains(out.String(), tt.out) || !strings.Contains(errOut.String(), tt.err) {
				t.Errorf("want stdout with %q and stderr with %q\n%s", tt.out, tt.err, report())
			}
			if tt.notOut != "" && strings.Contains(out.String(), tt.notOut) {
				t.Errorf("stdout has %q\n%s", tt.notOut, report())
			}
			if tt.exactOut != "" && out.String() != tt.exactOut {
				t.Errorf("stdout = %q, want %q", out.String(), tt.exactOut)
			}
			if tt.exactErrLn != "" && strings.SplitN(errOut.String(), "\n", 2)[0] != tt.exactErrLn {
				t.Errorf("first stderr line = %q, want %q", strings.SplitN(errOut.String(), "\n", 2)[0], tt.exactErrLn)
			}
		})
	}
}
