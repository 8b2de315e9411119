// Command targetsync-demo plays targetsync's job on a kube-apiserver, etcd and moto_server it
// starts on 127.0.0.1 (make demo). Ctrl-C stops everything it started and removes its files.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/targetsync/targetsync/internal/demo"
)

func main() {
	// The handler stays installed until Run has returned, so a second Ctrl-C during teardown
	// does not leave moto_server (in a process group of its own) or the control plane behind.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := demo.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
