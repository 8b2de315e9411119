package app

import (
	"context"
	"fmt"
	"io"
	"os"

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
func kubeClient(cfg config.Config, version string) (kubernetes.Interface, *rest.Config, error) {
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
			return nil, nil, fmt.Errorf("invalid --kubeconfig %q: %w", cfg.Kubeconfig, err)
		}
		return nil, nil, fmt.Errorf("no cluster to talk to (set --kubeconfig): %w", err)
	}
	rc.UserAgent = "targetsync/" + version
	rc.QPS, rc.Burst = 20, 40
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return kube, rc, nil
}

// targetGroupClients returns, for each binding, an ELB client in the region of its ARN.
func targetGroupClients(ctx context.Context, cfg config.Config, m *metrics.Metrics, version string) (func(controller.Binding) controller.TargetGroups, error) {
	awsCfg, err := awsclient.Load(ctx, awsclient.Options{
		Region:  cfg.Bindings[0].Region(),
		AppID:   "targetsync_" + version,
		Metrics: m,
	})
	if err != nil {
		return nil, err
	}
	clients := map[string]*elb.Client{}
	for _, b := range cfg.Bindings {
		region := b.Region()
		if _, ok := clients[region]; !ok {
			clients[region] = elb.NewClient(elbv2.NewFromConfig(awsCfg, func(o *elbv2.Options) { o.Region = region }))
		}
	}
	regions := map[string]string{}
	for _, b := range cfg.Bindings {
		regions[b.TargetGroupARN] = b.Region()
	}
	return func(b controller.Binding) controller.TargetGroups { return clients[regions[b.TargetGroupARN]] }, nil
}
