package integration

// Fault scenarios: AWS failing the way AWS fails (through the double in internal/testenv), the
// API server restarting, the process killed mid-apply, the leader killed, a mass cordon, a
// full target quota, targets AWS refuses and a throttled EC2. In every scenario, after every
// step, no target of a node that stayed eligible is ever deregistered (faultWorld.check), and
// once the fault clears the target group converges to exactly the eligible nodes. Each
// scenario logs one line
//
//	reliability: scenario=<name> converge=<duration> wrongful_deregistrations=<n> [...]
//
// that RELIABILITY.md quotes.

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/targetsync/targetsync/internal/testenv"
)

// TestFaultELBOperations fails each ELB operation targetsync calls, first a few times (the
// SDK's retryer absorbs it), then for good while nodes come and go and the health-check
// NodePort moves, and checks that what does not depend on the failing operation goes ahead,
// that the replica stays ready, and that everything converges once the fault clears.
//
// On f3af150 the persistent RegisterTargets and ModifyTargetGroup cases fail: Apply stopped at
// the first error, so while RegisterTargets failed nothing was modified or deregistered (the
// deleted node's target stayed), and while ModifyTargetGroup failed nothing was deregistered.
// Every persistent case fails there on readiness too: /readyz went unready after three resync
// periods without a successful sync, which is why each fault is held for at least 4 s with a 1 s
// resync period.
func TestFaultELBOperations(t *testing.T) {
	transient := []struct {
		name  string
		fault testenv.Fault
	}{
		{"throttling", testenv.Throttling()},
		{"5xx", testenv.ServerError()},
		{"reset", testenv.ConnectionReset()},
	}
	// during is what must have happened while op fails for good, given the node that joined,
	// the node that left and the health-check port asked for; nil: nothing can be written.
	type during func(w *faultWorld, joined, left string, hc int32) (bool, string)
	registered := func(w *faultWorld, joined, _ string, _ int32) (bool, string) {
		return w.has(joined), joined + " registered"
	}
	deregistered := func(w *faultWorld, _, left string, _ int32) (bool, string) {
		return w.deregistered(left), left + " deregistered"
	}
	healthCheck := func(w *faultWorld, _, _ string, hc int32) (bool, string) {
		got := w.healthCheckPort()
		return got == fmt.Sprint(hc), "health-check port " + got
	}
	all := func(cs ...during) during {
		return func(w *faultWorld, joined, left string, hc int32) (bool, string) {
			var seen []string
			for _, c := range cs {
				ok, s := c(w, joined, left, hc)
				if !ok {
					return false, "waiting for " + s
				}
				seen = append(seen, s)
			}
			return true, strings.Join(seen, ", ")
		}
	}
	cases := []struct {
		op         string
		persistent string
		fault      testenv.Fault
		during     during
	}{
		// Nothing can be planned without the target group's state: nothing is written.
		{"DescribeTargetGroups", "throttling", testenv.Throttling(), nil},
		{"DescribeTargetHealth", "reset", testenv.ConnectionReset(), nil},
		// Tags are read at most every 10 minutes and after a health-check change; when the read
		// fails, the tags read before serve, so every change goes ahead.
		{"DescribeTags", "5xx", testenv.ServerError(), all(registered, healthCheck, deregistered)},
		{"RegisterTargets", "throttling", testenv.Throttling(), all(healthCheck, deregistered)},
		{"DeregisterTargets", "503", testenv.Unavailable(), all(registered, healthCheck)},
		{"ModifyTargetGroup", "reset", testenv.ConnectionReset(), all(registered, deregistered)},
	}
	for i, tc := range cases {
		t.Run(tc.op, func(t *testing.T) {
			w := faultNewWorld(t)
			hc := int32(30200)
			w.healthCheckService(hc)
			net3 := 10 + i
			ip := func(n int) string { return fmt.Sprintf("10.0.%d.%d", net3, n) }
			var order []string // eligible IPs, oldest first
			next := 1
			join := func() string {
				a := ip(next)
				w.join(fmt.Sprintf("elb-%d-%d", i, next), a)
				order = append(order, a)
				next++
				return a
			}
			for range 3 {
				join()
			}
			probes := faultAddr(t)
			w.start("--health-check-service", w.ns+"/"+faultHealthCheckName, "--health-check-service-port", "healthz",
				"--resync-period", "1s", "--min-sync-interval", "100ms", "--health-probe-bind-address", probes)
			hcIs := func() (bool, string) { return healthCheck(w, "", "", hc) }
			w.converge(30*time.Second, hcIs)

			// churn: a node joins, the oldest is deleted, the health-check NodePort moves, so
			// every operation is called.
			churn := func() (joined, left string) {
				joined = join()
				left, order = order[0], order[1:]
				w.remove(left)
				hc++
				w.setNodePort(faultHealthCheckName, hc)
				return joined, left
			}

			for _, tr := range transient {
				base := proxy.Count(tc.op)
				proxy.FailNext(tc.op, tr.fault, 2)
				start := time.Now()
				churn()
				w.converge(60*time.Second, func() (bool, string) {
					if ok, s := hcIs(); !ok {
						return false, s
					}
					n := proxy.Count(tc.op) - base
					return n >= 3, fmt.Sprintf("%d %s calls since the fault was set, want the 2 failed ones and a good one", n, tc.op)
				})
				w.report(fmt.Sprintf("elb/%s/transient-%s", tc.op, tr.name), time.Since(start))
			}

			// The fault persists while nodes come and go.
			targetWrites := func() int {
				return proxy.Count("RegisterTargets") + proxy.Count("DeregisterTargets") + proxy.Count("ModifyTargetGroup")
			}
			base, wrote := proxy.Count(tc.op), targetWrites()
			proxy.FailNext(tc.op, tc.fault, -1)
			churned := time.Now()
			joined, left := churn()
			unready := 0
			var wentAhead time.Duration // churn to what does not depend on op being done
			w.hold(4*time.Second, 90*time.Second, tc.op+" failing while the rest goes ahead", func() (bool, string) {
				if c := faultGet(probes, "/readyz"); c != 200 {
					unready++
					if unready == 1 {
						t.Errorf("/readyz = %d while %s fails; AWS trouble must not make the replica unready", c, tc.op)
					}
				}
				if n := proxy.Count(tc.op) - base; n < 3 {
					return false, fmt.Sprintf("%d failed %s calls", n, tc.op)
				}
				if tc.during == nil {
					return true, ""
				}
				ok, seen := tc.during(w, joined, left, hc)
				if ok && wentAhead == 0 {
					wentAhead = time.Since(churned)
				}
				return ok, seen
			})
			if tc.during == nil {
				if n := targetWrites() - wrote; n != 0 {
					t.Errorf("%d writes while %s failed; nothing can be planned without it", n, tc.op)
				}
			}
			if tc.op == "RegisterTargets" && w.has(joined) {
				t.Errorf("%s registered while every RegisterTargets failed", joined)
			}
			if tc.op == "DeregisterTargets" && w.deregistered(left) {
				t.Errorf("%s deregistered while every DeregisterTargets failed", left)
			}
			if tc.op == "DescribeTags" {
				// The health-check change made the tags due for a read, which fails from now
				// on: a node joining still goes in, checked against the tags read before.
				late := join()
				w.hold(0, 30*time.Second, "a node joining while the tags cannot be read", func() (bool, string) {
					return w.has(late), late + " not registered"
				})
			}

			proxy.ClearFaults()
			d := w.converge(90*time.Second, hcIs)
			var extra []string
			if tc.during != nil {
				extra = append(extra, "went_ahead="+wentAhead.Round(time.Millisecond).String())
			}
			w.report(fmt.Sprintf("elb/%s/persistent-%s", tc.op, tc.persistent), d, extra...)
		})
	}
}

