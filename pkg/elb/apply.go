package elb

import (
	"context"
	"errors"
	"net/netip"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// MaxTargetsPerCall bounds one RegisterTargets or DeregisterTargets request. AWS accepts more,
// but a bounded request keeps a failure small and the retry cheap.
const MaxTargetsPerCall = 200

// TargetTypeIP is the only target type targetsync manages.
const TargetTypeIP = "ip"

// Result is what Apply did, target by target, for metrics, logs and Events. Every list is in
// the order the targets were dealt with: plan order, then the ones retried at the end.
type Result struct {
	// Registered and Deregistered are the targets AWS accepted.
	Registered   []Target
	Deregistered []Target
	// HealthCheck reports whether the health check was modified.
	HealthCheck bool
	// Rejected are targets AWS refused one by one (a bad address, a target not registered); the
	// rest of the plan went ahead without them. They are not errors: retrying cannot help until
	// something about the target changes.
	Rejected []Rejection
	// OverQuota are registrations that did not fit: the target group held as many targets as it
	// may, or the target was registered as often as it may be.
	OverQuota []Target
	// Held are targets left registered because the same node's registration on its new port
	// did not happen: deregistering them would have taken the node out of service.
	Held []Target
}

// Rejection is one target AWS refused, with its error code and message.
type Rejection struct {
	Target  Target
	Code    string
	Message string
}

// Empty reports whether nothing was changed.
func (r Result) Empty() bool {
	return len(r.Registered) == 0 && len(r.Deregistered) == 0 && !r.HealthCheck
}

// Apply carries out p on the target group arn, each change on its own merits:
//
//  1. Register, in chunks. A chunk AWS refuses because of some of its targets is halved until
//     those stand alone; the others go in. A lone target refused for being outside the VPC is
//     tried once more with AvailabilityZone "all"; any other goes to Result.Rejected. On a full
//     target group the registrations that fit go in and the rest go to Result.OverQuota.
//  2. Modify the health check and record its port in TagHealthCheckPort.
//  3. Deregister, in chunks, split the same way. Only the old target of a NodePort move waits:
//     it is held while its node is not registered on the new port. Gone nodes never wait.
//  4. If registrations were over quota and deregistrations made room, try those once more, and
//     deregister the old ports of the moves that went in on that try.
//
// Any other error (throttling after the SDK's retries, a server error, access denied, the
// target group gone, ctx done) stops the step it happened in, but not the next ones. The errors
// are returned joined, next to a Result that says what was done.
func (c *Client) Apply(ctx context.Context, arn string, p Plan) (Result, error) {
	a := &applier{
		register: func(ctx context.Context, ds []types.TargetDescription) error {
			_, err := c.api.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: ds})
			return err
		},
		deregister: func(ctx context.Context, ds []types.TargetDescription) error {
			_, err := c.api.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: ds})
			return err
		},
	}
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	keep(a.registerAll(ctx, zone(p.Register, p.AnyZone)))

	if hc := p.HealthCheck; hc != nil {
		var err error
		a.res.HealthCheck, err = c.setHealthCheck(ctx, arn, hc.To)
		keep(err)
	}

	keep(a.deregisterUnlessMoving(ctx, p.Deregister, p.Moves(), p.AnyZone))

	if len(a.overQuota) > 0 && len(a.res.Deregistered) > 0 {
		retry := a.overQuota
		a.overQuota = nil
		keep(a.registerAll(ctx, retry))
		// Moves whose new port went in on the retry need not hold their old port any longer.
		held := a.res.Held
		a.res.Held = nil
		keep(a.deregisterUnlessMoving(ctx, held, p.Moves(), p.AnyZone))
	}

	for _, z := range a.overQuota {
		a.res.OverQuota = append(a.res.OverQuota, z.Target)
	}
	return a.res, errors.Join(errs...)
}

// deregisterUnlessMoving deregisters ts, except the old port of a move (an address in moves)
// whose node is not registered on a new port yet: that one is held.
func (a *applier) deregisterUnlessMoving(ctx context.Context, ts []Target, moves, anyZone map[netip.Addr]bool) error {
	registered := make(map[netip.Addr]bool, len(a.res.Registered))
	for _, t := range a.res.Registered {
		registered[t.IP] = true
	}
	var gone []zoned
	for _, t := range ts {
		if moves[t.IP] && !registered[t.IP] {
			a.res.Held = append(a.res.Held, t)
			continue
		}
		gone = append(gone, zoned{Target: t, anyZone: anyZone[t.IP]})
	}
	return a.deregisterAll(ctx, gone)
}

// setHealthCheck modifies the health check of arn to hc, then records hc's port in
// TagHealthCheckPort. It reports whether the modification went through, even when recording it
// failed: the next sync plans the record again.
func (c *Client) setHealthCheck(ctx context.Context, arn string, hc HealthCheck) (bool, error) {
	in := &elbv2.ModifyTargetGroupInput{
		TargetGroupArn:  aws.String(arn),
		HealthCheckPort: aws.String(hc.portValue()),
	}
	if hc.Protocol != "" {
		in.HealthCheckProtocol = types.ProtocolEnum(hc.Protocol)
	}
	if hc.Path != "" {
		in.HealthCheckPath = aws.String(hc.Path)
	}
	if _, err := c.api.ModifyTargetGroup(ctx, in); err != nil {
		return false, wrapOp(opModifyTargetGroup, err, "modify health check to %s", hc)
	}
	return true, c.Tag(ctx, arn, TagHealthCheckPort, hc.portValue())
}

