package app

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestMainBootstrapFlags needs no AWS side, so it lives apart from the moto-backed bootstrap
// tests and runs in make unit.
func TestMainBootstrapFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"bootstrap", "--cluster-name", "prod", "--scheme", "public"}, &out, &errOut, "test")
	if code != ExitError || strings.TrimSpace(errOut.String()) != `targetsync bootstrap: invalid --scheme "public": want internet-facing or internal` {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
	out.Reset()
	if code := Main(context.Background(), []string{"bootstrap", "--help"}, &out, &errOut, "test"); code != ExitOK || !strings.Contains(out.String(), "--eip-allocation") {
		t.Errorf("--help: exit %d, %s", code, out.String())
	}
	for _, cmd := range []struct{ name, flag string }{{"bootstrap", "--eip-allocation"}, {"expose", "--prefix"}} {
		out.Reset()
		if code := Main(context.Background(), []string{"help", cmd.name}, &out, &errOut, "test"); code != ExitOK ||
			!strings.Contains(out.String(), "Usage:\n  targetsync "+cmd.name+" [flags]") || !strings.Contains(out.String(), cmd.flag) {
			t.Errorf("help %s: exit %d, %s", cmd.name, code, out.String())
		}
	}
	out.Reset()
	Main(context.Background(), []string{"help"}, &out, &errOut, "test")
	if !strings.Contains(out.String(), "\n  bootstrap ") {
		t.Error("usage does not list bootstrap")
	}
}