// TestFaultAPIServerRestart restarts kube-apiserver under a running controller. While it is
// down the controller keeps syncing from its informer cache: nothing is deregistered, and a
// target removed by hand in AWS is put back. Once it is back, a node joining is registered and
// a node deleted is deregistered, so the watches were re-established. The API server is left
// healthy for the tests that follow.
func TestFaultAPIServerRestart(t *testing.T) {
	w := faultNewWorld(t)
	for i := 1; i <= 3; i++ {
		w.join(fmt.Sprintf("api-%d", i), fmt.Sprintf("10.0.20.%d", i))
	}
	w.start("--resync-period", "1s", "--min-sync-interval", "100ms")
	w.converge(30*time.Second, nil)

	u, err := url.Parse(kube.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	up := func() bool {
		c, err := net.DialTimeout("tcp", u.Host, 200*time.Millisecond)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	}

	done := make(chan error, 1)
	restart := time.Now()
	go func() { done <- kube.RestartAPIServer() }()
	var downAt time.Time
	var syncsBefore int
	putBack := false
	drifted := "10.0.20.2"
wait:
	for {
		select {
		case err := <-done:
			if err != nil {
				// Leave a working API server to the tests that follow, if at all possible.
				if err2 := kube.RestartAPIServer(); err2 != nil {
					t.Errorf("second restart: %v", err2)
				}
				t.Fatal(err)
			}
			break wait
		case <-time.After(50 * time.Millisecond): // polling interval while the restart runs
		}
		w.check()
		if downAt.IsZero() && !up() {
			downAt = time.Now()
			syncsBefore = proxy.Count("DescribeTargetHealth")
			// Drift made by hand while the API server is down: only a sync from the cache
			// can put it back.
			if err := w.aws.Deregister(w.ctx, w.nlb.TargetGroupARN, drifted, w.port); err != nil {
				t.Fatal(err)
			}
		}
		if !downAt.IsZero() && !putBack && w.has(drifted) {
			putBack = true
		}
	}
	back := time.Now()
	if downAt.IsZero() {
		t.Fatalf("kube-apiserver was never seen down during a restart of %s", back.Sub(restart))
	}
	syncsDown := proxy.Count("DescribeTargetHealth") - syncsBefore
	if syncsDown == 0 || !putBack {
		t.Errorf("kube-apiserver down for %s: %d syncs, target removed by hand put back: %v; the controller must keep syncing from its cache",
			back.Sub(downAt), syncsDown, putBack)
	}
	t.Logf("kube-apiserver down for %s (restart took %s); %d syncs while down; target removed by hand put back while down: %v",
		back.Sub(downAt).Round(time.Millisecond), back.Sub(restart).Round(time.Millisecond), syncsDown, putBack)
	w.check()
	if _, err := kube.Client.CoreV1().Nodes().List(w.ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("API server not usable after the restart: %v", err)
	}

	w.join("api-4", "10.0.20.4")
	w.remove("10.0.20.1")
	w.converge(60*time.Second, nil)
	w.report("apiserver-restart", time.Since(back), fmt.Sprintf("down=%s syncs_while_down=%d put_back_while_down=%v",
		back.Sub(downAt).Round(time.Millisecond), syncsDown, putBack))
}

// TestFaultSIGKILLDuringRegisterTargets kills the real binary while its RegisterTargets call
// is in flight, then starts a fresh one. Either the call reached AWS (AWS carries out a request
// it received in full) or it was lost on the way; in both cases the fresh process converges,
// registers each target once, and deregisters only the node deleted while nothing ran.
func TestFaultSIGKILLDuringRegisterTargets(t *testing.T) {
	bin := faultBinary(t)
	for i, tc := range []struct {
		name string
		lost bool
	}{{"reached AWS", false}, {"lost", true}} {
		t.Run(tc.name, func(t *testing.T) {
			w := faultNewWorld(t)
			ip := func(n int) string { return fmt.Sprintf("10.0.%d.%d", 30+i, n) }
			w.join("kill-1", ip(1))
			w.join("kill-2", ip(2))
			args := w.args("--resync-period", "2s", "--min-sync-interval", "100ms")
			first := faultExec(t, "first process", bin, args...)
			w.converge(30*time.Second, nil)

			journal := len(proxy.Registered())
			release := proxy.Hold("RegisterTargets")
			t.Cleanup(release)
			held := proxy.Held("RegisterTargets")
			w.join("kill-3", ip(3))
			w.join("kill-4", ip(4))
			select {
			case <-held:
			case <-time.After(30 * time.Second):
				t.Fatal("no RegisterTargets call within 30s of two nodes joining")
			}
			first.kill(t)
			if tc.lost {
				proxy.FailNext("RegisterTargets", testenv.ConnectionReset(), 1)
			}
			release()
			if !tc.lost {
				// AWS carries out what it received in full; the held call names kill-3, and
				// kill-4 if it had joined when the sync read the cache.
				eventually(t, 30*time.Second, "the held call carried out", func() (bool, string) {
					got := proxy.Registered()[journal:]
					return len(got) > 0, "nothing registered yet"
				})
			}
			w.remove(ip(1)) // while no process runs

			faultExec(t, "second process", bin, args...)
			d := w.converge(30*time.Second, nil)
			reg := proxy.Registered()
			for _, n := range []int{3, 4} {
				k := testenv.Expect(w.port, ip(n))[0]
				if c := faultCount(reg, k); c != 1 {
					t.Errorf("%s registered %d times, want once: %v", k, c, reg)
				}
			}
			name := "sigkill-mid-register/reached"
			if tc.lost {
				name = "sigkill-mid-register/lost"
			}
			w.report(name, d)
		})
	}
}

// TestFaultLeaderKilled runs two replicas of the real binary with --leader-elect and SIGKILLs
// the leader, so its Lease is not released. The standby takes over once the Lease expires and
// registers a node that joined meanwhile; until then it has made no write.
func TestFaultLeaderKilled(t *testing.T) {
	bin := faultBinary(t)
	w := faultNewWorld(t)
	w.join("lead-1", "10.0.40.1")
	addrs := []string{faultAddr(t), faultAddr(t)}
	procs := make([]*faultProc, 2)
	for i := range procs {
		procs[i] = faultExec(t, fmt.Sprintf("replica %d", i), bin, w.args("--leader-elect", "--leader-election-namespace", w.ns,
			"--metrics-bind-address", addrs[i], "--resync-period", "2s", "--min-sync-interval", "100ms")...)
	}
	w.converge(60*time.Second, nil)
	leader := -1
	eventually(t, 30*time.Second, "exactly one leader", func() (bool, string) {
		var seen []string
		leader = -1
		n := 0
		for i, a := range addrs {
			m, err := faultScrape(a)
			if err != nil {
				return false, err.Error()
			}
			v := faultMetric(m, "targetsync_is_leader")
			seen = append(seen, fmt.Sprint(v))
			if v == 1 {
				n++
				leader = i
			}
		}
		return n == 1, "is_leader " + strings.Join(seen, ", ")
	})
	standby := 1 - leader

	procs[leader].kill(t)
	killed := time.Now()
	w.join("lead-2", "10.0.40.2")
	var takeover time.Duration
	eventually(t, 60*time.Second, "the standby leads", func() (bool, string) {
		w.check()
		m, err := faultScrape(addrs[standby])
		if err != nil {
			return false, err.Error()
		}
		if faultMetric(m, "targetsync_is_leader") == 1 {
			takeover = time.Since(killed)
			return true, ""
		}
		if calls := faultMutatingCalls(m); len(calls) > 0 {
			t.Fatalf("the standby wrote before it led: %v", calls)
		}
		return false, "standby not leading yet"
	})
	w.converge(30*time.Second, nil)
	registered := time.Since(killed)
	// The Lease (15 s) was not released: the standby had to wait for it to expire.
	if takeover < 10*time.Second || takeover > 30*time.Second {
		t.Errorf("takeover after %s, want the Lease duration (15 s) give or take a renew period", takeover)
	}
	w.report("leader-sigkill", registered, fmt.Sprintf("takeover=%s", takeover.Round(time.Millisecond)))
}

// TestFaultMassCordon is a node-group upgrade: 8 of 11 healthy nodes are cordoned, with and
// without 8 replacements joining, while the double reports new targets initial for 3 s and
// deregistered ones draining for 5 s, as AWS does. Target health is read through the double
// every 100 ms, from just before the cordon until the target group has converged and every
// target in it is healthy; at every observation the healthy targets must be at least
// ⌈0.66 × H⌉, H being the most healthy seen within the last --capacity-window (10 s).
//
// On f3af150 (no capacity guard) it fails: all 8 cordoned targets go at once while the
// replacements are still initial, leaving 3 healthy of 11; the "guard off" case reproduces
// that with --max-deregister-fraction 1 and requires the observation to catch it.
func TestFaultMassCordon(t *testing.T) {
	t.Run("with replacements", func(t *testing.T) {
		r := faultMassCordon(t, 8, "0.34")
		if r.violations > 0 {
			t.Errorf("healthy targets below ⌈0.66 × H⌉ at %d observations; lowest %d of %d", r.violations, r.lowest, r.lowestHigh)
		}
		if r.converge > 60*time.Second {
			t.Errorf("converged after %s, want within 6 capacity windows", r.converge)
		}
	})
	t.Run("without replacements", func(t *testing.T) {
		r := faultMassCordon(t, 0, "0.34")
		if r.violations > 0 {
			t.Errorf("healthy targets below ⌈0.66 × H⌉ at %d observations; lowest %d of %d", r.violations, r.lowest, r.lowestHigh)
		}
		if r.converge > 90*time.Second {
			t.Errorf("converged after %s, want within 9 capacity windows", r.converge)
		}
	})
	t.Run("guard off", func(t *testing.T) {
		r := faultMassCordon(t, 8, "1")
		if r.violations == 0 {
			t.Errorf("with --max-deregister-fraction 1 the healthy targets never went below ⌈0.66 × H⌉ (lowest %d of %d): the observation cannot tell the guard from its absence", r.lowest, r.lowestHigh)
		}
	})
}

// faultCordonResult is what one mass cordon measured.
type faultCordonResult struct {
	lowest, lowestHigh int // the fewest healthy targets seen, and H then
	tight, tightHigh   int // the observation closest to the floor: lowest healthy/H
	high               int // the highest H
	violations         int // observations below ⌈0.66 × H⌉
	observations       int
	path               []int         // the healthy counts seen, each change once
	converge           time.Duration // cordon to the target group holding the eligible nodes
	dip                time.Duration // cordon to every target healthy again
}

func faultMassCordon(t *testing.T, replacements int, fraction string) faultCordonResult {
	const window = 10 * time.Second
	w := faultNewWorld(t)
	proxy.SetInitialFor(3 * time.Second)
	proxy.SetDeregistrationDelay(5 * time.Second)
	var old []string
	for i := 1; i <= 11; i++ {
		ip := fmt.Sprintf("10.0.50.%d", i)
		w.join(fmt.Sprintf("old-%02d", i), ip)
		old = append(old, ip)
	}
	w.start("--capacity-window", window.String(), "--max-deregister-fraction", fraction)
	w.converge(30*time.Second, nil)
	double := faultAWS(t)
	eventually(t, 30*time.Second, "11 healthy targets", func() (bool, string) {
		h, err := faultDescribeHealth(w.ctx, double, w.nlb.TargetGroupARN)
		if err != nil {
			return false, err.Error()
		}
		return h.count("healthy") == 11, fmt.Sprint(h.state)
	})

	type sample struct {
		at      time.Time
		healthy int
	}
	var (
		mu      sync.Mutex
		samples []sample
		last    = -1
		res     = faultCordonResult{lowest: -1, tight: -1}
	)
	// observe reads target health through the double and judges it against the floor of the
	// high-water mark of the last window, as the guard does.
	observe := func() {
		h, err := faultDescribeHealth(w.ctx, double, w.nlb.TargetGroupARN)
		if err != nil {
			t.Errorf("DescribeTargetHealth through the double: %v", err)
			return
		}
		now, healthy := time.Now(), h.count("healthy")
		mu.Lock()
		defer mu.Unlock()
		samples = append(samples, sample{now, healthy})
		high := 0
		for _, s := range samples {
			if now.Sub(s.at) <= window {
				high = max(high, s.healthy)
			}
		}
		if len(res.path) == 0 || res.path[len(res.path)-1] != healthy {
			res.path = append(res.path, healthy)
		}
		last = healthy
		res.observations++
		res.high = max(res.high, high)
		if res.lowest < 0 || healthy < res.lowest || (healthy == res.lowest && high > res.lowestHigh) {
			res.lowest, res.lowestHigh = healthy, high
		}
		if res.tight < 0 || healthy*res.tightHigh < res.tight*high {
			res.tight, res.tightHigh = healthy, high
		}
		if healthy < faultFloor(high) {
			res.violations++
			if res.violations == 1 {
				t.Logf("below the floor: %d healthy, H=%d within %s, floor %d; states %v", healthy, high, window, faultFloor(high), h.state)
			}
		}
	}
	observe()
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond): // observation interval
			}
			observe()
		}
	}()

	start := time.Now()
	for i := range 8 {
		w.cordon(old[i])
		if i < replacements {
			w.join(fmt.Sprintf("new-%02d", i+1), fmt.Sprintf("10.0.51.%d", i+1))
		}
	}
	w.converge(120*time.Second, nil)
	res.converge = time.Since(start)
	want := len(w.want())
	eventually(t, 30*time.Second, "every target healthy", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return last == want, fmt.Sprintf("%d healthy of %d", last, want)
	})
	res.dip = time.Since(start)
	close(stop)
	<-stopped

	name := "mass-cordon/replacements"
	switch {
	case fraction == "1":
		name = "mass-cordon/guard-off"
	case replacements == 0:
		name = "mass-cordon/no-replacements"
	}
	path := make([]string, len(res.path))
	for i, n := range res.path {
		path[i] = fmt.Sprint(n)
	}
	w.report(name, res.converge, fmt.Sprintf("lowest_healthy=%d/%d tightest=%d/%d high=%d below_floor=%d observations=%d all_healthy=%s healthy_path=%s",
		res.lowest, res.lowestHigh, res.tight, res.tightHigh, res.high, res.violations, res.observations, res.dip.Round(time.Millisecond), strings.Join(path, ">")))
	return res
}

