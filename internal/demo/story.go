package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/targetsync/targetsync/internal/testenv"
	"github.com/targetsync/targetsync/pkg/controller"
	"github.com/targetsync/targetsync/pkg/elb"
)

// story plays the steps; each line is printed once AWS shows it happened.
func (d *demo) story(ctx context.Context) error {
	d.say("up: kube-apiserver %s, moto %s behind the AWS double %s (%s)", d.kube.Config.Host, d.moto.URL, d.proxy.URL, d.dir)

	// 1. bootstrap.
	out, err := d.bootstrap(ctx)
	if err != nil {
		return err
	}
	seen, err := d.await(ctx, "bootstrap created the AWS side", stepTimeout, d.bootstrapped)
	if err != nil {
		return err
	}
	d.step("targetsync bootstrap: %s", seen)
	d.indent(bootstrapTable(out))

	// 2. run: the three workers.
	if err := d.startRun(ctx); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "           $ %s\n", d.runCommand())
	if err := d.expect(ctx, "3 workers registered", httpPort, workers[:3]); err != nil {
		return err
	}
	seen, err = d.await(ctx, "worker security group open on the NodePorts", stepTimeout, d.rulesOn(httpPort, hcPort))
	if err != nil {
		return err
	}
	d.step("3 workers registered on NodePort %d; health check HTTP:%d/healthz; %s", httpPort, hcPort, seen)

	// 3. a node joins.
	if err := testenv.CreateNode(ctx, d.kube.Client, workers[3].name, workers[3].ip); err != nil {
		return err
	}
	if err := d.expect(ctx, "worker-4 registered", httpPort, workers[:4]); err != nil {
		return err
	}
	d.step("worker-4 joined → registered %s:%d", workers[3].ip, httpPort)

	// 4. a node is cordoned.
	if err := d.cordon(ctx, workers[1]); err != nil {
		return err
	}
	active := []worker{workers[0], workers[2], workers[3]}
	if err := d.expect(ctx, "cordoned worker-2 deregistered", httpPort, active); err != nil {
		return err
	}
	d.step("worker-2 cordoned → deregistered %s:%d (connections drain before the node goes)", workers[1].ip, httpPort)

	// 5. the NodePort moves.
	if err := d.setNodePort(ctx, movedPort); err != nil {
		return err
	}
	if err := d.expect(ctx, "targets moved to the new NodePort", movedPort, active); err != nil {
		return err
	}
	seen, err = d.await(ctx, "security-group rules follow the NodePort", stepTimeout, d.rulesOn(movedPort, hcPort))
	if err != nil {
		return err
	}
	d.step("http NodePort %d → %d: the 3 targets moved to :%d, %s", httpPort, movedPort, movedPort, seen)

	// 6. someone deletes a target by hand.
	victim := workers[2]
	if err := d.aws.Deregister(ctx, d.tgARN, victim.ip, movedPort); err != nil {
		return err
	}
	gone := time.Now()
	if _, err := d.await(ctx, "target deleted by hand is gone", stepTimeout, func() (bool, string) {
		got, err := d.aws.Targets(ctx, d.tgARN)
		if err != nil {
			return false, err.Error()
		}
		return !slices.Contains(got, fmt.Sprintf("%s:%d", victim.ip, movedPort)), fmt.Sprint(got)
	}); err != nil {
		return err
	}
	if err := d.expect(ctx, "target deleted by hand restored", movedPort, active); err != nil {
		return err
	}
	d.step("someone deregistered %s:%d by hand → targetsync registered it again after %s", victim.ip, movedPort,
		time.Since(gone).Round(10*time.Millisecond))

	// 7. mass cordon.
	if err := d.massCordon(ctx, active, workers[4:7]); err != nil {
		return err
	}

	// 8. status.
	code, status, errOut := exec(ctx, d.statusArgs()...)
	if code != 0 {
		return fmt.Errorf("step \"targetsync status\": exited %d: %s", code, errOut)
	}
	for _, w := range workers[4:7] {
		if !strings.Contains(status, w.ip) {
			return fmt.Errorf("step \"targetsync status\": %s missing from:\n%s", w.ip, status)
		}
	}
	d.step("targetsync status:")
	d.indent(status)
	return nil
}

// step prints a numbered narrated line.
func (d *demo) step(format string, a ...any) {
	d.steps++
	d.say("✓ %d. %s", d.steps, fmt.Sprintf(format, a...))
}

