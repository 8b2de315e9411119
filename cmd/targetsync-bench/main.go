// Command targetsync-bench runs the bin/targetsync binary through the benchmark scenarios of
// internal/bench and prints one table; see BENCHMARKS.md.
//
//	BENCH_NODES=5000 BENCH_OUT=bin/bench.json make bench
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/targetsync/targetsync/internal/bench"
)

func main() {
	var o bench.Options
	out := flag.String("out", env("BENCH_OUT", "bin/bench.json"), "where to write the table as JSON ($BENCH_OUT)")
	flag.StringVar(&o.Binary, "binary", env("BENCH_BINARY", "bin/targetsync"), "targetsync binary to measure ($BENCH_BINARY)")
	flag.IntVar(&o.Nodes, "nodes", envInt("BENCH_NODES", 1000), "nodes in the cluster before targetsync starts ($BENCH_NODES)")
	flag.IntVar(&o.Lone, "lone", 20, "lone joins, and as many leaves, to time")
	flag.IntVar(&o.Burst, "burst", 200, "nodes joining at once")
	flag.IntVar(&o.ColdStarts, "cold-starts", 3, "starts against an empty target group")
	flag.DurationVar(&o.Resync, "resync-period", 10*time.Second, "--resync-period of targetsync")
	flag.IntVar(&o.HeartbeatRounds, "heartbeat-rounds", 6, "rounds of 200 nodes re-posting their status every 10s")
	gomemlimit := flag.String("gomemlimit", os.Getenv("BENCH_GOMEMLIMIT"), "GOMEMLIMIT of targetsync, e.g. 40MiB ($BENCH_GOMEMLIMIT; default: none)")
	gomaxprocs := flag.String("gomaxprocs", env("BENCH_GOMAXPROCS", "1"), "GOMAXPROCS of targetsync, as the chart sets it from its CPU limit of 500m ($BENCH_GOMAXPROCS; \"\": Go's default)")
	flag.StringVar(&o.Dir, "dir", "", "keep the control plane files and targetsync logs here (default: a temp dir, removed)")
	flag.Parse()
	o.Args = flag.Args()
	if *gomemlimit != "" {
		o.Env = append(o.Env, "GOMEMLIMIT="+*gomemlimit)
	}
	if *gomaxprocs != "" {
		o.Env = append(o.Env, "GOMAXPROCS="+*gomaxprocs)
	}
	o.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, *out)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "targetsync-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o bench.Options, out string) error {
	res, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	if err := res.WriteTable(os.Stdout); err != nil {
		return err
	}
	if out == "" {
		return nil
	}
	if err := res.WriteJSON(out); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", out)
	return nil
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}
