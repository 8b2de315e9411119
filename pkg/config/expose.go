package config

import (
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

// DefaultIngressClass is the IngressClass of the Ingresses targetsync writes: the seed's
// ingress-nginx.
const DefaultIngressClass = "nginx"

// Flags of the publishing settings, shared by run and expose.
const (
	flagDomain       = "domain"
	flagClusterID    = "cluster-id"
	flagIngressClass = "ingress-class"
)

const msgDNSLabel = "want a DNS label: lower-case letters, digits and '-'"

// ExposeConfig is what `targetsync expose` needs, parsed into typed values.
type ExposeConfig struct {
	Kube        Kube
	ClusterName string

	// Service is the Service to publish; the Ingress is created in its namespace.
	Service types.NamespacedName
	// Port is one of the Service's .spec.ports[].port.
	Port int32
	// Name is the Ingress's name; it defaults to the Service's name.
	Name string
	// Prefix is the first label of the host; it defaults to Name.
	Prefix string

	ClusterID    string
	Domain       string
	IngressClass string

	DryRun bool
}

type exposeFlags struct{ namespace, service, port string }

// BindExpose adds the flags of `targetsync expose` to fs. After fs is parsed, the function
// returned checks them and returns the typed configuration, or one error naming the flag.
func BindExpose(fs *pflag.FlagSet) func() (ExposeConfig, error) {
	c, f := &ExposeConfig{}, &exposeFlags{}
	c.Kube.RequestTimeout = DefaultRequestTimeout
	fs.StringVar(&c.Kube.Kubeconfig, "kubeconfig", "", "path to the kubeconfig file; empty means in-cluster config, then $KUBECONFIG and ~/.kube/config")
	fs.StringVar(&c.Kube.Context, "context", "", "the kubeconfig context to use (default: its current context)")
	fs.StringVar(&c.ClusterName, "cluster-name", "", "name of this cluster (required)")
	fs.StringVar(&f.namespace, "namespace", "", "namespace of the Service, where the Ingress is created (required)")
	fs.StringVar(&f.service, flagService, "", "name of the Service to publish (required)")
	fs.StringVar(&f.port, "port", "", "the Service port to route to: one of its .spec.ports[].port (required)")
	fs.StringVar(&c.Prefix, "prefix", "", "first label of the host PREFIX.CLUSTER_ID.DOMAIN, unique across every Ingress host in the cluster (default: the Ingress name)")
	fs.StringVar(&c.Name, "name", "", "name of the Ingress, unique in its namespace (default: the Service name)")
	fs.StringVar(&c.ClusterID, flagClusterID, "", "ID of this cluster, the second label of the host (required)")
	fs.StringVar(&c.Domain, flagDomain, "", "domain the hosts are under (required)")
	fs.StringVar(&c.IngressClass, flagIngressClass, DefaultIngressClass, "IngressClass of the Ingress")
	fs.BoolVar(&c.DryRun, "dry-run", false, "check and print what would be done, and change nothing")
	return func() (ExposeConfig, error) {
		out := *c
		if err := out.fill(*f); err != nil {
			return ExposeConfig{}, err
		}
		return out, nil
	}
}

// fill checks f and c and completes c, with the first problem as one error naming its flag.
func (c *ExposeConfig) fill(f exposeFlags) error {
	bad := func(flag, value, msg string) error { return &FieldError{"--" + flag, value, msg} }
	if c.ClusterName == "" {
		return bad("cluster-name", "", "required: the name of this cluster")
	}
	if len(validation.IsDNS1123Label(c.ClusterName)) > 0 {
		return bad("cluster-name", c.ClusterName, msgDNSLabel)
	}
	if f.namespace == "" {
		return bad("namespace", "", "required: the namespace of the Service")
	}
	if len(validation.IsDNS1123Label(f.namespace)) > 0 {
		return bad("namespace", f.namespace, "not a namespace name")
	}
	switch {
	case f.service == "":
		return bad(flagService, "", "required: the name of the Service to publish")
	case strings.Contains(f.service, "/"):
		return bad(flagService, f.service, "want the Service's name alone; its namespace goes in --namespace")
	case len(validation.IsDNS1035Label(f.service)) > 0:
		return bad(flagService, f.service, "not a Service name")
	}
	c.Service = types.NamespacedName{Namespace: f.namespace, Name: f.service}
	if f.port == "" {
		return bad("port", "", "required: the number of one of the Service's ports")
	}
	n, err := strconv.ParseInt(f.port, 10, 32)
	if err != nil || n < 1 || n > 65535 {
		return bad("port", f.port, "want a port number in 1-65535: one of the Service's .spec.ports[].port")
	}
	c.Port = int32(n)
	if c.Name == "" {
		c.Name = c.Service.Name
	}
	if len(validation.IsDNS1123Label(c.Name)) > 0 {
		return bad("name", c.Name, msgDNSLabel)
	}
	if c.Prefix == "" {
		c.Prefix = c.Name
	}
	if len(validation.IsDNS1123Label(c.Prefix)) > 0 {
		return bad("prefix", c.Prefix, msgDNSLabel)
	}
	if c.Domain == "" {
		return bad(flagDomain, "", "required: hosts are PREFIX.CLUSTER_ID.DOMAIN")
	}
	return checkSite(namer{src: SourceFlags, index: -1}, c.Domain, c.ClusterID, c.IngressClass)
}

// checkSite checks the publishing settings given a domain: a DNS domain, a cluster ID that is
// a DNS label, and an IngressClass name.
func checkSite(n namer, domain, clusterID, class string) error {
	if len(validation.IsDNS1123Subdomain(domain)) > 0 || !strings.Contains(domain, ".") {
		return &FieldError{n.name(flagDomain), domain, "want a DNS domain such as example.com: lower-case letters, digits, '-' and '.'"}
	}
	if clusterID == "" {
		return &FieldError{n.name(flagClusterID), "", "required with --domain: hosts are PREFIX.CLUSTER_ID.DOMAIN"}
	}
	if len(validation.IsDNS1123Label(clusterID)) > 0 {
		return &FieldError{n.name(flagClusterID), clusterID, msgDNSLabel}
	}
	if len(validation.IsDNS1123Subdomain(class)) > 0 {
		return &FieldError{n.name(flagIngressClass), class, "want an IngressClass name such as nginx"}
	}
	return nil
}
