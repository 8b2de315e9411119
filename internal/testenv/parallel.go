package testenv

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// Parallel calls f(0) to f(n-1), at most workers at a time, for creating or updating many
// objects at once. After the first error it starts no new call, and it returns that error.
func Parallel(n, workers int, f func(i int) error) error {
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(max(workers, 1))
	for i := range n {
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil // an earlier call failed
			}
			return f(i)
		})
	}
	return g.Wait()
}
