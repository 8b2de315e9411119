package testenv

import (
	"errors"
	"sync/atomic"
	"testing"
)

func TestParallelCallsEachIndexOnceAndReturnsTheFirstError(t *testing.T) {
	var calls [100]atomic.Int32
	if err := Parallel(len(calls), 8, func(i int) error { calls[i].Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	for i := range calls {
		if n := calls[i].Load(); n != 1 {
			t.Errorf("f(%d) called %d times, want 1", i, n)
		}
	}
	boom := errors.New("boom")
	var started atomic.Int32
	err := Parallel(100, 1, func(i int) error {
		started.Add(1)
		if i == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || started.Load() != 4 {
		t.Errorf("err = %v after %d calls, want boom after 4 (one worker stops at the error)", err, started.Load())
	}
}
