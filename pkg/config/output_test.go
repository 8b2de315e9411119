package config_test

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/targetsync/targetsync/pkg/config"
)

func TestOutputFlag(t *testing.T) {
	tests := []struct {
		name    string
		cmd     string
		args    []string
		want    string
		wantErr string
	}{
		{name: "plan defaults to the table", cmd: config.CommandPlan, want: config.OutputTable},
		{name: "status defaults to the table", cmd: config.CommandStatus, want: config.OutputTable},
		{name: "plan json", cmd: config.CommandPlan, args: []string{"-o", "json"}, want: config.OutputJSON},
		{name: "status yaml, long form", cmd: config.CommandStatus, args: []string{"--output=yaml"}, want: config.OutputYAML},
		{name: "table by name", cmd: config.CommandStatus, args: []string{"-o", "table"}, want: config.OutputTable},
		{name: "run prints no report", cmd: config.CommandRun, want: ""},
		{name: "unknown format", cmd: config.CommandPlan, args: []string{"-o", "xml"}, wantErr: `invalid argument "xml" for "-o, --output" flag: want table, json or yaml`},
		{name: "format in the wrong case", cmd: config.CommandStatus, args: []string{"-o", "JSON"}, wantErr: `invalid argument "JSON" for "-o, --output" flag: want table, json or yaml`},
		{name: "run has no -o", cmd: config.CommandRun, args: []string{"-o", "json"}, wantErr: "unknown shorthand flag: 'o' in -o"},
		{name: "run has no --output", cmd: config.CommandRun, args: []string{"--output", "json"}, wantErr: "unknown flag: --output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse(tt.cmd, withArgs(tt.args...))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Parse(%s, %q) error = %v, want %q", tt.cmd, tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Output != tt.want {
				t.Errorf("Output = %q, want %q", cfg.Output, tt.want)
			}
		})
	}
}

// TestOutputIsNotAFileSetting checks that how a report prints is chosen on the command line
// only: a file serves run as well, which prints no report.
func TestOutputIsNotAFileSetting(t *testing.T) {
	path := writeFile(t, fileOf("clusterName: prod\noutput: json\n", bindingHTTPS))
	_, err := config.Parse(config.CommandPlan, []string{"--config", path})
	if want := path + ": unknown key output" + keysHint; err == nil || err.Error() != want {
		t.Fatalf("Parse() error = %v, want %q", err, want)
	}
}

func TestUsageListsOutputForReportCommandsOnly(t *testing.T) {
	for cmd, want := range map[string]bool{config.CommandPlan: true, config.CommandStatus: true, config.CommandRun: false} {
		fs := pflag.NewFlagSet(cmd, pflag.ContinueOnError)
		config.Bind(cmd, fs)
		if got := strings.Contains(fs.FlagUsages(), "-o, --output format"); got != want {
			t.Errorf("usage of %s lists -o: %v, want %v", cmd, got, want)
		}
	}
}