// zoned is a target as it is sent: with AvailabilityZone "all", or without and left to AWS.
type zoned struct {
	Target
	anyZone bool
}

func zone(ts []Target, anyZone map[netip.Addr]bool) []zoned {
	out := make([]zoned, len(ts))
	for i, t := range ts {
		out[i] = zoned{Target: t, anyZone: anyZone[t.IP]}
	}
	return out
}

func descriptions(zs []zoned) []types.TargetDescription {
	out := make([]types.TargetDescription, len(zs))
	for i, z := range zs {
		out[i] = types.TargetDescription{Id: aws.String(z.IP.String()), Port: aws.Int32(z.Port)}
		if z.anyZone {
			out[i].AvailabilityZone = aws.String(ZoneAll)
		}
	}
	return out
}

// errGroupFull stops registering once a lone target did not fit: nothing else will.
var errGroupFull = errors.New("target group holds as many targets as it may")

// applier carries one Apply's result through its steps.
type applier struct {
	register, deregister func(context.Context, []types.TargetDescription) error

	res Result
	// overQuota keeps the zone each over-quota target was last sent with, for the retry.
	overQuota []zoned
}

func (a *applier) registerAll(ctx context.Context, zs []zoned) error {
	send := a.sender(opRegisterTargets, "register", a.register, &a.res.Registered)
	split := func(err error) bool { return isPerTarget(err) || IsQuota(err) }
	untried, err := bisect(ctx, zs, send, split, a.alone(send, split))
	if errors.Is(err, errGroupFull) {
		a.overQuota = append(a.overQuota, untried...)
		return nil
	}
	return err
}

func (a *applier) deregisterAll(ctx context.Context, zs []zoned) error {
	send := a.sender(opDeregisterTargets, "deregister", a.deregister, &a.res.Deregistered)
	_, err := bisect(ctx, zs, send, isPerTarget, a.alone(send, isPerTarget))
	return err
}

// sender returns the function that sends one request of op and notes what AWS accepted in done.
func (a *applier) sender(op, verb string, call func(context.Context, []types.TargetDescription) error, done *[]Target) func(context.Context, []zoned) error {
	return func(ctx context.Context, zs []zoned) error {
		err := ctx.Err()
		if err == nil {
			err = call(ctx, descriptions(zs))
		}
		if err != nil {
			return wrapOp(op, err, "%s %d targets", verb, len(zs))
		}
		for _, z := range zs {
			*done = append(*done, z.Target)
		}
		return nil
	}
}

// alone returns what to do with a target AWS refused on its own: try the other zone once when AWS
// says the zone was wrong, then file it as over quota or rejected. Only a full target group or
// an error that is not about the target stops the step.
func (a *applier) alone(send func(context.Context, []zoned) error, split func(error) bool) func(context.Context, zoned, error) error {
	return func(ctx context.Context, z zoned, err error) error {
		if (!z.anyZone && isOutsideVPC(err)) || (z.anyZone && isInsideVPC(err)) {
			z.anyZone = !z.anyZone
			if err = send(ctx, []zoned{z}); err == nil {
				return nil
			}
			if !split(err) {
				return err
			}
		}
		switch {
		case isGroupFull(err):
			a.overQuota = append(a.overQuota, z)
			return errGroupFull
		case isTargetFull(err):
			a.overQuota = append(a.overQuota, z)
		default:
			a.res.Rejected = append(a.res.Rejected, Rejection{Target: z.Target, Code: errorCode(err), Message: errorMessage(err)})
		}
		return nil
	}
}

// bisect sends items in chunks of MaxTargetsPerCall. A request that fails with an error split
// accepts (the error is about some of the items) is halved and each half sent on its own, until
// the items AWS refuses stand alone; those go to alone. One bad item among n costs about
// 2·log2(n) extra requests, not n. Any other error, or an error from alone, stops it; it returns
// that error and the items it did not try, in order.
func bisect[T any](ctx context.Context, items []T, send func(context.Context, []T) error, split func(error) bool, alone func(context.Context, T, error) error) ([]T, error) {
	var todo [][]T // a stack: the next request is last
	for c := range slices.Chunk(items, MaxTargetsPerCall) {
		todo = append(todo, c)
	}
	slices.Reverse(todo)
	for len(todo) > 0 {
		batch := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		err := send(ctx, batch)
		switch {
		case err == nil:
		case !split(err):
			return untried(append(todo, batch)), err
		case len(batch) > 1:
			half := len(batch) / 2
			todo = append(todo, batch[half:], batch[:half])
		default:
			if err := alone(ctx, batch[0], err); err != nil {
				return untried(todo), err
			}
		}
	}
	return nil, nil
}

// untried flattens a bisect stack into the order its items would have been sent.
func untried[T any](todo [][]T) []T {
	var out []T
	for _, batch := range slices.Backward(todo) {
		out = append(out, batch...)
	}
	return out
}
