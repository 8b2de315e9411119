package deploy

import (
	"debug/elf"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// dockerInstruction is one Dockerfile instruction with its continuation lines joined.
type dockerInstruction struct {
	cmd  string // upper-case: FROM, RUN, ...
	args string
}

func readDockerfile(t *testing.T) []dockerInstruction {
	t.Helper()
	b, err := os.ReadFile(repoPath("Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []dockerInstruction
	var cur strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, dockerInstruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// TestDockerfileBuildsAStaticVersionedBinary checks the Dockerfile's shape and then runs its own
// build command: no container engine is needed to prove that the image gets a static binary
// that knows its version.
func TestDockerfileBuildsAStaticVersionedBinary(t *testing.T) {
	ins := readDockerfile(t)
	var froms, copies []string
	var build string
	var modDownloadAt, firstSourceCopyAt, targetArgsAt, buildAt = -1, -1, -1, -1
	for i, in := range ins {
		switch in.cmd {
		case "FROM":
			froms = append(froms, in.args)
		case "COPY":
			copies = append(copies, in.args)
			if firstSourceCopyAt < 0 && !strings.HasPrefix(in.args, "go.mod") && !strings.HasPrefix(in.args, "--from") {
				firstSourceCopyAt = i
			}
		case "RUN":
			if strings.Contains(in.args, "go mod download") {
				modDownloadAt = i
			}
			if strings.Contains(in.args, "go build") {
				build, buildAt = in.args, i
			}
		case "ARG":
			if f := strings.Fields(in.args); slices.Contains(f, "TARGETOS") && slices.Contains(f, "TARGETARCH") {
				targetArgsAt = i
			}
		}
	}

	goVersion := goDirective(t)
	// Multi-arch: the build stage runs natively on the build machine and cross-compiles for the
	// platform BuildKit passes in TARGETOS and TARGETARCH (declared in the stage that uses them).
	if len(froms) != 2 || froms[0] != "--platform=$BUILDPLATFORM golang:"+goVersion+" AS build" || froms[1] != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("stages = %q, want --platform=$BUILDPLATFORM golang:%s AS build, then gcr.io/distroless/static-debian12:nonroot", froms, goVersion)
	}
	if targetArgsAt < 0 || buildAt < targetArgsAt {
		t.Error("the build stage must declare ARG TARGETOS TARGETARCH before the go build")
	}
	if modDownloadAt < 0 || firstSourceCopyAt < 0 || modDownloadAt > firstSourceCopyAt {
		t.Error("go mod download must run after copying go.mod and go.sum and before the sources, so its layer is reused")
	}
	last := ins[len(ins)-3:]
	wantTail := []dockerInstruction{{"USER", "nonroot"}, {"ENTRYPOINT", `["/targetsync"]`}, {"CMD", `["run"]`}}
	if !slices.Equal(last, wantTail) {
		t.Errorf("image ends with %q, want %q", last, wantTail)
	}
	for _, want := range []string{"CGO_ENABLED=0", "GOOS=$TARGETOS", "GOARCH=$TARGETARCH", "-trimpath", `-ldflags "-s -w -X main.version=${VERSION}"`, "./cmd/targetsync"} {
		if !strings.Contains(build, want) {
			t.Errorf("the build command lacks %s: %s", want, build)
		}
	}

	// Every top-level directory the binary is built from must be copied into the build stage.
	r := run(5*time.Minute, repoRoot(), nil, goBinary(t), "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}", "./cmd/targetsync")
	if r.err != nil {
		t.Fatalf("go list:\n%s", r)
	}
	for _, dir := range strings.Fields(r.stdout) {
		rel, _ := filepath.Rel(repoRoot(), dir)
		top := strings.Split(filepath.ToSlash(rel), "/")[0] + "/"
		if !slices.ContainsFunc(copies, func(c string) bool { return strings.HasPrefix(c, top+" ") }) {
			t.Errorf("the binary needs %s, but the Dockerfile does not COPY %s", rel, top)
		}
	}

	// Run the Dockerfile's own build command, minus the BuildKit cache mount, for this machine
	// (the binary must run and know its version) and for the other architecture of the image.
	cmd := regexp.MustCompile(`--mount=\S+\s*`).ReplaceAllString(build, "")
	build1 := func(goarch string) string {
		t.Helper()
		out := filepath.Join(t.TempDir(), "targetsync")
		res := run(10*time.Minute, repoRoot(), []string{"VERSION=v9.9.9-test", "TARGETOS=linux", "TARGETARCH=" + goarch},
			"sh", "-c", strings.ReplaceAll(cmd, "/out/targetsync", out))
		if res.err != nil {
			t.Fatalf("TARGETARCH=%s %s:\n%s", goarch, cmd, res)
		}
		return out
	}
	native := strings.TrimSpace(run(time.Minute, repoRoot(), nil, goBinary(t), "env", "GOARCH").stdout)
	out := build1(native)
	checkStaticELF(t, out)
	// The binary was 95 MB while text/template was linked for a version template: its method
	// calls by name make the linker keep every exported method of every type, the whole EC2
	// client among them. It is 38 MB without; its pages are a third of targetsync's memory.
	if fi, err := os.Stat(out); err != nil {
		t.Error(err)
	} else if fi.Size() > maxBinaryBytes {
		t.Errorf("the binary is %d bytes, more than %d: does something call methods by name (text/template, reflect.Value.MethodByName)? go build -ldflags=-dumpdep shows what reaches it", fi.Size(), maxBinaryBytes)
	}
	v := run(time.Minute, repoRoot(), nil, out, "version")
	if v.err != nil || strings.TrimSpace(v.stdout) != "targetsync v9.9.9-test" {
		t.Errorf("targetsync version printed %q, want %q\n%s", strings.TrimSpace(v.stdout), "targetsync v9.9.9-test", v)
	}
	// The other architecture of the image: a full cross build costs as much as the native one,
	// so check what breaks a cross build, every package's files and imports under that GOARCH
	// without cgo (go list), from the same command line.
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[native]
	if other == "" {
		t.Fatalf("this machine is %s; the image is built for amd64 and arm64", native)
	}
	list := strings.Replace(cmd, " go build ", " go list -deps -e -f '{{if .Error}}{{.ImportPath}}: {{.Error}}{{end}}' ", 1)
	list = regexp.MustCompile(`\s-(trimpath|ldflags "[^"]*"|o \S+)`).ReplaceAllString(list, "")
	res := run(5*time.Minute, repoRoot(), []string{"VERSION=v9.9.9-test", "TARGETOS=linux", "TARGETARCH=" + other}, "sh", "-c", list)
	if res.err != nil || strings.TrimSpace(res.stdout) != "" {
		t.Errorf("TARGETARCH=%s: %s:\n%s", other, list, res)
	}
}

// maxBinaryBytes bounds the size of the stripped binary.
const maxBinaryBytes = 50 << 20

// checkStaticELF checks that the binary is static and stripped, and returns its machine.
func checkStaticELF(t *testing.T, path string) elf.Machine {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is dynamically linked (%s); distroless/static has no libc", p.Type)
		}
	}
	if syms, err := f.Symbols(); err == nil && len(syms) > 0 {
		t.Errorf("the binary has %d symbols; -s -w should strip them", len(syms))
	}
	return f.Machine
}

// goDirective is the major.minor Go version go.mod asks for, the builder image's tag.
func goDirective(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(repoPath("go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}
