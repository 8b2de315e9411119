package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// process is one targetsync binary running under the harness.
type process struct {
	cmd     *exec.Cmd
	started time.Time
	metrics string // host:port of /metrics
	logFile *os.File

	mu     sync.Mutex
	synced time.Time // "caches synced; starting", as the binary stamped it
	done   chan struct{}
}

// startProcess runs bin with args and env, logging to logPath.
func startProcess(bin string, args, env []string, metrics, logPath string) (*process, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	cmd.Stdout = f
	p := &process{cmd: cmd, metrics: metrics, logFile: f, done: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go p.readLog(stderr)
	return p, nil
}

// readLog copies the binary's log to its file and notes when the caches were synced.
func (p *process) readLog(r io.Reader) {
	defer close(p.done)
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		line := s.Bytes()
		_, _ = p.logFile.Write(append(line, '\n'))
		if !strings.Contains(string(line), "caches synced; starting") {
			continue
		}
		var entry struct {
			TS string `json:"ts"`
		}
		if json.Unmarshal(line, &entry) == nil {
			if t, err := time.Parse(time.RFC3339Nano, entry.TS); err == nil {
				p.mu.Lock()
				p.synced = t
				p.mu.Unlock()
			}
		}
	}
}

func (p *process) cachesSynced() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.synced
}

// stop ends the binary as Kubernetes does, with SIGTERM, and waits for it.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	timer := time.AfterFunc(30*time.Second, func() { _ = p.cmd.Process.Kill() })
	_ = p.cmd.Wait()
	timer.Stop()
	<-p.done
	_ = p.logFile.Close()
}

// exited reports an early exit of the binary as an error.
func (p *process) exited() error {
	if p.cmd.ProcessState != nil {
		return fmt.Errorf("targetsync exited: %s (log: %s)", p.cmd.ProcessState, p.logFile.Name())
	}
	select {
	case <-p.done:
		return fmt.Errorf("targetsync closed its log (log: %s)", p.logFile.Name())
	default:
		return nil
	}
}

// usage is the binary's memory and CPU as /proc reports them.
type usage struct {
	RSS, PeakRSS int64 // bytes: VmRSS and VmHWM
	// Anon is RssAnon: RSS less the pages of the binary itself (RssFile), which the kernel
	// can drop and read again. GOMEMLIMIT bounds this part.
	Anon int64
	CPU  float64
}

func (p *process) usage() (usage, error) {
	var u usage
	pid := p.cmd.Process.Pid
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			u.RSS = kb << 10
		case "VmHWM:":
			u.PeakRSS = kb << 10
		case "RssAnon:":
			u.Anon = kb << 10
		}
	}
	if b, err = os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err != nil {
		return u, err
	}
	// The fields after the command name, which is in parentheses and may hold spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	u.CPU = (utime + stime) / 100 // USER_HZ
	return u, nil
}

// scrape reads the binary's metrics and returns the samples whose name and labels start with
// one of prefixes, summed by that prefix.
func (p *process) scrape(ctx context.Context, prefixes ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.metrics+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	// Uncompressed: gzip is most of what a scrape costs the binary, and the harness polls.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(prefixes))
	for line := range strings.SplitSeq(string(b), "\n") {
		for _, pre := range prefixes {
			if !strings.HasPrefix(line, pre) {
				continue
			}
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err == nil {
				out[pre] += v
			}
		}
	}
	return out, nil
}

const (
	metricSyncs   = "targetsync_syncs_total{"
	metricChanges = "targetsync_target_changes_total{"
)

// changes is the number of target changes the binary has counted so far.
func (p *process) changes(ctx context.Context) (float64, error) {
	m, err := p.scrape(ctx, metricChanges)
	return m[metricChanges], err
}

// waitQuiet waits, after a change in the cluster that the binary answers with a write, until
// the sync that wrote it has been followed by one that changed nothing: whatever the binary
// was going to write for what it has seen, it has written, and it holds nothing back. before
// is the binary's count of target changes from before the change in the cluster. Syncs of one
// binding run one at a time, so a sync counted after the scrape that first shows the write
// started after the write's sync had ended.
func (p *process) waitQuiet(ctx context.Context, before float64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	baseSyncs, baseChanges := -1.0, -1.0
	for {
		if err := p.exited(); err != nil {
			return err
		}
		m, err := p.scrape(ctx, metricSyncs, metricChanges)
		if err == nil && m[metricChanges] > before {
			s, c := m[metricSyncs], m[metricChanges]
			if baseSyncs >= 0 && c == baseChanges && s > baseSyncs {
				// A sync's count goes up a moment before its changes: look once more.
				if m, err = p.scrape(ctx, metricChanges); err == nil && m[metricChanges] == c {
					return nil
				}
			}
			if baseSyncs < 0 || c != baseChanges {
				baseSyncs, baseChanges = s, c
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no sync that changed nothing within %s (last: %w)", timeout, err)
		}
		if err := pause(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

// pause is the polling interval of the harness's waits; it never stands in for an event.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

var errTimeout = errors.New("timed out")
