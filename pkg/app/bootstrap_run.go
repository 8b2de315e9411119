package app

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/targetsync/targetsync/pkg/bootstrap"
	"github.com/targetsync/targetsync/pkg/config"
)

// runBootstrap is `run --bootstrap`: it builds or completes the setup as `targetsync bootstrap`
// does, logs each resource, and returns cfg with the target group found or created as its
// binding. A setup that is not complete stops run: the next start tries again.
func runBootstrap(ctx context.Context, cfg config.Config, d Deps) (config.Config, error) {
	log := logger(cfg, d)
	boot := *cfg.Bootstrap
	boot.Kube = cfg.Kube
	res, err := bootstrapSetup(ctx, boot, d)
	if err != nil {
		return cfg, fmt.Errorf("bootstrap: %w", err)
	}
	for _, s := range res.Steps {
		fields := []zap.Field{zap.String("kind", string(s.Kind)), zap.String("name", s.Name), zap.String("action", s.ActionText(res.Applied))}
		if why := s.WhyText(); why != "" {
			fields = append(fields, zap.String("why", why))
		}
		if s.Problem || s.Err != nil {
			log.Warn("bootstrap", fields...)
		} else {
			log.Info("bootstrap", fields...)
		}
	}
	if !res.OK() {
		return cfg, errors.New("bootstrap: the setup is not complete: see the bootstrap lines marked warn; run `targetsync bootstrap --dry-run` with the same flags for the table")
	}
	arn := res.TargetGroup.ARN
	if arn == "" || !usable(res, bootstrap.KindTargetGroup) {
		return cfg, fmt.Errorf("bootstrap: target group %s does not exist yet (--dry-run creates nothing), so there is nothing to sync", res.TargetGroup.Name)
	}
	log.Info("bootstrap done; keeping its target group in sync", zap.String("targetGroupARN", arn), zap.String("loadBalancerDNSName", res.LoadBalancer.DNSName))
	if err := cfg.AddBootstrapBinding(arn); err != nil {
		return cfg, fmt.Errorf("bootstrap: %w", err)
	}
	return cfg, nil
}
