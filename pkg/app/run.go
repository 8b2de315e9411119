package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/zapr"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/targetsync/targetsync/pkg/config"
	"github.com/targetsync/targetsync/pkg/controller"
	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/informer"
	"github.com/targetsync/targetsync/pkg/metrics"
	"github.com/targetsync/targetsync/pkg/sg"
)

// Run keeps the bound target groups in sync until ctx ends. It returns nil on a clean shutdown.
func Run(ctx context.Context, cfg config.Config, d Deps) error {
	clientGo := metrics.ClientGo() // before the controller makes its workqueue
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
	m.BuildInfo.WithLabelValues(d.Version, runtime.Version()).Set(1)
	starting := func(log *zap.Logger, t kubeTarget) {
		log.Info("starting targetsync", zap.String("version", d.Version), zap.String("goVersion", runtime.Version()),
			zap.String("clusterName", cfg.ClusterName), zap.String("context", t.Context), zap.String("server", t.Server),
			zap.Duration("requestTimeout", requestTimeout(cfg)))
	}
	if cfg.Bootstrap != nil {
		var err error
		if cfg, err = runBootstrap(ctx, cfg, d); err != nil {
			return err
		}
	}
	c, err := connect(ctx, cfg, d, m, starting)
	if err != nil {
		return err
	}
	log, kube, sgs := c.log, c.kube, c.sgs
	defer func() { _ = log.Sync() }()
	if c.target.Server == "" {
		starting(log, c.target) // a client handed in: nothing was announced
	} else {
		log.Info("API server reached", zap.String("server", c.target.Server), zap.String("serverVersion", c.serverVersion))
	}

	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "targetsync"})

	w, err := newWiring(cfg, c.watch, c.groups, controller.Options{
		ClusterName:     cfg.ClusterName,
		Capacity:        capacity(cfg),
		DryRun:          cfg.DryRun,
		SecurityGroups:  sgs,
		ResyncPeriod:    cfg.ResyncPeriod,
		MinSyncInterval: cfg.MinSyncInterval,
		Logger:          log,
		Metrics:         m,
		Recorder:        recorder,
	})
	if err != nil {
		return err
	}
	w.informers.Start(ctx)
	defer w.informers.Shutdown()
	// What the leader runs: the controller, and with --domain the Ingress publisher beside it.
	work := w.ctrl.Run
	if cfg.Publishing != nil {
		// Its informers watch: the client without an overall timeout.
		pub, err := startPublishing(ctx, cfg, c.watch, log, recorder)
		if err != nil {
			return err
		}
		defer pub.Shutdown()
		work = alongside(w.ctrl.Run, pub.Run)
	}

	var leaderHealth *leaderelection.HealthzAdaptor
	if cfg.LeaderElection.Enabled {
		leaderHealth = leaderelection.NewLeaderHealthzAdaptor(2 * time.Second)
	}
	probes := &probes{informers: w.informers, ctrl: w.ctrl, leader: leaderHealth}
	stopServers, err := serve(ctx, log, cfg, prometheus.Gatherers{reg, clientGo}, probes)
	if err != nil {
		return err
	}
	defer stopServers()
	stopPprof, err := servePprof(ctx, log, cfg.PprofBindAddress)
	if err != nil {
		return err
	}
	defer stopPprof()

	if !w.informers.WaitForSync(ctx) {
		return nil // stopped before the caches filled
	}
	if err := checkBindings(w, cfg, log); err != nil {
		return err
	}
	if err := checkOwnership(ctx, cfg, w.ctrl, log); err != nil {
		return err
	}
	log.Info("caches synced; starting", zap.String("version", d.Version), zap.Int("count", len(cfg.Bindings)), zap.Bool("dryRun", cfg.DryRun),
		zap.Bool("leaderElect", cfg.LeaderElection.Enabled))
	if sg := cfg.SecurityGroups; sg == nil {
		log.Info("security-group management off: set --security-group-id or --security-group-tag to keep worker rules open on the NodePorts")
	} else {
		tag := ""
		if sg.Selector.TagKey != "" {
			tag = sg.Selector.TagKey + "=" + sg.Selector.TagValue
		}
		sources := make([]string, len(sg.Sources))
		for i, s := range sg.Sources {
			sources[i] = s.String()
		}
		log.Info("managing security-group rules", zap.Strings("securityGroupIDs", sg.Selector.IDs),
			zap.String("securityGroupTag", tag), zap.Strings("sources", sources))
	}

	if !cfg.LeaderElection.Enabled {
		m.IsLeader.Set(1)
		probes.setLeading(true)
		work(ctx)
		return nil
	}
	return lead(ctx, cfg, kube, log, m, leaderHealth, probes, work)
}

// wiring is the informers and controller a command works with.
type wiring struct {
	informers *informer.Informers
	ctrl      *controller.Controller
	bindings  []controller.Binding
}

