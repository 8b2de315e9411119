//go:build !nomoto

package sg

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/targetsync/targetsync/internal/motoserver"
)

// One moto server serves the whole package: starting it costs seconds, resetting it costs
// milliseconds. It is started by the first test that needs it and stopped by TestMain.
var moto struct {
	once   sync.Once
	server *motoserver.Server
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if moto.server != nil {
		moto.server.Stop()
	}
	os.Exit(code)
}

// motoEC2 returns a real EC2 client talking to a freshly reset moto server on loopback. A
// missing moto_server fails the test: these tests are the proof that the package speaks the
// real protocol, and a skip would hide their absence.
func motoEC2(t *testing.T) *ec2.Client {
	t.Helper()
	moto.once.Do(func() { moto.server, moto.err = motoserver.Start() })
	if moto.err != nil {
		t.Fatalf("moto: %v", moto.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := moto.server.Reset(ctx); err != nil {
		t.Fatalf("moto: %v", err)
	}
	motoserver.SetAWSEnv(t.Setenv, moto.server.URL)
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	return ec2.NewFromConfig(cfg)
}