// bootstrapped checks what bootstrap says it made: the target group, the listener forwarding to
// it and the health-check Service.
func (d *demo) bootstrapped() (bool, string) {
	ctx := context.Background()
	tgs, err := d.aws.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{d.tgARN}})
	if err != nil {
		return false, err.Error()
	}
	tg := tgs.TargetGroups[0]
	if len(tg.LoadBalancerArns) != 1 {
		return false, fmt.Sprintf("target group %s has load balancers %v", aws.ToString(tg.TargetGroupName), tg.LoadBalancerArns)
	}
	ls, err := d.aws.ELB.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(tg.LoadBalancerArns[0])})
	if err != nil {
		return false, err.Error()
	}
	var listener string
	for _, l := range ls.Listeners {
		for _, a := range l.DefaultActions {
			if aws.ToString(a.TargetGroupArn) == d.tgARN {
				listener = fmt.Sprintf("%s:%d", l.Protocol, aws.ToInt32(l.Port))
			}
		}
	}
	ns, name, _ := strings.Cut(hcService, "/")
	hc, err := d.kube.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err.Error()
	}
	seen := fmt.Sprintf("NLB %s with listener %s → target group %s (%s, %s:%d, health check %s:%s%s), Service %s (NodePort %d)",
		lbName(tg.LoadBalancerArns[0]), listener, aws.ToString(tg.TargetGroupName), tg.TargetType, tg.Protocol, aws.ToInt32(tg.Port),
		tg.HealthCheckProtocol, aws.ToString(tg.HealthCheckPort), aws.ToString(tg.HealthCheckPath), hcService, hc.Spec.Ports[0].NodePort)
	ok := listener == "TCP:80" && aws.ToInt32(tg.Port) == httpPort && aws.ToString(tg.HealthCheckPort) == strconv.Itoa(hcPort) &&
		hc.Spec.Ports[0].NodePort == hcPort
	return ok, seen
}

func lbName(arn string) string {
	parts := strings.Split(arn, "/")
	if len(parts) >= 3 {
		return parts[len(parts)-2]
	}
	return arn
}

// bootstrapTable is bootstrap's table of resources, without the run command after it.
func bootstrapTable(out string) string {
	table, _, _ := strings.Cut(out, "\ntarget group ARN:")
	return table
}

// expect waits until the target group holds exactly the workers' IPs on port, and the health
// check is on the health-check NodePort.
func (d *demo) expect(ctx context.Context, step string, port int32, ws []worker) error {
	var ips []string
	for _, w := range ws {
		ips = append(ips, w.ip)
	}
	want := testenv.Expect(port, ips...)
	_, err := d.await(ctx, step, stepTimeout, func() (bool, string) {
		got, err := d.aws.Targets(ctx, d.tgARN)
		if err != nil {
			return false, err.Error()
		}
		hc, err := d.aws.HealthCheckPort(ctx, d.tgARN)
		if err != nil {
			return false, err.Error()
		}
		return slices.Equal(got, want) && hc == strconv.Itoa(hcPort), fmt.Sprintf("targets %v, health-check port %s", got, hc)
	})
	return err
}

// rulesOn checks that the worker security group opens exactly ports from the VPC.
func (d *demo) rulesOn(ports ...int) func() (bool, string) {
	var want []string
	for _, p := range ports {
		want = append(want, strconv.Itoa(p))
	}
	slices.Sort(want)
	return func() (bool, string) {
		out, err := d.aws.EC2.DescribeSecurityGroupRules(context.Background(), &ec2.DescribeSecurityGroupRulesInput{
			Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{d.sgID}}},
		})
		if err != nil {
			return false, err.Error()
		}
		var got []string
		for _, r := range out.SecurityGroupRules {
			if aws.ToBool(r.IsEgress) || aws.ToString(r.CidrIpv4) != vpcCIDR {
				continue
			}
			got = append(got, strconv.Itoa(int(aws.ToInt32(r.FromPort))))
		}
		slices.Sort(got)
		return slices.Equal(got, want), fmt.Sprintf("%s open to %s on tcp %s", d.sgID, vpcCIDR, strings.Join(got, ", "))
	}
}

func (d *demo) cordon(ctx context.Context, w worker) error {
	_, err := d.kube.Client.CoreV1().Nodes().Patch(ctx, w.name, types.StrategicMergePatchType,
		[]byte(`{"spec":{"unschedulable":true}}`), metav1.PatchOptions{})
	return err
}

func (d *demo) setNodePort(ctx context.Context, port int32) error {
	svcs := d.kube.Client.CoreV1().Services(namespace)
	svc, err := svcs.Get(ctx, ingressName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Name == "http" {
			svc.Spec.Ports[i].NodePort = port
		}
	}
	_, err = svcs.Update(ctx, svc, metav1.UpdateOptions{})
	return err
}