func newWiring(cfg config.Config, kube kubernetes.Interface, groups func(controller.Binding) controller.TargetGroups, opts controller.Options) (*wiring, error) {
	bindings := make([]controller.Binding, len(cfg.Bindings))
	queries := make([]informer.Query, len(cfg.Bindings))
	for i, cb := range cfg.Bindings {
		bindings[i] = controllerBinding(cb, cfg)
		queries[i] = bindings[i].Query
	}
	w := &wiring{bindings: bindings}
	// The controller is created after the informers, whose handlers trigger it; the closure
	// reads w.ctrl only when an event arrives, which is after Start.
	inf, err := informer.New(kube, queries, func() { w.ctrl.Trigger() })
	if err != nil {
		return nil, err
	}
	w.informers = inf
	w.ctrl = controller.New(bindings, inf.Source(), groups, opts)
	return w, nil
}

// controllerBinding is what the controller keeps in sync for one configured binding.
func controllerBinding(b config.Binding, cfg config.Config) controller.Binding {
	q := informer.Query{
		Traffic: informer.PortRef{Service: b.Service, Port: b.ServicePort},
		Rules: informer.Rules{
			Selector:           b.NodeSelector,
			DeregisterCordoned: cfg.DeregisterCordoned,
			RemoveNotReady:     b.NotReady == config.NotReadyRemove,
		},
		ServingNodesOnly: cfg.Targets == config.TargetsIngressNodes,
	}
	if hc := b.HealthCheck; hc != nil {
		q.HealthCheck = &informer.PortRef{Service: hc.Service, Port: hc.Port}
	}
	return controller.Binding{Name: b.Name, TargetGroupARN: b.TargetGroupARN(), Query: q, HealthCheckPath: b.HealthCheckPath}
}

// AWS's default target quotas: per target group, and per Availability Zone per Network Load
// Balancer (with cross-zone load balancing on, per load balancer whatever the zones).
const (
	targetQuota     = 1000
	zoneTargetQuota = 500
)

// capacity is the healthy-capacity guard the flags ask for.
func capacity(cfg config.Config) controller.Capacity {
	return controller.Capacity{MaxFraction: cfg.MaxDeregisterFraction, Window: cfg.CapacityWindow}
}

// checkOwnership fails start-up when a bound target group or a selected security group is
// tagged targetsync.io/cluster with another cluster's name: two clusters writing one group
// would each remove the other's nodes. Only a definite answer fails start-up; when AWS cannot
// be asked now, the controller checks again before every write.
func checkOwnership(ctx context.Context, cfg config.Config, ctrl *controller.Controller, log *zap.Logger) error {
	for _, b := range cfg.Bindings {
		arn := b.TargetGroupARN()
		tags, err := ctrl.TargetGroupTags(ctx, controller.Binding{TargetGroupARN: arn})
		if err != nil {
			log.Warn("could not read target group tags at start-up; checked again before each write", zap.String("targetGroupARN", arn), zap.Error(err))
			continue
		}
		switch owner := tags[elb.TagCluster]; owner {
		case cfg.ClusterName:
		case "":
			log.Info("target group has no "+elb.TagCluster+" tag; tag it so that no other cluster writes it",
				zap.String("targetGroupARN", arn))
		default:
			return fmt.Errorf("target group %s is tagged %s=%s, and this is --cluster-name %s: refusing to write another cluster's target group",
				arn, elb.TagCluster, owner, cfg.ClusterName)
		}
	}
	if cfg.SecurityGroups == nil {
		return nil
	}
	if _, err := ctrl.SecurityGroupIDs(ctx); errors.Is(err, sg.ErrForeignGroup) {
		return err
	} else if err != nil {
		log.Warn("could not read the worker security groups at start-up; checked again before each write", zap.Error(err))
	}
	return nil
}

// checkBindings reads each binding's snapshot once at start-up. A bound Service or port that
// does not exist fails start-up: that is almost always a typo, and it is better said once,
// clearly, than logged on every sync (a Service that disappears later is reported by the
// controller and its targets are left alone). A binding that wants more targets than a target
// group holds is a warning: the registrations beyond the quota would wait forever.
func checkBindings(w *wiring, cfg config.Config, log *zap.Logger) error {
	for i, b := range w.bindings {
		snap, err := w.informers.Source().Snapshot(b.Query)
		switch {
		case errors.Is(err, informer.ErrService) && len(cfg.Bindings) == 1:
			return err
		case errors.Is(err, informer.ErrService):
			return fmt.Errorf("bindings[%d] (%s): %w", i, b.Name, err)
		case err == nil:
			warnQuotas(log, b.Name, snap.Targets)
		}
	}
	return nil
}

// quotaFix is what to do about a binding that wants more targets than AWS allows.
const quotaFix = "--targets=ingress-nodes (only nodes running the ingress controller), or a nodeSelector per binding"

