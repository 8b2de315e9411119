package testenv

import (
	"bytes"
	"context"
	"sync"

	"github.com/targetsync/targetsync/pkg/app"
)

// Process is the targetsync command running in this test process, as main would run it.
type Process struct {
	cancel context.CancelFunc
	done   chan int
	out    *syncBuffer
	code   int
}

// Start runs `targetsync <args>` until Stop. The AWS SDK reads its endpoint and credentials
// from the environment, as in production.
func Start(args ...string) *Process {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Process{cancel: cancel, done: make(chan int, 1), out: &syncBuffer{}}
	go func() { p.done <- app.Main(ctx, args, p.out, p.out, "test") }()
	return p
}

// Stop cancels the command, as SIGTERM does, and returns its exit code.
func (p *Process) Stop() int {
	p.cancel()
	if p.done != nil {
		p.code = <-p.done
		p.done = nil
	}
	return p.code
}

// Exited returns the exit code and true if the command has returned on its own.
func (p *Process) Exited() (int, bool) {
	if p.done == nil {
		return p.code, true
	}
	select {
	case p.code = <-p.done:
		p.done = nil
		return p.code, true
	default:
		return 0, false
	}
}

// Output is what the command printed to stdout and stderr.
func (p *Process) Output() string { return p.out.String() }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Exec runs `targetsync <args>` to completion and returns its exit code, stdout and stderr.
func Exec(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut syncBuffer
	code := app.Main(ctx, args, &out, &errOut, "test")
	return code, out.String(), errOut.String()
}