// massCordon cordons every active worker while replacements join, the way a node-group upgrade
// does, with new targets reporting initial for a while as in AWS. It prints each change it sees
// and checks that the capacity guard paces the deregistrations: the healthy targets never go
// below ⌈0.66 × the most healthy seen within the window⌉, and the cordoned targets leave in
// more than one step.
func (d *demo) massCordon(ctx context.Context, old, replacements []worker) error {
	const step = "capacity guard paces a mass cordon"
	guard := controller.Capacity{MaxFraction: controller.DefaultMaxDeregisterFraction, Window: window}
	// Targets registered within initialFor still report initial: start from a healthy group.
	if _, err := d.await(ctx, "every target healthy before the mass cordon", stepTimeout, func() (bool, string) {
		tg, err := elb.NewClient(d.aws.ELB).Describe(ctx, d.tgARN)
		if err != nil {
			return false, err.Error()
		}
		states := map[string]int{}
		for _, t := range tg.Targets {
			states[t.State]++
		}
		return states[elb.StateHealthy] == len(old) && len(tg.Targets) == len(old), stateSummary(states)
	}); err != nil {
		return err
	}

	type sample struct {
		at      time.Time
		healthy int
	}
	var samples []sample
	observe := func() (elb.TargetGroup, int, int, error) {
		tg, err := elb.NewClient(d.aws.ELB).Describe(ctx, d.tgARN)
		if err != nil {
			return tg, 0, 0, err
		}
		now, healthy := time.Now(), 0
		for _, t := range tg.Targets {
			if t.State == elb.StateHealthy {
				healthy++
			}
		}
		samples = append(samples, sample{now, healthy})
		high := 0
		for _, s := range samples {
			if now.Sub(s.at) <= window {
				high = max(high, s.healthy)
			}
		}
		return tg, healthy, high, nil
	}
	var names []string
	for _, w := range old {
		names = append(names, w.name)
	}
	var newNames []string
	for _, w := range replacements {
		newNames = append(newNames, w.name)
	}
	d.say("  %d. mass cordon of %s while %s join (new targets report initial for %s; --capacity-window %s):",
		d.steps+1, strings.Join(names, ", "), strings.Join(newNames, ", "), initialFor, window)
	start := time.Now()
	tg, healthy, high, err := observe()
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "[%6.1fs]      before  healthy %d of %d targets (peak %d in %s)\n", time.Since(d.start).Seconds(), healthy, len(tg.Targets), high, window)
	for i := range old {
		if err := d.cordon(ctx, old[i]); err != nil {
			return err
		}
		if err := testenv.CreateNode(ctx, d.kube.Client, replacements[i].name, replacements[i].ip); err != nil {
			return err
		}
	}

	isOld := map[string]bool{}
	for _, w := range old {
		isOld[w.ip] = true
	}
	var wantIPs []string
	for _, w := range replacements {
		wantIPs = append(wantIPs, w.ip)
	}
	want := testenv.Expect(movedPort, wantIPs...)
	var (
		last       string
		leftCounts = map[int]bool{}
		lowest     = -1
		lowestHigh int
		violation  string
	)
	_, err = d.await(ctx, step, guardTimeout, func() (bool, string) {
		tg, healthy, high, err := observe()
		if err != nil {
			return false, err.Error()
		}
		floor := guard.Floor(high)
		var got, oldIn []string
		states := map[string]int{}
		for _, t := range tg.Targets {
			got = append(got, t.Target.String())
			states[t.State]++
			if isOld[t.IP.String()] {
				oldIn = append(oldIn, t.IP.String())
			}
		}
		slices.Sort(got)
		slices.Sort(oldIn)
		leftCounts[len(oldIn)] = true
		if lowest < 0 || healthy < lowest {
			lowest, lowestHigh = healthy, high
		}
		seen := fmt.Sprintf("healthy %d, floor %d (peak %d in %s), targets %v", healthy, floor, high, window, got)
		if healthy < floor {
			violation = seen // the guard let capacity fall below its floor: stop and fail
			return true, seen
		}
		line := fmt.Sprintf("healthy %d ≥ floor %d (⌈0.66 × peak %d⌉) · %s · cordoned still registered: %s%s",
			healthy, floor, high, stateSummary(states), listOr(oldIn, "none"), d.deferred())
		if key := fmt.Sprint(healthy, floor, states, oldIn); key != last {
			last = key
			fmt.Fprintf(d.out, "[%6.1fs]      +%4.1fs  %s\n", time.Since(d.start).Seconds(), time.Since(start).Seconds(), line)
		}
		done := slices.Equal(got, want) && states[elb.StateHealthy] == len(want)
		return done, seen
	})
	if err != nil {
		return err
	}
	if violation != "" {
		return fmt.Errorf("step %q: healthy targets below the floor: %s", step, violation)
	}
	// Paced: the cordoned targets were seen leaving in steps, not all at once.
	steps := 0
	for n := 1; n < len(old); n++ {
		if leftCounts[n] {
			steps++
		}
	}
	if steps == 0 {
		return fmt.Errorf("step %q: the %d cordoned targets left at once; no state with some of them still registered was seen", step, len(old))
	}
	d.step("mass cordon paced by the capacity guard: %d cordoned targets out in %s, healthy never below the floor (lowest %d of peak %d); now %s",
		len(old), time.Since(start).Round(100*time.Millisecond), lowest, lowestHigh, strings.Join(want, " "))
	return nil
}

// deferred reads the guard's own view from the metrics endpoint: deregistrations it holds back.
func (d *demo) deferred() string {
	resp, err := http.Get("http://" + d.metrics + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "targetsync_deferred_deregistrations{") {
			if v := line[strings.LastIndex(line, " ")+1:]; v != "0" {
				return " (guard defers " + v + ")"
			}
		}
	}
	return ""
}

func stateSummary(states map[string]int) string {
	var parts []string
	for _, s := range elb.States {
		if n := states[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return listOr(parts, "no targets")
}

func listOr(s []string, empty string) string {
	if len(s) == 0 {
		return empty
	}
	return strings.Join(s, ", ")
}
