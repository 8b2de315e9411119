package app

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func TestServePprofOff(t *testing.T) {
	stop, err := servePprof(context.Background(), zap.NewNop(), "0")
	if err != nil {
		t.Fatalf("off: %v", err)
	}
	stop()
}

func TestServePprofAnswers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := l.Addr().String()
	_ = l.Close()
	stop, err := servePprof(context.Background(), zap.NewNop(), ln)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + ln + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "heap profile") {
		t.Errorf("GET /debug/pprof/heap: %s\n%.200s", resp.Status, b)
	}
}
