package config

import (
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// NotReady policies: what happens to the target of a node whose Ready condition is not True.
const (
	// NotReadyKeep leaves NotReady nodes registered; the NLB health check takes them out of
	// rotation, and a cluster-wide NotReady blip cannot empty the target group.
	NotReadyKeep = "keep"
	// NotReadyRemove deregisters NotReady nodes.
	NotReadyRemove = "remove"
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
)

// Config is everything targetsync needs to run.
type Config struct {
	Kubeconfig  string `json:"kubeconfig,omitempty"`
	ClusterName string `json:"clusterName,omitempty"`

	// NodeSelector is a label selector nodes must match to be targets.
	NodeSelector string `json:"nodeSelector,omitempty"`
	// DeregisterCordoned removes cordoned (unschedulable) nodes so that connections drain
	// before the node is terminated.
	DeregisterCordoned bool `json:"deregisterCordoned"`
	// NotReady is NotReadyKeep or NotReadyRemove.
	NotReady string `json:"notReady,omitempty"`

	// MaxDeregisterFraction is the share of the recent high-water mark of healthy targets that
	// deregistering targets of nodes that still exist may take out; 1 turns the guard off.
	MaxDeregisterFraction float64 `json:"maxDeregisterFraction,omitempty"`
	// CapacityWindow is how long the guard remembers a healthy count.
	CapacityWindow Duration `json:"capacityWindow,omitempty"`

	// ResyncPeriod bounds how long drift made outside targetsync can last.
	ResyncPeriod Duration `json:"resyncPeriod,omitempty"`
	// MinSyncInterval is how long a binding waits after a sync that changed its target group
	// before it syncs again; changes arriving meanwhile are merged. A lone change after a quiet
	// period syncs at once.
	MinSyncInterval Duration `json:"minSyncInterval,omitempty"`
	DryRun          bool     `json:"dryRun,omitempty"`

	LeaderElect             bool   `json:"leaderElect,omitempty"`
	LeaderElectionNamespace string `json:"leaderElectionNamespace,omitempty"`
	LeaderElectionID        string `json:"leaderElectionID,omitempty"`

	MetricsBindAddress     string `json:"metricsBindAddress,omitempty"`
	HealthProbeBindAddress string `json:"healthProbeBindAddress,omitempty"`
	PprofBindAddress       string `json:"pprofBindAddress,omitempty"`

	LogLevel  string `json:"logLevel,omitempty"`
	LogFormat string `json:"logFormat,omitempty"`

	// RequestTimeout bounds each request to the API server, and reaching it at start-up.
	RequestTimeout Duration `json:"requestTimeout,omitempty"`

	// SecurityGroupIDs and SecurityGroupTag ("key=value") select the worker security groups
	// whose ingress rules targetsync keeps open on the NodePorts. Neither set: not managed.
	SecurityGroupIDs []string `json:"securityGroupIDs,omitempty"`
	SecurityGroupTag string   `json:"securityGroupTag,omitempty"`
	// Sources are where the load balancer's traffic comes from: vpc-cidr, nlb-private-ips or
	// cidr:<a.b.c.d/n>.
	Sources []string `json:"sources,omitempty"`

	// Domain turns on publishing: Services annotated targetsync.io/expose-prefix get an Ingress
	// for host PREFIX.ClusterID.Domain of class IngressClass (DefaultIngressClass when empty).
	// Empty: off, and Ingresses are not even watched.
	Domain       string `json:"domain,omitempty"`
	ClusterID    string `json:"clusterID,omitempty"`
	IngressClass string `json:"ingressClass,omitempty"`

	Bindings []Binding `json:"bindings"`

	// Output is how plan and status print: OutputTable, OutputJSON or OutputYAML. It is a flag
	// only, never read from a file.
	Output string `json:"-"`
}

// ManagesSecurityGroups reports whether security-group rules are managed.
func (c Config) ManagesSecurityGroups() bool {
	return len(c.SecurityGroupIDs) > 0 || c.SecurityGroupTag != ""
}

// Binding ties one target group to one Service port, and optionally a health-check source.
type Binding struct {
	// Name identifies the binding in logs; it defaults to the Service port.
	Name           string `json:"name,omitempty"`
	TargetGroupARN string `json:"targetGroupARN"`
	// Service is namespace/name of the ingress controller's Service.
	Service string `json:"service"`
	// ServicePort is the Service port's name or number whose NodePort receives traffic.
	ServicePort intstr.IntOrString `json:"servicePort"`
	HealthCheck HealthCheck        `json:"healthCheck,omitempty"`
}

// HealthCheck says where the target group's health check port comes from. With no Service,
// it is the traffic Service's spec.healthCheckNodePort when externalTrafficPolicy is Local,
// and the health check is left alone otherwise.
type HealthCheck struct {
	Service     string             `json:"service,omitempty"`
	ServicePort intstr.IntOrString `json:"servicePort,omitempty"`
	Path        string             `json:"path,omitempty"`
}

// ServiceName returns the binding's Service as a NamespacedName. Valid only after Validate.
func (b Binding) ServiceName() types.NamespacedName { return mustSplit(b.Service) }

// HealthCheckServiceName returns the health-check Service, if one is set. Valid only after Validate.
func (b Binding) HealthCheckServiceName() (types.NamespacedName, bool) {
	if b.HealthCheck.Service == "" {
		return types.NamespacedName{}, false
	}
	return mustSplit(b.HealthCheck.Service), true
}

// Default returns a Config with every default filled in and no bindings.
func Default() Config {
	return Config{
		NodeSelector:           DefaultNodeSelector,
		DeregisterCordoned:     true,
		NotReady:               NotReadyKeep,
		MaxDeregisterFraction:  DefaultMaxDeregisterFraction,
		CapacityWindow:         Duration{DefaultCapacityWindow},
		ResyncPeriod:           Duration{DefaultResyncPeriod},
		MinSyncInterval:        Duration{DefaultMinSyncInterval},
		LeaderElectionID:       DefaultLeaderElectionID,
		MetricsBindAddress:     DefaultMetricsAddress,
		HealthProbeBindAddress: DefaultHealthProbeAddress,
		PprofBindAddress:       "0",
		LogLevel:               "info",
		LogFormat:              "json",
		RequestTimeout:         Duration{DefaultRequestTimeout},
		Sources:                []string{DefaultSource},
	}
}
