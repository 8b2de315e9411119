package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"go.uber.org/zap"
)

// servePprof serves Go's profiles under /debug/pprof/ on addr until the returned stop is
// called; "0" or "" serves nothing. It is off by default: a profile shows what the process
// holds, so the address should be loopback, reached with kubectl port-forward.
func servePprof(ctx context.Context, log *zap.Logger, addr string) (func(), error) {
	if addr == "" || addr == "0" {
		return func() {}, nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (--pprof-bind-address): %w", addr, err)
	}
	// No write timeout: a CPU profile or trace streams for as long as ?seconds= asks.
	s := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	log.Info("serving profiles", zap.String("address", ln.Addr().String()))
	go func() {
		if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server stopped", zap.String("address", addr), zap.Error(err))
		}
	}()
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(sctx)
	}, nil
}
