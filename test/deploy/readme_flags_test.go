package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/targetsync/targetsync/pkg/app"
	"github.com/targetsync/targetsync/pkg/config"
)

// readmeSection returns the text of README.md from the heading to the next heading of any level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(repoPath("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q", heading)
	}
	var out []string
	for _, l := range strings.Split(rest, "\n") {
		if strings.HasPrefix(l, "#") {
			break
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// TestREADMEFlagTableListsEveryFlag keeps the README's flag table equal to what run accepts:
// every flag of run is in it, with the default run --help shows, and nothing else is.
func TestREADMEFlagTableListsEveryFlag(t *testing.T) {
	table := readmeSection(t, "## Commands and flags")
	rows := map[string]string{}
	for _, l := range strings.Split(table, "\n") {
		if !strings.HasPrefix(l, "| `--") {
			continue
		}
		cells := strings.SplitN(strings.TrimPrefix(l, "| "), " |", 3)
		rows[strings.Trim(cells[0], "`")] = strings.Trim(cells[1], "` ")
	}
	root := app.NewCommand("test", nil, nil)
	run, _, err := root.Find([]string{"run"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	run.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" || strings.HasPrefix(f.Usage, "with --bootstrap: ") {
			return
		}
		seen["--"+f.Name] = true
		def, ok := rows["--"+f.Name]
		if !ok {
			t.Errorf("README flag table has no --%s", f.Name)
			return
		}
		want := f.DefValue
		if want == "[]" || (want == "" && f.Value.Type() != "bool") {
			return // no default, or one the table explains in words
		}
		want = strings.Trim(want, "[]")
		if def != want && !strings.HasPrefix(def, want) {
			t.Errorf("README says --%s defaults to %q, run --help says %q", f.Name, def, want)
		}
	})
	for flag := range rows {
		if !seen[flag] {
			t.Errorf("README flag table lists %s, which run does not take", flag)
		}
	}
}

// TestREADMEConfigExampleParses reads the README's config file example as run does, and checks
// the two error messages the README quotes are what run prints.
func TestREADMEConfigExampleParses(t *testing.T) {
	section := readmeSection(t, "### Several target groups: `--config`")
	_, block, _ := strings.Cut(section, "```yaml\n")
	block, _, _ = strings.Cut(block, "```")
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(block), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(config.CommandRun, []string{"--config", path})
	if err != nil {
		t.Fatalf("the README's example: %v", err)
	}
	if len(cfg.Bindings) != 2 || cfg.Bindings[1].NodeSelector.String() != "node.kubernetes.io/pool=edge" || cfg.Bindings[1].NotReady != config.NotReadyRemove ||
		cfg.Bindings[0].NotReady != config.NotReadyKeep {
		t.Errorf("the README's example parses to %+v", cfg.Bindings)
	}

	t.Chdir(dir)
	for _, tt := range []struct{ from, to string }{
		{"targetGroupArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-http", "targetGroupARN: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-http"},
		{"resyncPeriod: 60s", "resyncPeriod: sixty"},
	} {
		if err := os.WriteFile("config.yaml", []byte(strings.Replace(block, tt.from, tt.to, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := config.Parse(config.CommandRun, []string{"--config", "config.yaml"})
		if err == nil {
			t.Fatalf("%s: no error", tt.to)
		}
		if line := "`targetsync run: " + err.Error() + "`"; !strings.Contains(section, line) {
			t.Errorf("README does not quote the error run prints: %s", line)
		}
	}
}
