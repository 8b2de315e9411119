package app

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"

	"github.com/targetsync/targetsync/pkg/config"
	"github.com/targetsync/targetsync/pkg/ingress"
)

// exposeCommand is `targetsync expose`.
func exposeCommand(deps Deps, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "expose [flags]",
		Short: "Publish a Service port at PREFIX.CLUSTER_ID.DOMAIN through an Ingress",
		Long: `Creates, or updates if targetsync made it, the Ingress that publishes a Service port at
PREFIX.CLUSTER_ID.DOMAIN; never touches an Ingress it did not make.`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().SortFlags = false
	get := config.BindExpose(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := get()
		if err != nil {
			return err
		}
		return result(Expose(cmd.Context(), cfg, deps, stdout, stderr))
	}
	return cmd
}

// Expose checks the request against the Service and every Ingress in the cluster and, when it
// breaks no rule, creates or updates the Ingress and prints one line saying what it did. A
// broken rule is one line on stderr and ExitError, with nothing changed.
func Expose(ctx context.Context, cfg config.ExposeConfig, d Deps, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "targetsync expose: %s\n", oneLine(err))
		return ExitError
	}
	kube := d.Kube
	if kube == nil {
		var err error
		if kube, err = kubeClient(cfg.Kube, d.Version); err != nil {
			return fail(err)
		}
	}
	req := ingress.Request{Service: cfg.Service, Name: cfg.Name, Prefix: cfg.Prefix, Port: cfg.Port, Origin: ingress.OriginExpose}
	site := ingress.Site{ClusterID: cfg.ClusterID, Domain: cfg.Domain, Class: cfg.IngressClass}

	svc, err := kube.CoreV1().Services(cfg.Service.Namespace).Get(ctx, cfg.Service.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		svc, err = nil, nil
	}
	if err != nil {
		return fail(fmt.Errorf("read service %s: %w", cfg.Service, err))
	}
	list, err := kube.NetworkingV1().Ingresses("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fail(fmt.Errorf("list the ingresses of every namespace, which keeps prefixes unique: %w", err))
	}
	all := make([]*networkingv1.Ingress, len(list.Items))
	for i := range list.Items {
		all[i] = &list.Items[i]
	}
	change, err := ingress.Check(req, site, svc, all)
	if err != nil {
		return fail(err)
	}

	what := fmt.Sprintf("ingress %s: host %s, path %s -> service %s port %d, class %s",
		req.Key(), site.Host(req.Prefix), ingress.Path, cfg.Service.Name, cfg.Port, site.Class)
	api := kube.NetworkingV1().Ingresses(cfg.Service.Namespace)
	switch {
	case change.Action == ingress.None:
		fmt.Fprintf(stdout, "unchanged %s\n", what)
		return ExitOK
	case cfg.DryRun:
		fmt.Fprintf(stdout, "would %s %s\n", change.Action, what)
		return ExitOK
	case change.Action == ingress.Create:
		_, err = api.Create(ctx, change.Ingress, metav1.CreateOptions{})
	case change.Action == ingress.Update:
		_, err = api.Update(ctx, change.Ingress, metav1.UpdateOptions{})
	}
	if err != nil {
		return fail(fmt.Errorf("%s ingress %s: %w", change.Action, req.Key(), err))
	}
	fmt.Fprintf(stdout, "%sd %s\n", change.Action, what)
	return ExitOK
}

// startPublishing starts the informers of the reconciler that publishes annotated Services,
// on every replica; its worker runs only where the controller runs (see alongside).
func startPublishing(ctx context.Context, cfg config.Config, kube kubernetes.Interface, log *zap.Logger, recorder record.EventRecorder) (*ingress.Reconciler, error) {
	p := cfg.Publishing
	r, err := ingress.New(kube, ingress.Options{
		Site:     ingress.Site{ClusterID: p.ClusterID, Domain: p.Domain, Class: p.IngressClass},
		DryRun:   cfg.DryRun,
		Logger:   log.Named("ingress"),
		Recorder: recorder,
	})
	if err != nil {
		return nil, err
	}
	r.Start(ctx)
	return r, nil
}

// alongside runs each of runs until ctx ends, and returns when all have returned.
func alongside(runs ...func(context.Context)) func(context.Context) {
	return func(ctx context.Context) {
		var wg sync.WaitGroup
		for _, run := range runs {
			wg.Go(func() { run(ctx) })
		}
		wg.Wait()
	}
}
