package config

import (
	"reflect"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// settings are run's settings as the flags and the config file spell them, before they are
// checked. Each JSON name is its flag's name in lowerCamelCase, so the file and the command
// line say the same thing the same way; flagName derives one from the other.
type settings struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`

	Kubeconfig     string          `json:"kubeconfig"`
	Context        string          `json:"context"`
	RequestTimeout metav1.Duration `json:"requestTimeout"`
	ClusterName    string          `json:"clusterName"`

	NodeSelector          string          `json:"nodeSelector"`
	DeregisterCordoned    bool            `json:"deregisterCordoned"`
	NotReady              string          `json:"notReady"`
	Targets               string          `json:"targets"`
	MaxDeregisterFraction float64         `json:"maxDeregisterFraction"`
	CapacityWindow        metav1.Duration `json:"capacityWindow"`
	ResyncPeriod          metav1.Duration `json:"resyncPeriod"`
	MinSyncInterval       metav1.Duration `json:"minSyncInterval"`
	DryRun                bool            `json:"dryRun"`

	SecurityGroupID  []string `json:"securityGroupId"`
	SecurityGroupTag string   `json:"securityGroupTag"`
	Source           []string `json:"source"`

	Domain       string `json:"domain"`
	ClusterID    string `json:"clusterId"`
	IngressClass string `json:"ingressClass"`

	LeaderElect              bool            `json:"leaderElect"`
	LeaderElectionNamespace  string          `json:"leaderElectionNamespace"`
	LeaderElectionID         string          `json:"leaderElectionId"`
	LeaderElectLeaseDuration metav1.Duration `json:"leaderElectLeaseDuration"`
	LeaderElectRenewDeadline metav1.Duration `json:"leaderElectRenewDeadline"`
	LeaderElectRetryPeriod   metav1.Duration `json:"leaderElectRetryPeriod"`

	MetricsBindAddress     string   `json:"metricsBindAddress"`
	HealthProbeBindAddress string   `json:"healthProbeBindAddress"`
	PprofBindAddress       string   `json:"pprofBindAddress"`
	LogLevel               string   `json:"logLevel"`
	LogFormat              string   `json:"logFormat"`
	AWSAPIThrottle         []string `json:"awsApiThrottle"`

	Bindings []bindingSettings `json:"bindings"`
}

// bindingSettings are one binding as the one-binding flags and a file's bindings[] spell it.
// NodeSelector and NotReady, when set, override the top-level ones for this binding.
type bindingSettings struct {
	BindingName            string             `json:"bindingName"`
	TargetGroupARN         string             `json:"targetGroupArn"`
	Service                string             `json:"service"`
	ServicePort            intstr.IntOrString `json:"servicePort"`
	HealthCheckService     string             `json:"healthCheckService"`
	HealthCheckServicePort intstr.IntOrString `json:"healthCheckServicePort"`
	HealthCheckPath        string             `json:"healthCheckPath"`
	NodeSelector           *string            `json:"nodeSelector"`
	NotReady               *string            `json:"notReady"`
}

// defaults returns the settings every flag shows as its default.
func defaults() settings {
	d := func(v time.Duration) metav1.Duration { return metav1.Duration{Duration: v} }
	return settings{
		RequestTimeout:           d(DefaultRequestTimeout),
		NodeSelector:             DefaultNodeSelector,
		DeregisterCordoned:       true,
		NotReady:                 NotReadyKeep,
		Targets:                  TargetsAll,
		MaxDeregisterFraction:    DefaultMaxDeregisterFraction,
		CapacityWindow:           d(DefaultCapacityWindow),
		ResyncPeriod:             d(DefaultResyncPeriod),
		MinSyncInterval:          d(DefaultMinSyncInterval),
		Source:                   []string{DefaultSource},
		LeaderElectionID:         DefaultLeaderElectionID,
		LeaderElectLeaseDuration: d(DefaultLeaseDuration),
		LeaderElectRenewDeadline: d(DefaultRenewDeadline),
		LeaderElectRetryPeriod:   d(DefaultRetryPeriod),
		MetricsBindAddress:       DefaultMetricsAddress,
		HealthProbeBindAddress:   DefaultHealthProbeAddress,
		PprofBindAddress:         "0",
		LogLevel:                 "info",
		LogFormat:                "json",
	}
}

// jsonName is the file key of a flag: its name in lowerCamelCase.
func jsonName(flag string) string {
	parts := strings.Split(flag, "-")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// flagName is the flag of a file key: the key in kebab-case.
func flagName(key string) string {
	var b strings.Builder
	for i, r := range key {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// fieldsByKey maps the JSON names of a settings struct type to their field indexes.
func fieldsByKey(t reflect.Type) map[string][]int {
	m := make(map[string][]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			m[name] = f.Index
		}
	}
	return m
}

// copyField sets the field of dst named by key to the same field of src. Both are pointers to
// the same struct type; it reports whether there is such a field.
func copyField(dst, src any, key string) bool {
	idx, ok := fieldsByKey(reflect.TypeOf(dst).Elem())[key]
	if !ok {
		return false
	}
	reflect.ValueOf(dst).Elem().FieldByIndex(idx).Set(reflect.ValueOf(src).Elem().FieldByIndex(idx))
	return true
}

// parsePort reads a port as a number when it is all digits and as a port name otherwise.
// Numbers too large for a port stay text, so validation quotes them as the user typed them.
func parsePort(s string) intstr.IntOrString {
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		return intstr.FromInt32(int32(n))
	}
	return intstr.FromString(s)
}

// portValue is a flag holding a port name or number.
type portValue struct{ p *intstr.IntOrString }

func (v portValue) String() string {
	if v.p == nil || (v.p.Type == intstr.Int && v.p.IntVal == 0) {
		return ""
	}
	return v.p.String()
}

func (v portValue) Set(s string) error { *v.p = parsePort(s); return nil }
func (v portValue) Type() string       { return "port" }