// TestFaultTargetQuota fills the target group's quota in a burst where three nodes join and
// one is deleted: the deleted node's target goes, the joiners that fit are registered and the
// rest wait, visibly. The controller tries again when a target leaves (or after 10 minutes);
// with the quota raised and a node deleted, everything converges.
//
// On f3af150 it fails: RegisterTargets failing with TooManyTargets stopped Apply, so nothing
// was registered and the deleted node's target was never deregistered.
func TestFaultTargetQuota(t *testing.T) {
	w := faultNewWorld(t)
	ip := func(n int) string { return fmt.Sprintf("10.0.60.%d", n) }
	for n := 1; n <= 4; n++ {
		w.join(fmt.Sprintf("quota-%d", n), ip(n))
	}
	addr := faultAddr(t)
	w.start("--metrics-bind-address", addr, "--resync-period", "2s", "--min-sync-interval", "100ms")
	w.converge(30*time.Second, nil)

	proxy.SetTargetQuota(5) // the group holds 4
	start := time.Now()
	w.remove(ip(1))
	for n := 5; n <= 7; n++ {
		w.join(fmt.Sprintf("quota-%d", n), ip(n))
	}
	eventually(t, 30*time.Second, "the deleted target gone, what fits registered, the rest waiting", func() (bool, string) {
		w.check()
		got, err := w.targets()
		if err != nil {
			return false, err.Error()
		}
		joined := 0
		for n := 5; n <= 7; n++ {
			if w.has(ip(n)) {
				joined++
			}
		}
		pending := faultMetric(faultScrapeOrEmpty(addr), "targetsync_pending_registrations", "reason=quota")
		ok := !w.has(ip(1)) && w.has(ip(2)) && w.has(ip(3)) && w.has(ip(4)) && joined == 2 && pending == 1
		return ok, fmt.Sprintf("targets %v, pending{reason=quota}=%v", got, pending)
	})
	partial := time.Since(start)
	if !w.deregistered(ip(1)) {
		t.Errorf("the deleted node's target left without a DeregisterTargets")
	}
	eventually(t, 30*time.Second, "TargetQuotaReached Event on the Service", func() (bool, string) {
		return faultEvent(w.ctx, w.ns, "Service", faultIngressName, "TargetQuotaReached", "target quota is reached")
	})

	// Raising the quota alone is noticed after 10 minutes (quotaRetryAfter); a target leaving
	// makes the controller try at once.
	proxy.SetTargetQuota(0)
	w.remove(ip(2))
	d := w.converge(30*time.Second, func() (bool, string) {
		pending := faultMetric(faultScrapeOrEmpty(addr), "targetsync_pending_registrations", "reason=quota")
		return pending == 0, fmt.Sprintf("pending{reason=quota}=%v", pending)
	})
	w.report("target-quota", d, fmt.Sprintf("partial=%s", partial.Round(time.Millisecond)))
}