// warnQuotas warns when the desired targets exceed AWS's default quota of targets per target
// group, or of targets per Availability Zone (by the nodes' zone label).
func warnQuotas(log *zap.Logger, binding string, targets []informer.Node) {
	log = log.With(zap.String("binding", binding))
	if len(targets) > targetQuota {
		log.Warn("more nodes are targets than a target group holds; the rest will wait for room",
			zap.Int("desiredTargets", len(targets)), zap.Int("targetGroupQuota", targetQuota), zap.String("fix", quotaFix))
	}
	perZone := map[string]int{}
	for _, n := range targets {
		if n.Zone != "" {
			perZone[n.Zone]++
		}
	}
	for _, zone := range slices.Sorted(maps.Keys(perZone)) {
		if n := perZone[zone]; n > zoneTargetQuota {
			log.Warn("more targets in one Availability Zone than a Network Load Balancer allows; AWS will refuse the rest",
				zap.String("zone", zone), zap.Int("desiredTargets", n), zap.Int("zoneQuota", zoneTargetQuota), zap.String("fix", quotaFix))
		}
	}
}

func lead(ctx context.Context, cfg config.Config, kube kubernetes.Interface, log *zap.Logger, m *metrics.Metrics,
	health *leaderelection.HealthzAdaptor, p *probes, work func(context.Context)) error {
	le := cfg.LeaderElection
	ns := le.Namespace
	if ns == "" {
		ns = podNamespace()
	}
	host, _ := os.Hostname()
	id := host + "_" + uuid.NewString()
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: ns, Name: le.ID},
		Client:     kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	lost := make(chan struct{})
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		Name:            le.ID,
		LeaseDuration:   le.LeaseDuration,
		RenewDeadline:   le.RenewDeadline,
		RetryPeriod:     le.RetryPeriod,
		ReleaseOnCancel: true,
		WatchDog:        health,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				log.Info("became leader", zap.String("lease", ns+"/"+le.ID))
				m.IsLeader.Set(1)
				p.setLeading(true)
				work(ctx)
			},
			OnStoppedLeading: func() {
				m.IsLeader.Set(0)
				p.setLeading(false)
				close(lost)
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	log.Info("waiting for leadership", zap.String("lease", ns+"/"+le.ID), zap.String("identity", id))
	elector.Run(ctx)
	select {
	case <-lost:
		if ctx.Err() == nil {
			return errors.New("lost the leader Lease; exiting so a fresh start takes part in the next election")
		}
	default:
	}
	return nil
}

// podNamespace is the namespace the pod runs in, or "default" outside a cluster.
func podNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return "default"
}

func logger(cfg config.Config, d Deps) *zap.Logger {
	log := d.Logger
	if log == nil {
		log = NewLogger(cfg.LogLevel, cfg.LogFormat, logOutput(d))
	}
	// klog is process-global: client-go's own messages go to the first command's logger.
	klogOnce.Do(func() { klog.SetLogger(zapr.NewLogger(log.Named("k8s"))) })
	return log
}

// logOutput is where a logger built from the flags writes.
func logOutput(d Deps) io.Writer {
	if d.LogOutput == nil {
		return os.Stderr
	}
	return d.LogOutput
}

var klogOnce sync.Once

// serve starts the metrics and probe listeners. Binding them is checked before returning, so a
// port in use is an error at start-up rather than a log line later.
func serve(ctx context.Context, log *zap.Logger, cfg config.Config, gather prometheus.Gatherer, p *probes) (func(), error) {
	type endpoint struct {
		addr string
		mux  *http.ServeMux
	}
	metricsMux := http.NewServeMux()
	// targetsync's own metrics, and client-go's (REST client, workqueues, leader election).
	metricsMux.Handle("/metrics", promhttp.HandlerFor(gather, promhttp.HandlerOpts{}))
	probeMux := http.NewServeMux()
	probeMux.HandleFunc("/healthz", p.healthz)
	probeMux.HandleFunc("/readyz", p.readyz)

	var endpoints []endpoint
	switch {
	case cfg.MetricsBindAddress == cfg.HealthProbeBindAddress && cfg.MetricsBindAddress != "0":
		metricsMux.HandleFunc("/healthz", p.healthz)
		metricsMux.HandleFunc("/readyz", p.readyz)
		endpoints = append(endpoints, endpoint{cfg.MetricsBindAddress, metricsMux})
	default:
		if cfg.MetricsBindAddress != "0" {
			endpoints = append(endpoints, endpoint{cfg.MetricsBindAddress, metricsMux})
		}
		if cfg.HealthProbeBindAddress != "0" {
			endpoints = append(endpoints, endpoint{cfg.HealthProbeBindAddress, probeMux})
		}
	}
	var servers []*http.Server
	stop := func() {
		for _, s := range servers {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = s.Shutdown(sctx)
			cancel()
		}
	}
	for _, e := range endpoints {
		ln, err := net.Listen("tcp", e.addr)
		if err != nil {
			stop()
			return nil, fmt.Errorf("listen on %s: %w", e.addr, err)
		}
		s := &http.Server{Handler: e.mux, ReadHeaderTimeout: 5 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
		servers = append(servers, s)
		log.Info("serving", zap.String("address", ln.Addr().String()))
		go func() {
			if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server stopped", zap.String("address", e.addr), zap.Error(err))
			}
		}()
	}
	return stop, nil
}
