// Package motoserver starts moto_server, which speaks the real AWS ELBv2 and EC2 protocols, on
// a free 127.0.0.1 port for tests. A missing moto_server is an error, never a skip.
package motoserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Server is a running moto_server.
type Server struct {
	URL string
	cmd *exec.Cmd
}

// Start starts moto_server on a free loopback port and waits until it answers.
func Start() (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New("moto_server is not on PATH: the integration tests need it (it ships with this machine image; pip install 'moto[server]' elsewhere)")
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = nil, nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	m := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(m.URL + "/moto-api/")
		if err == nil {
			_ = resp.Body.Close()
			return m, nil
		}
		if time.Now().After(deadline) {
			m.Stop()
			return nil, fmt.Errorf("moto_server did not answer on %s within 60s: %w", m.URL, err)
		}
		time.Sleep(100 * time.Millisecond) // polling an external process that is starting up
	}
}

// Reset drops every resource moto holds.
func (m *Server) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: %s", resp.Status)
	}
	return nil
}

// Stop kills moto_server and its children.
func (m *Server) Stop() {
	if m.cmd.Process != nil {
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		_ = m.cmd.Wait()
	}
}

// SetAWSEnv points the AWS SDK's standard environment at endpoint with test credentials.
// setenv is t.Setenv in tests.
func SetAWSEnv(setenv func(k, v string), endpoint string) {
	setenv("AWS_ENDPOINT_URL", endpoint)
	setenv("AWS_ACCESS_KEY_ID", "testing")
	setenv("AWS_SECRET_ACCESS_KEY", "testing")
	setenv("AWS_REGION", "us-east-1")
	setenv("AWS_EC2_METADATA_DISABLED", "true")
	setenv("AWS_CONFIG_FILE", os.DevNull)
	setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeAddr returns a free 127.0.0.1 address for a server the test starts.
func FreeAddr() (string, error) {
	p, err := freePort()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", p), nil
}
