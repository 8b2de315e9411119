//go:build !nomoto

package testenv

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// await waits for ch with a deadline.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: not within 30s", what)
	}
}

func TestHoldBlocksUntilRelease(t *testing.T) {
	w := newWorld(t)
	release := w.proxy.Hold("RegisterTargets")
	held := w.proxy.Held("RegisterTargets")
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = w.register(w.client(1), 30080, "10.0.1.1")
	}()
	await(t, held, "the call to be held")
	if !w.proxy.Holding("RegisterTargets") {
		t.Error("Holding = false while a call is held")
	}
	if got := w.motoTargets(); len(got) != 0 {
		t.Fatalf("moto has %v while the call is held", got)
	}
	// A second call passes while the first is held.
	if err := w.register(w.client(1), 30080, "10.0.1.2"); err != nil {
		t.Fatal(err)
	}
	release()
	await(t, done, "the held call to finish")
	if err != nil {
		t.Fatal(err)
	}
	if w.proxy.Holding("RegisterTargets") {
		t.Error("Holding = true after release")
	}
	if got, want := w.motoTargets(), Expect(30080, "10.0.1.1", "10.0.1.2"); !slices.Equal(got, want) {
		t.Errorf("moto has %v, want %v", got, want)
	}
}

func TestHeldCallIsCarriedOutAfterCallerGaveUp(t *testing.T) {
	w := newWorld(t)
	release := w.proxy.Hold("RegisterTargets")
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = w.client(1).ELB.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{
			TargetGroupArn: aws.String(w.nlb.TargetGroupARN), Targets: descriptions(30080, "10.0.1.1")})
	}()
	await(t, w.proxy.Held("RegisterTargets"), "the call to be held")
	cancel() // the caller dies with its request sent
	await(t, done, "the caller to give up")
	release()
	deadline := time.Now().Add(30 * time.Second)
	for len(w.proxy.Registered()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the released call never reached moto")
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	if got, want := w.motoTargets(), Expect(30080, "10.0.1.1"); !slices.Equal(got, want) {
		t.Errorf("moto has %v, want %v", got, want)
	}
}

func TestCloseDropsHeldCall(t *testing.T) {
	w := newWorld(t)
	w.proxy.Hold("RegisterTargets")
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = w.register(w.client(1), 30080, "10.0.1.1")
	}()
	await(t, w.proxy.Held("RegisterTargets"), "the call to be held")
	_ = w.proxy.Close()
	await(t, done, "the held call to end")
	if err == nil {
		t.Error("a call held through Close succeeded")
	}
	if got := w.motoTargets(); len(got) != 0 {
		t.Errorf("moto has %v, want nothing", got)
	}
}
