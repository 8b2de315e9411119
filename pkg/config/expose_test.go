package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/types"

	"github.com/targetsync/targetsync/pkg/config"
)

func TestParseExpose(t *testing.T) {
	base := []string{"--cluster-name", "prod", "--namespace", "team-a", "--service", "web", "--port", "80", "--cluster-id", "c1", "--domain", "example.com"}
	with := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	kube := config.Kube{RequestTimeout: config.DefaultRequestTimeout}
	web := types.NamespacedName{Namespace: "team-a", Name: "web"}
	tests := []struct {
		name    string
		args    []string
		want    config.ExposeConfig
		wantErr string
	}{
		{
			name: "defaults: name is the service, prefix the name, class nginx",
			args: base,
			want: config.ExposeConfig{
				Kube: kube, ClusterName: "prod", Service: web, Port: 80,
				Name: "web", Prefix: "web", ClusterID: "c1", Domain: "example.com", IngressClass: "nginx",
			},
		},
		{
			name: "every flag",
			args: with("--name", "site", "--prefix", "shop", "--ingress-class", "internal", "--dry-run", "--kubeconfig", "/k", "--context", "staging"),
			want: config.ExposeConfig{
				Kube:        config.Kube{Kubeconfig: "/k", Context: "staging", RequestTimeout: config.DefaultRequestTimeout},
				ClusterName: "prod", Service: web, Port: 80,
				Name: "site", Prefix: "shop", ClusterID: "c1", Domain: "example.com", IngressClass: "internal", DryRun: true,
			},
		},
		{name: "prefix defaults to --name", args: with("--name", "site"), want: config.ExposeConfig{
			Kube: kube, ClusterName: "prod", Service: web, Port: 80,
			Name: "site", Prefix: "site", ClusterID: "c1", Domain: "example.com", IngressClass: "nginx",
		}},
		{name: "bad prefix", args: with("--prefix", "Shop_1"), wantErr: `invalid --prefix "Shop_1": want a DNS label: lower-case letters, digits and '-'`},
		{name: "prefix with a dot", args: with("--prefix", "a.b"), wantErr: `invalid --prefix "a.b": want a DNS label: lower-case letters, digits and '-'`},
		{name: "bad name", args: with("--name", "Site"), wantErr: `invalid --name "Site": want a DNS label: lower-case letters, digits and '-'`},
		{name: "port a name", args: with("--port", "http"), wantErr: `invalid --port "http": want a port number in 1-65535: one of the Service's .spec.ports[].port`},
		{name: "port out of range", args: with("--port", "70000"), wantErr: `invalid --port "70000": want a port number in 1-65535: one of the Service's .spec.ports[].port`},
		{name: "no port", args: []string{"--cluster-name", "prod", "--namespace", "a", "--service", "web", "--cluster-id", "c1", "--domain", "example.com"}, wantErr: `invalid --port "": required: the number of one of the Service's ports`},
		{name: "service as namespace/name", args: with("--service", "team-a/web"), wantErr: `invalid --service "team-a/web": want the Service's name alone; its namespace goes in --namespace`},
		{name: "no service", args: with("--service="), wantErr: `invalid --service "": required: the name of the Service to publish`},
		{name: "bad service", args: with("--service", "1web"), wantErr: `invalid --service "1web": not a Service name`},
		{name: "no namespace", args: with("--namespace="), wantErr: `invalid --namespace "": required: the namespace of the Service`},
		{name: "bad namespace", args: with("--namespace", "Team_A"), wantErr: `invalid --namespace "Team_A": not a namespace name`},
		{name: "no cluster name", args: []string{"--namespace", "a"}, wantErr: `invalid --cluster-name "": required: the name of this cluster`},
		{name: "bad cluster name", args: with("--cluster-name", "Prod"), wantErr: `invalid --cluster-name "Prod": want a DNS label: lower-case letters, digits and '-'`},
		{name: "no domain", args: with("--domain="), wantErr: `invalid --domain "": required: hosts are PREFIX.CLUSTER_ID.DOMAIN`},
		{name: "bad domain", args: with("--domain", "Example.com"), wantErr: `invalid --domain "Example.com": want a DNS domain such as example.com: lower-case letters, digits, '-' and '.'`},
		{name: "no cluster id", args: with("--cluster-id="), wantErr: `invalid --cluster-id "": required with --domain: hosts are PREFIX.CLUSTER_ID.DOMAIN`},
		{name: "bad cluster id", args: with("--cluster-id", "c.1"), wantErr: `invalid --cluster-id "c.1": want a DNS label: lower-case letters, digits and '-'`},
		{name: "bad ingress class", args: with("--ingress-class", "Bad_Class"), wantErr: `invalid --ingress-class "Bad_Class": want an IngressClass name such as nginx`},
		{name: "stray argument", args: with("web"), wantErr: `unexpected argument "web"`},
		{name: "a flag of run", args: with("--target-group-arn", arnA), wantErr: "unknown flag: --target-group-arn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.ParseExpose(tt.args)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseExpose() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseExpose() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseExposeHelp(t *testing.T) {
	if _, err := config.ParseExpose([]string{"--help"}); !errors.Is(err, pflag.ErrHelp) {
		t.Errorf("ParseExpose(--help) error = %v, want pflag.ErrHelp", err)
	}
	fs := pflag.NewFlagSet("expose", pflag.ContinueOnError)
	config.BindExpose(fs)
	usage := fs.FlagUsages()
	for _, f := range []string{"--namespace", "--service", "--port", "--prefix", "--name", "--cluster-id", "--domain", "--ingress-class", "--dry-run", "--cluster-name", "--kubeconfig", "--context"} {
		if !strings.Contains(usage, f+" ") && !strings.Contains(usage, f+"[") {
			t.Errorf("usage of expose does not document %s", f)
		}
	}
}

func TestParsePublishing(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    *config.Publishing
		wantErr string
	}{
		{name: "off by default", args: required},
		{name: "on, class defaults to nginx", args: withArgs("--domain", "example.com", "--cluster-id", "c1"), want: &config.Publishing{Domain: "example.com", ClusterID: "c1", IngressClass: "nginx"}},
		{name: "on with a class", args: withArgs("--domain", "example.com", "--cluster-id", "c1", "--ingress-class", "public"), want: &config.Publishing{Domain: "example.com", ClusterID: "c1", IngressClass: "public"}},
		{name: "cluster id required", args: withArgs("--domain", "example.com"), wantErr: `invalid --cluster-id "": required with --domain: hosts are PREFIX.CLUSTER_ID.DOMAIN`},
		{name: "cluster id without domain", args: withArgs("--cluster-id", "c1"), wantErr: `invalid --cluster-id "c1": only used with --domain`},
		{name: "class without domain", args: withArgs("--ingress-class", "nginx"), wantErr: `invalid --ingress-class "nginx": only used with --domain`},
		{name: "bad domain", args: withArgs("--domain", "localhost", "--cluster-id", "c1"), wantErr: `invalid --domain "localhost": want a DNS domain such as example.com: lower-case letters, digits, '-' and '.'`},
		{name: "bad cluster id", args: withArgs("--domain", "example.com", "--cluster-id", "C1"), wantErr: `invalid --cluster-id "C1": want a DNS label: lower-case letters, digits and '-'`},
		{name: "bad class", args: withArgs("--domain", "example.com", "--cluster-id", "c1", "--ingress-class", "Bad_Class"), wantErr: `invalid --ingress-class "Bad_Class": want an IngressClass name such as nginx`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse(config.CommandRun, tt.args)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Parse() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cfg.Publishing); diff != "" {
				t.Errorf("Publishing (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePublishingFromFile(t *testing.T) {
	path := writeFile(t, fileOf("clusterName: prod\ndomain: example.com\n", bindingHTTPS))
	_, err := config.Parse(config.CommandRun, []string{"--config", path})
	want := `invalid clusterId in ` + path + ` "": required with --domain: hosts are PREFIX.CLUSTER_ID.DOMAIN`
	if err == nil || err.Error() != want {
		t.Fatalf("Parse() error = %v, want %q", err, want)
	}
	// The flag completes what the file started.
	cfg, err := config.Parse(config.CommandRun, []string{"--config", path, "--cluster-id", "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&config.Publishing{Domain: "example.com", ClusterID: "c1", IngressClass: "nginx"}, cfg.Publishing); diff != "" {
		t.Errorf("Publishing (-want +got):\n%s", diff)
	}
}
