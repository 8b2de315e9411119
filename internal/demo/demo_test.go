//go:build !nomoto

package demo_test

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/targetsync/targetsync/internal/demo"
)

// TestDemoOnce plays `make demo DEMO_ARGS=--once` and checks that it exits 0 and leaves nothing
// behind: no process it started (etcd, kube-apiserver, moto_server and its children), no
// listening port, no temporary directory, no changed environment.
func TestDemoOnce(t *testing.T) {
	envBefore := os.Environ()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	var (
		out    lockedBuffer
		info   demo.Info
		during []proc
	)
	code := demo.Run(ctx, demo.Options{Once: true, Out: &out, Ready: func(i demo.Info) {
		info = i
		during = descendants(t, os.Getpid())
	}})
	t.Logf("demo output:\n%s", out.String())
	if code != 0 {
		t.Fatalf("demo --once exited %d", code)
	}
	if !strings.Contains(out.String(), "all 8 steps observed") {
		t.Errorf("demo --once exited 0 without reporting every step observed")
	}

	// etcd, kube-apiserver and moto_server at least: otherwise the checks below prove nothing.
	if len(during) < 3 {
		t.Fatalf("while the demo ran, %d processes descended from the test: %+v; want etcd, kube-apiserver and moto_server", len(during), during)
	}
	self := readProc(t, os.Getpid())
	groups := map[int]bool{}
	for _, p := range during {
		if p.pgid != self.pgid {
			groups[p.pgid] = true // moto_server's own process group
		}
	}
	// Everything is waited for before Run returns; poll briefly only for the kernel to reap.
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := leftovers(t, during, groups)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes the demo started are still there: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}

	for _, addr := range []string{hostOf(t, info.KubeHost), hostOf(t, info.MotoURL), hostOf(t, info.ProxyURL), info.MetricsAddr} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after the demo", addr)
		}
	}
	if info.Dir == "" {
		t.Error("the demo reported no directory")
	} else if _, err := os.Stat(info.Dir); !os.IsNotExist(err) {
		t.Errorf("the demo's directory %s is still there (stat: %v)", info.Dir, err)
	}
	if after := os.Environ(); strings.Join(after, "\n") != strings.Join(envBefore, "\n") {
		t.Errorf("the environment changed:\nbefore %v\nafter  %v", envBefore, after)
	}
}

// proc is one process as /proc tells it.
type proc struct {
	pid, ppid, pgid int
	start           string // start time in clock ticks: tells a process from a later one with its pid
	comm            string
}

func readProc(t *testing.T, pid int) proc {
	t.Helper()
	p, ok := statOf(pid)
	if !ok {
		t.Fatalf("no /proc/%d", pid)
	}
	return p
}

// statOf parses /proc/pid/stat.
func statOf(pid int) (proc, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return proc{}, false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return proc{}, false
	}
	f := strings.Fields(s[end+1:]) // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice threads itreal starttime
	if len(f) < 20 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	pgid, _ := strconv.Atoi(f[2])
	return proc{pid: pid, ppid: ppid, pgid: pgid, start: f[19], comm: s[open+1 : end]}, true
}

func all() []proc {
	entries, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := statOf(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// descendants lists the processes below pid, and every process in a process group one of them
// leads.
func descendants(t *testing.T, pid int) []proc {
	t.Helper()
	procs := all()
	ownGroup := readProc(t, pid).pgid
	below := map[int]bool{pid: true}
	for changed := true; changed; {
		changed = false
		for _, p := range procs {
			if !below[p.pid] && (below[p.ppid] || (p.pgid != ownGroup && below[p.pgid])) {
				below[p.pid], changed = true, true
			}
		}
	}
	var out []proc
	for _, p := range procs {
		if p.pid != pid && below[p.pid] {
			out = append(out, p)
		}
	}
	return out
}

// leftovers are the processes of during still alive, any child of this process, and any
// process in one of groups.
func leftovers(t *testing.T, during []proc, groups map[int]bool) []proc {
	t.Helper()
	var left []proc
	for _, p := range during {
		if now, ok := statOf(p.pid); ok && now.start == p.start {
			left = append(left, now)
		}
	}
	for _, p := range all() {
		if p.ppid == os.Getpid() || groups[p.pgid] {
			left = append(left, p)
		}
	}
	return left
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