func faultScrapeOrEmpty(addr string) string {
	m, _ := faultScrape(addr)
	return m
}

// TestFaultTargetsAWSRefuses starts the controller on five nodes: three in the VPC, one
// outside it (AWS wants AvailabilityZone all for that one and refuses it without) and one AWS
// rejects with a ValidationError. One sync registers every node but the rejected one, the one
// outside the VPC in zone all, and reports the rejection on the Node, in
// targetsync_rejected_targets and in the log. A rejected target is tried again after 10
// minutes or by a fresh process: once AWS accepts it, a restart converges.
//
// On f3af150 it fails: the one RegisterTargets carrying all five failed whole with
// ValidationError and Apply stopped, so no node was registered at all.
func TestFaultTargetsAWSRefuses(t *testing.T) {
	w := faultNewWorld(t)
	proxy.SetVPCCIDRs(netip.MustParsePrefix("10.0.0.0/16"))
	const outside, rejected = "192.168.5.5", "10.0.70.9"
	msg := fmt.Sprintf("The IP address '%s' is reserved and cannot be used as a target", rejected)
	proxy.RejectTarget(rejected, "ValidationError", msg)
	w.join("vpc-1", "10.0.70.1")
	w.join("vpc-2", "10.0.70.2")
	w.join("vpc-3", "10.0.70.3")
	w.join("outside", outside)
	w.join("rejected", rejected)
	addr := faultAddr(t)
	// The verify sync waits --min-sync-interval after a changing sync: while it waits, one
	// DescribeTargetHealth means one sync.
	args := []string{"--metrics-bind-address", addr, "--resync-period", "10s", "--min-sync-interval", "3s"}
	p := w.start(args...)
	start := time.Now()
	var described int
	eventually(t, 30*time.Second, "every node but the rejected one registered, the rejection reported", func() (bool, string) {
		w.check()
		described = proxy.Count("DescribeTargetHealth")
		got, err := w.targets()
		if err != nil {
			return false, err.Error()
		}
		n := faultMetric(faultScrapeOrEmpty(addr), "targetsync_rejected_targets", "reason=ValidationError")
		want := slices.DeleteFunc(w.want(), func(k string) bool { return strings.HasPrefix(k, rejected+":") })
		return slices.Equal(got, want) && n == 1, fmt.Sprintf("targets %v, want %v; rejected_targets{reason=ValidationError}=%v", got, want, n)
	})
	registered := time.Since(start)
	if described != 1 {
		t.Errorf("registering the nodes took %d syncs, want 1", described)
	}
	h, err := faultDescribeHealth(w.ctx, faultAWS(t), w.nlb.TargetGroupARN)
	if err != nil {
		t.Fatal(err)
	}
	for k, z := range h.zone {
		if want := strings.HasPrefix(k, outside+":"); want != (z == "all") {
			t.Errorf("target %s in AvailabilityZone %q through the double", k, z)
		}
	}
	eventually(t, 30*time.Second, "TargetRejected Event on the Node", func() (bool, string) {
		return faultEvent(w.ctx, "", "Node", "rejected", "TargetRejected", msg)
	})
	if !strings.Contains(p.Output(), "target rejected by AWS") {
		t.Errorf("the rejection is not logged")
	}
	w.report("refused-targets", registered, fmt.Sprintf("syncs=%d zones=%v", described, h.zone))

	proxy.AllowTarget(rejected)
	p.Stop()
	w.start(args...)
	d := w.converge(30*time.Second, nil)
	w.report("refused-targets/after-allow-and-restart", d)
}

