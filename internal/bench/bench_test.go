//go:build !nomoto

package bench

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/targetsync/targetsync/internal/testenv"
)

// TestRunSmall runs every scenario at a small scale, so the harness behind `make bench` keeps
// working. It checks what it counts, never how fast anything was.
func TestRunSmall(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "targetsync")
	build := exec.Command("go", "build", "-o", bin, "./cmd/targetsync")
	build.Dir = testenv.RepoRoot()
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{
		Binary: bin, Nodes: 30, Lone: 2, Burst: 10, ColdStarts: 1,
		Resync: 2 * time.Second, IdleResyncs: 2,
		Heartbeat: 10, HeartbeatEvery: time.Second, HeartbeatRounds: 2,
		Dir: t.TempDir(), Log: logWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table.String())

	byPrefix := func(prefix string) Row {
		t.Helper()
		for _, r := range res.Rows {
			if strings.HasPrefix(r.Scenario, prefix) {
				return r
			}
		}
		t.Fatalf("no %q row in\n%s", prefix, table.String())
		return Row{}
	}
	if c := byPrefix("cold start").Calls["RegisterTargets"]; c != 1 {
		t.Errorf("cold start of 30 nodes made %v RegisterTargets, want 1", c)
	}
	idle := byPrefix("idle")
	if idle.Calls["DescribeTargetGroups"] > 1 || idle.Calls["DescribeTargetHealth"] > 1 || writes(toInts(idle.Calls)) != 0 {
		t.Errorf("idle resync made %v, want at most one DescribeTargetGroups and one DescribeTargetHealth and no write", idle.Calls)
	}
	for _, name := range []string{"lone join", "lone cordon", "lone leave", "burst of"} {
		r := byPrefix(name)
		if r.Samples == 0 || r.P50ms <= 0 || r.P99ms < r.P50ms {
			t.Errorf("%s: %d samples, p50 %v ms, p99 %v ms", name, r.Samples, r.P50ms, r.P99ms)
		}
	}
	if r := byPrefix("heartbeats"); writes(toInts(r.Calls)) != 0 {
		t.Errorf("heartbeats made writes: %v", r.Calls)
	}
	if len(res.AWSCallMillis) == 0 {
		t.Error("no per-call time of the test AWS")
	}
}

func toInts(calls map[string]float64) map[string]int {
	out := make(map[string]int, len(calls))
	for a, c := range calls {
		out[a] = int(c * 100)
	}
	return out
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
