package sg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// One moto server serves the whole package: starting it costs seconds, resetting it costs
// milliseconds. It is started by the first test that needs it and stopped by TestMain.
var moto struct {
	once   sync.Once
	url    string
	err    error
	cmd    *exec.Cmd
	exited chan struct{}
	log    *os.File
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopMoto()
	os.Exit(code)
}

// motoEC2 returns a real EC2 client talking to a freshly reset moto server on loopback. A
// missing moto_server fails the test: these tests are the proof that the package speaks the
// real protocol, and a skip would hide their absence.
func motoEC2(t *testing.T) *ec2.Client {
	t.Helper()
	moto.once.Do(startMoto)
	if moto.err != nil {
		t.Fatalf("moto: %v", moto.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, moto.url+"/moto-api/reset", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("moto: reset: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moto: reset: %s", resp.Status)
	}

	t.Setenv("AWS_ENDPOINT_URL", moto.url)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	return ec2.NewFromConfig(cfg)
}

func startMoto() {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		moto.err = fmt.Errorf("moto_server not found on PATH; install it with `pip install 'moto[server]'`: %w", err)
		return
	}
	port, err := freePort()
	if err != nil {
		moto.err = err
		return
	}
	if moto.log, err = os.CreateTemp("", "moto-*.log"); err != nil {
		moto.err = err
		return
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = moto.log, moto.log
	// Its own process group, so that stopping it stops whatever the launcher script started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		moto.err = fmt.Errorf("start %s: %w", bin, err)
		return
	}
	moto.cmd, moto.exited = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(moto.exited)
	}()
	moto.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitReady(moto.url+"/moto-api/", 60*time.Second); err != nil {
		moto.err = fmt.Errorf("%w; server log:\n%s", err, logTail())
	}
}

// freePort asks the kernel for a free loopback port. Another process could take it before
// moto binds it; moto then exits and waitReady says so.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls url until it answers 200, moto exits, or the deadline passes.
func waitReady(url string, within time.Duration) error {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: time.Second}
	for {
		if resp, err := client.Get(url); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-moto.exited:
			return errors.New("moto_server exited before it answered")
		case <-deadline.C:
			return fmt.Errorf("moto_server did not answer %s within %s", url, within)
		case <-tick.C:
		}
	}
}

func logTail() string {
	b, err := os.ReadFile(moto.log.Name())
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func stopMoto() {
	if moto.cmd != nil && moto.cmd.Process != nil {
		pid := moto.cmd.Process.Pid
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-moto.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-moto.exited
		}
	}
	if moto.log != nil {
		moto.log.Close()
		os.Remove(moto.log.Name())
	}
}