// TestFaultEC2Throttled throttles every EC2 call while security groups are managed: nodes
// joining and leaving are registered and deregistered on the NodePort already in use within
// seconds, both right away and once the rules reconcile has failed; once EC2 answers again,
// everything converges and the rules are still right.
//
// On f3af150 it fails: the security-group reconcile ran inside each binding's sync and its
// error returned before any target change, so no node was registered or deregistered while
// EC2 was throttled.
func TestFaultEC2Throttled(t *testing.T) {
	w := faultNewWorld(t)
	out, err := w.aws.EC2.CreateSecurityGroup(w.ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("workers"), Description: aws.String("worker nodes"), VpcId: aws.String(w.nlb.VpcID),
	})
	if err != nil {
		t.Fatal(err)
	}
	group := aws.ToString(out.GroupId)
	rules := func() (bool, string) {
		got, err := faultIngressRules(w, group)
		if err != nil {
			return false, err.Error()
		}
		want := []string{"tcp 30080-30080 10.0.0.0/16"}
		return slices.Equal(got, want), fmt.Sprintf("rules %v, want %v", got, want)
	}
	ip := func(n int) string { return fmt.Sprintf("10.0.80.%d", n) }
	w.join("ec2-1", ip(1))
	w.join("ec2-2", ip(2))
	addr := faultAddr(t)
	w.start("--security-group-id", group, "--source", "vpc-cidr", "--metrics-bind-address", addr,
		"--resync-period", "1s", "--min-sync-interval", "100ms")
	w.converge(30*time.Second, rules)

	actions := []string{"DescribeSecurityGroupRules", "DescribeSecurityGroups", "DescribeVpcs", "DescribeNetworkInterfaces",
		"AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress", "CreateTags"}
	for _, a := range actions {
		proxy.FailNext(a, testenv.RequestLimitExceeded(), -1)
	}
	retries := func() float64 {
		return faultMetric(faultScrapeOrEmpty(addr), "targetsync_security_group_syncs_total", "result=retry")
	}
	before := max(retries(), 0)

	w.join("ec2-3", ip(3))
	w.remove(ip(1))
	first := w.converge(30*time.Second, nil)

	// Once a reconcile has failed for good, the cached EC2 reads are dropped.
	eventually(t, 60*time.Second, "a failed security-group reconcile", func() (bool, string) {
		w.check()
		n := retries()
		return n > before, fmt.Sprintf("security_group_syncs_total{result=retry}=%v", n)
	})
	w.join("ec2-4", ip(4))
	w.remove(ip(2))
	second := w.converge(60*time.Second, nil)
	for i, d := range []time.Duration{first, second} {
		if d > 5*time.Second {
			t.Errorf("churn %d under EC2 throttling converged after %s, want within 5 s: EC2 trouble must not hold up targets on a port in use", i+1, d)
		}
	}

	proxy.ClearFaults()
	d := w.converge(60*time.Second, rules)
	w.report("ec2-throttled", d, fmt.Sprintf("during_first=%s during_after_failed_reconcile=%s",
		first.Round(time.Millisecond), second.Round(time.Millisecond)))
}

// faultIngressRules lists a security group's ingress rules as "proto from-to cidr", sorted.
func faultIngressRules(w *faultWorld, group string) ([]string, error) {
	out, err := w.aws.EC2.DescribeSecurityGroupRules(w.ctx, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{group}}},
	})
	if err != nil {
		return nil, err
	}
	var rules []string
	for _, r := range out.SecurityGroupRules {
		if aws.ToBool(r.IsEgress) {
			continue
		}
		rules = append(rules, fmt.Sprintf("%s %d-%d %s", aws.ToString(r.IpProtocol), aws.ToInt32(r.FromPort), aws.ToInt32(r.ToPort), aws.ToString(r.CidrIpv4)))
	}
	slices.Sort(rules)
	return rules, nil
}
