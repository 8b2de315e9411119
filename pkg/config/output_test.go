package config_test

import (
	"strings"
	"testing"

	"github.com/targetsync/targetsync/pkg/config"
)

func TestOutputFlag(t *testing.T) {
	required := []string{"--cluster-name", "prod", "--target-group-arn", arnA, "--service", svc, "--service-port", "http"}
	tests := []struct {
		name    string
		cmd     string
		args    []string
		want    string
		wantErr string
	}{
		{name: "plan defaults to the table", cmd: "plan", want: config.OutputTable},
		{name: "status defaults to the table", cmd: "status", want: config.OutputTable},
		{name: "plan json", cmd: "plan", args: []string{"-o", "json"}, want: config.OutputJSON},
		{name: "status yaml, long form", cmd: "status", args: []string{"--output=yaml"}, want: config.OutputYAML},
		{name: "table by name", cmd: "status", args: []string{"-o", "table"}, want: config.OutputTable},
		{name: "unknown format", cmd: "plan", args: []string{"-o", "xml"}, wantErr: `invalid argument "xml" for "-o, --output" flag: want table, json or yaml`},
		{name: "run prints no report", cmd: "run", args: []string{"-o", "json"}, wantErr: "unknown shorthand flag: 'o'"},
		{name: "run has no --output", cmd: "run", args: []string{"--output", "json"}, wantErr: "unknown flag: --output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse(tt.cmd, append(append([]string{}, required...), tt.args...))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
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

func TestOutputIsNotAFileSetting(t *testing.T) {
	file := writeFile(t, "clusterName: prod\noutput: json\nbindings:\n- targetGroupARN: "+arnA+"\n  service: "+svc+"\n  servicePort: http\n")
	if _, err := config.Parse("plan", []string{"--config", file}); err == nil || !strings.Contains(err.Error(), "output") {
		t.Fatalf("a file setting output: error = %v, want one naming the unknown field", err)
	}
}

func TestUsageListsOutputForReportCommandsOnly(t *testing.T) {
	for cmd, want := range map[string]bool{"plan": true, "status": true, "run": false} {
		if got := strings.Contains(config.Usage(cmd), "-o, --output format"); got != want {
			t.Errorf("Usage(%s) lists -o: %v, want %v", cmd, got, want)
		}
	}
}
