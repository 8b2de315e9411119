package config

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/targetsync/targetsync/pkg/awsclient"
	"github.com/targetsync/targetsync/pkg/sg"
)

// NotReady policies: what happens to the target of a node whose Ready condition is not True.
const (
	// NotReadyKeep leaves NotReady nodes registered; the NLB health check takes them out of
	// rotation, and a cluster-wide NotReady blip cannot empty the target group.
	NotReadyKeep = "keep"
	// NotReadyRemove deregisters NotReady nodes.
	NotReadyRemove = "remove"
)

// Targets modes: which nodes are targets at all.
const (
	// TargetsAll makes every node that passes the rules a target.
	TargetsAll = "all"
	// TargetsIngressNodes makes only the nodes that run a ready endpoint of the traffic Service
	// targets: with externalTrafficPolicy Local the only ones that pass the health check, and
	// the way to stay under the target group quota in a large cluster.
	TargetsIngressNodes = "ingress-nodes"
)

// APIVersion and Kind head every config file.
const (
	APIVersion = "targetsync.io/v1alpha1"
	Kind       = "Config"
)

// Defaults.
const (
	DefaultNodeSelector       = "!node-role.kubernetes.io/control-plane"
	DefaultHealthCheckPath    = "/healthz"
	DefaultResyncPeriod       = 60 * time.Second
	DefaultMinSyncInterval    = time.Second
	DefaultLeaderElectionID   = "targetsync"
	DefaultMetricsAddress     = ":8080"
	DefaultHealthProbeAddress = ":8081"
	DefaultSource             = "vpc-cidr"
	// DefaultMaxDeregisterFraction and DefaultCapacityWindow are the healthy-capacity guard's.
	DefaultMaxDeregisterFraction = 0.34
	DefaultCapacityWindow        = time.Minute
	// DefaultRequestTimeout bounds each request to the API server.
	DefaultRequestTimeout = 30 * time.Second
	// Leader election timings: client-go's and cluster-autoscaler's usual values.
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Config is everything `targetsync run`, `plan` and `status` need, parsed into typed values:
// nothing downstream parses a string of it again.
type Config struct {
	Kube        Kube
	ClusterName string
	Bindings    []Binding

	// DeregisterCordoned removes cordoned (unschedulable) nodes so that connections drain
	// before the node is terminated.
	DeregisterCordoned bool
	// Targets is TargetsAll or TargetsIngressNodes.
	Targets string

	// MaxDeregisterFraction is the share of the recent high-water mark of healthy targets that
	// deregistering targets of nodes that still exist may take out; 1 turns the guard off.
	MaxDeregisterFraction float64
	// CapacityWindow is how long the guard remembers a healthy count.
	CapacityWindow time.Duration

	// ResyncPeriod bounds how long drift made outside targetsync can last.
	ResyncPeriod time.Duration
	// MinSyncInterval is how long a binding waits after a sync that changed its target group
	// before it syncs again; changes arriving meanwhile are merged.
	MinSyncInterval time.Duration
	DryRun          bool

	// SecurityGroups, when not nil, are the worker security groups whose ingress rules are kept
	// open on the NodePorts.
	SecurityGroups *SecurityGroups
	// Publishing, when not nil, publishes Services annotated targetsync.io/expose-prefix.
	Publishing *Publishing

	LeaderElection LeaderElection

	MetricsBindAddress     string
	HealthProbeBindAddress string
	// PprofBindAddress serves /debug/pprof/; "0" turns it off.
	PprofBindAddress string

	LogLevel  zapcore.Level
	LogFormat string

	// AWSThrottle are the --aws-api-throttle rules, ahead of the built-in ones.
	AWSThrottle []awsclient.ThrottleRule

	// Bootstrap, when not nil, is the setup `run --bootstrap` builds or completes before it
	// syncs; its target group becomes the one binding.
	Bootstrap *BootstrapConfig

	// Output is how plan and status print: OutputTable, OutputJSON or OutputYAML.
	Output string

	// nodeSelector and notReady are the top-level node rules, for a binding added later.
	nodeSelector, notReady string
}

// Kube says how to reach the cluster.
type Kube struct {
	// Kubeconfig and Context are kubectl's --kubeconfig and --context; both empty means the
	// in-cluster config, then $KUBECONFIG and ~/.kube/config.
	Kubeconfig string
	Context    string
	// RequestTimeout bounds each request to the API server, and reaching it at start-up.
	RequestTimeout time.Duration
}

// SecurityGroups selects the worker security groups and where traffic comes from.
type SecurityGroups struct {
	Selector sg.GroupSelector
	Sources  []sg.Source
}

// Publishing says under which names annotated Services are published.
type Publishing struct {
	Domain       string
	ClusterID    string
	IngressClass string
}

// LeaderElection configures the Lease replicas take before changing anything.
type LeaderElection struct {
	Enabled bool
	// Namespace of the Lease; empty means the pod's namespace, else default.
	Namespace     string
	ID            string
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
}

// Binding ties one target group to one Service port, and optionally a health-check source.
type Binding struct {
	// Name identifies the binding in logs; it defaults to the Service port.
	Name        string
	TargetGroup arn.ARN
	// Service is the ingress controller's Service; ServicePort names or numbers its port whose
	// NodePort receives traffic.
	Service     types.NamespacedName
	ServicePort intstr.IntOrString
	// HealthCheck, when not nil, is a separate Service port whose NodePort serves the health
	// check. When nil it is the traffic Service's healthCheckNodePort under
	// externalTrafficPolicy Local, and the health check is left alone otherwise.
	HealthCheck     *PortRef
	HealthCheckPath string

	// NodeSelector must match a node's labels for it to be a target of this binding.
	NodeSelector labels.Selector
	// NotReady is NotReadyKeep or NotReadyRemove.
	NotReady string
}

// PortRef names one port of one Service.
type PortRef struct {
	Service types.NamespacedName
	Port    intstr.IntOrString
}

// TargetGroupARN is the binding's target group ARN as AWS writes it.
func (b Binding) TargetGroupARN() string { return b.TargetGroup.String() }

// Region is the AWS region of the binding's target group.
func (b Binding) Region() string { return b.TargetGroup.Region }
