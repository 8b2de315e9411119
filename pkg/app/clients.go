package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
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

// kubeTarget is the cluster a command talks to, as people know it: the kubeconfig context
// (or "in-cluster") and the API server's address.
type kubeTarget struct {
	Context string
	Server  string
}

// kubeClients connects to the cluster: --kubeconfig if given; else in-cluster when running in a
// pod; else $KUBECONFIG and ~/.kube/config, as kubectl does. The first client's requests time
// out after --request-timeout; the second has no overall timeout, for the informers' watches,
// which an HTTP client timeout would cut every --request-timeout.
func kubeClients(cfg config.Config, version string) (kubernetes.Interface, kubernetes.Interface, kubeTarget, error) {
	var rc *rest.Config
	var err error
	target := kubeTarget{Context: "in-cluster"}
	if cfg.Kubeconfig == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		rc, err = rest.InClusterConfig()
	} else {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = cfg.Kubeconfig
		loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
		rc, err = loader.ClientConfig()
		if raw, rawErr := loader.RawConfig(); rawErr == nil {
			target.Context = raw.CurrentContext
		}
	}
	if err != nil {
		if cfg.Kubeconfig != "" {
			return nil, nil, target, fmt.Errorf("invalid --kubeconfig %q: %w", cfg.Kubeconfig, err)
		}
		return nil, nil, target, fmt.Errorf("no cluster to talk to (set --kubeconfig): %w", err)
	}
	target.Server = strings.TrimSuffix(rc.Host, "/")
	rc.UserAgent = "targetsync/" + version
	rc.QPS, rc.Burst = 20, 40
	// Core objects in protobuf: a third of JSON's bytes and far less garbage to decode.
	rc.ContentType, rc.AcceptContentTypes = runtime.ContentTypeProtobuf, runtime.ContentTypeProtobuf+","+runtime.ContentTypeJSON
	watch, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, nil, target, fmt.Errorf("kubernetes client: %w", err)
	}
	rc = rest.CopyConfig(rc)
	rc.Timeout = requestTimeout(cfg)
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, nil, target, fmt.Errorf("kubernetes client: %w", err)
	}
	return kube, watch, target, nil
}

// kubeClient is the client of commands that do not take --request-timeout (bootstrap, expose):
// as before it, with no overall timeout.
func kubeClient(cfg config.Config, version string) (kubernetes.Interface, error) {
	_, watch, _, err := kubeClients(cfg, version)
	return watch, err
}

// requestTimeout is --request-timeout, or its default when it is not positive.
func requestTimeout(cfg config.Config) time.Duration {
	if d := cfg.RequestTimeout.Duration; d > 0 {
		return d
	}
	return config.DefaultRequestTimeout
}

// reachAPIServer asks the API server for its version once, within --request-timeout, so that a
// server that cannot be reached is said at once, with its real cause (connection refused, an
// unknown certificate authority, a timeout), instead of informers retrying until ctx ends.
func reachAPIServer(ctx context.Context, cfg config.Config, kube kubernetes.Interface, target kubeTarget) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout(cfg))
	defer cancel()
	body, err := kube.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err == nil {
		var v struct {
			GitVersion string `json:"gitVersion"`
		}
		_ = json.Unmarshal(body, &v)
		return v.GitVersion, nil
	}
	// The URL error repeats the server's address with the request path; the cause is what
	// the reader needs.
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within --request-timeout %s", requestTimeout(cfg))
	}
	return "", fmt.Errorf("cannot reach the API server %s (context %s): %w", target.Server, target.Context, err)
}

// clients are what both commands talk to.
type clients struct {
	log *zap.Logger
	// kube times its requests out after --request-timeout; watch, for informers, does not.
	kube, watch kubernetes.Interface
	// target names the cluster; zero when the client was handed in (Deps.Kube).
	target kubeTarget
	// serverVersion is the API server's version, when it was asked.
	serverVersion string
	groups        func(controller.Binding) controller.TargetGroups
	sgs           *controller.SecurityGroups
}

// connect builds the logger, the Kubernetes clients (unless d has one), checks that the API
// server answers, and builds the AWS clients. m receives AWS call metrics; nil for commands
// that export none. announce, when not nil, is told the cluster before it is first asked.
func connect(ctx context.Context, cfg config.Config, d Deps, m *metrics.Metrics, announce ...func(*zap.Logger, kubeTarget)) (clients, error) {
	var c clients
	var err error
	if c.log, err = logger(cfg, d); err != nil {
		return c, err
	}
	if c.kube, c.watch = d.Kube, d.Kube; c.kube == nil {
		if c.kube, c.watch, c.target, err = kubeClients(cfg, d.Version); err != nil {
			return c, err
		}
		for _, a := range announce {
			a(c.log, c.target)
		}
		if c.serverVersion, err = reachAPIServer(ctx, cfg, c.kube, c.target); err != nil {
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
	if err := checkCredentials(ctx, awsCfg); err != nil {
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

// errNoCredentials replaces the SDK's account of every credential source it tried, which is
// long and names the instance metadata service rather than what to set.
var errNoCredentials = errors.New("no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an IAM role is available")

// checkCredentials fails when the default credential chain found nothing: it fell through to the
// instance's IAM role and there is none. Credentials that were found but cannot be used now
// (an STS hiccup for IRSA) are left to the first call, which reports and retries them.
func checkCredentials(ctx context.Context, awsCfg aws.Config) error {
	if awsCfg.Credentials == nil || !aws.IsCredentialsProvider(awsCfg.Credentials, (*ec2rolecreds.Provider)(nil)) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := awsCfg.Credentials.Retrieve(ctx); err != nil && ctx.Err() == nil {
		return errNoCredentials
	}
	return nil
}
