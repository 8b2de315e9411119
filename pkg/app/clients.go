package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/targetsync/targetsync/pkg/awsclient"
	"github.com/targetsync/targetsync/pkg/config"
	"github.com/targetsync/targetsync/pkg/controller"
	"github.com/targetsync/targetsync/pkg/elb"
	"github.com/targetsync/targetsync/pkg/metrics"
	"github.com/targetsync/targetsync/pkg/sg"
)

// Deps are the collaborators a command can be handed instead of building them, for tests.
type Deps struct {
	Version string
	// Kube, when set, is used instead of a client built from --kubeconfig.
	Kube kubernetes.Interface
	// Logger, when set, is used instead of one built from --log-level and --log-format.
	Logger *zap.Logger
	// LogOutput is where the built logger writes; os.Stderr when nil.
	LogOutput io.Writer
}

// NewLogger builds the zap logger the flags ask for, writing to w.
func NewLogger(cfg config.Config, w io.Writer) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	encoder := zapcore.NewJSONEncoder(enc)
	if cfg.LogFormat == "console" {
		enc.EncodeLevel = zapcore.CapitalLevelEncoder
		encoder = zapcore.NewConsoleEncoder(enc)
	}
	return zap.New(zapcore.NewCore(encoder, zapcore.Lock(zapcore.AddSync(w)), level)), nil
}

// kubeClient connects to the cluster: --kubeconfig if given; else in-cluster when running in a
// pod; else $KUBECONFIG and ~/.kube/config, as kubectl does.
func kubeClient(cfg config.Config, version string) (kubernetes.Interface, error) {
	var rc *rest.Config
	var err error
	if cfg.Kubeconfig == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		rc, err = rest.InClusterConfig()
	} else {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = cfg.Kubeconfig
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	}
	if err != nil {
		if cfg.Kubeconfig != "" {
			return nil, fmt.Errorf("invalid --kubeconfig %q: %w", cfg.Kubeconfig, err)
		}
		return nil, fmt.Errorf("no cluster to talk to (set --kubeconfig): %w", err)
	}
	rc.UserAgent = "targetsync/" + version
	rc.QPS, rc.Burst = 20, 40
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return kube, nil
}

// clients are what both commands talk to.
type clients struct {
	log    *zap.Logger
	kube   kubernetes.Interface
	groups func(controller.Binding) controller.TargetGroups
	sgs    *controller.SecurityGroups
}

// connect builds the logger, the Kubernetes client (unless d has one) and the AWS clients.
// m receives AWS call metrics; nil for commands that export none.
func connect(ctx context.Context, cfg config.Config, d Deps, m *metrics.Metrics) (clients, error) {
	var c clients
	var err error
	if c.log, err = logger(cfg, d); err != nil {
		return c, err
	}
	if c.kube = d.Kube; c.kube == nil {
		if c.kube, err = kubeClient(cfg, d.Version); err != nil {
			return c, err
		}
	}
	c.groups, c.sgs, err = awsClients(ctx, cfg, m, d.Version)
	return c, err
}

// awsClients builds, for each binding, an ELB client in the region of its target group ARN and,
// when security groups are managed, one EC2 rule syncer for the whole cluster, in the region of
// the first binding (config checks that every binding is in it).
func awsClients(ctx context.Context, cfg config.Config, m *metrics.Metrics, version string) (func(controller.Binding) controller.TargetGroups, *controller.SecurityGroups, error) {
	awsCfg, err := awsclient.Load(ctx, awsclient.Options{
		Region:  cfg.Bindings[0].Region(),
		AppID:   "targetsync_" + version,
		Metrics: m,
	})
	if err != nil {
		return nil, nil, err
	}
	byARN := map[string]*elb.Client{}
	for _, b := range cfg.Bindings {
		region := b.Region()
		byARN[b.TargetGroupARN] = elb.NewClient(elbv2.NewFromConfig(awsCfg, func(o *elbv2.Options) { o.Region = region }))
	}
	groups := func(b controller.Binding) controller.TargetGroups { return byARN[b.TargetGroupARN] }
	if !cfg.ManagesSecurityGroups() {
		return groups, nil, nil
	}
	region := cfg.Bindings[0].Region()
	rules, err := sg.NewClient(ec2.NewFromConfig(awsCfg, func(o *ec2.Options) { o.Region = region }), sg.Owner{Cluster: cfg.ClusterName})
	if err != nil {
		return nil, nil, fmt.Errorf("security groups: %w", err)
	}
	sgs := &controller.SecurityGroups{
		Selector: sg.GroupSelector{IDs: cfg.SecurityGroupIDs},
		Rules:    rules,
	}
	if cfg.SecurityGroupTag != "" {
		sgs.Selector.TagKey, sgs.Selector.TagValue, _ = strings.Cut(cfg.SecurityGroupTag, "=")
	}
	for _, s := range cfg.Sources {
		src, err := sg.ParseSource(s)
		if err != nil {
			return nil, nil, err
		}
		sgs.Sources = append(sgs.Sources, src)
	}
	return groups, sgs, nil
}
