// Command targetsync keeps AWS NLB IP target groups equal to a Kubernetes cluster's worker
// nodes on the ingress controller's NodePort. See the README for the commands and flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/targetsync/targetsync/pkg/app"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal drains; after it the default handling is back, so a second one exits.
		<-ctx.Done()
		stop()
	}()
	os.Exit(app.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, version))
}
