package config_test

import (
	"errors"
	"os"
	"path/filepath"
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
				ClusterName: "prod", Service: types.NamespacedName{Namespace: "team-a", Name: "web"}, Port: 80,
				Name: "web", Prefix: "web", ClusterID: "c1", Domain: "example.com", IngressClass: "nginx",
			},
		},
		{
			name: "every flag",
			args: with("--name", "site", "--prefix", "shop", "--ingress-class", "internal", "--dry-run", "--kubeconfig", "/k"),
			want: config.ExposeConfig{
				Kubeconfig: "/k", ClusterName: "prod", Service: types.NamespacedName{Namespace: "team-a", Name: "web"}, Port: 80,
				Name: "site", Prefix: "shop", ClusterID: "c1", Domain: "example.com", IngressClass: "internal", DryRun: true,
			},
		},
		{name: "prefix defaults to --name", args: with("--name", "site"), want: config.ExposeConfig{
			ClusterName: "prod", Service: types.NamespacedName{Namespace: "team-a", Name: "web"}, Port: 80,
			Name: "site", Prefix: "site", ClusterID: "c1", Domain: "example.com", IngressClass: "nginx",
		}},
		{name: "bad prefix", args: with("--prefix", "Shop_1"), wantErr: `invalid --prefix "Shop_1": want a DNS label: lower-case letters, digits and '-'`},
		{name: "prefix with a dot", args: with("--prefix", "a.b"), wantErr: `invalid --prefix "a.b": want a DNS label: lower-case letters, digits and '-'`},
		{name: "bad name", args: with("--name", "Site"), wantErr: `invalid --name "Site": want a DNS label: lower-case letters, digits and '-'`},
		{name: "port a name", args: with("--port", "http"), wantErr: `invalid --port "http": want a port number in 1-65535: one of the Service's .spec.ports[].port`},
		{name: "port out of range", args: with("--port", "70000"), wantErr: `invalid --port "70000": want a port number in 1-65535: one of the Service's .spec.ports[].port`},
		{name: "no port", args: []string{"--cluster-name", "prod", "--namespace", "a", "--service", "web", "--cluster-id", "c1", "--domain", "example.com"}, wantErr: `invalid --port "": required: the number of one of the Service's ports`},
		{name: "service as namespace/name", args: with("--service", "team-a/web"), wantErr: `invalid --service "team-a/web": want the Service's name alone; its namespace goes in --namespace`},
		{name: "no cluster name", args: []string{"--namespace", "a"}, wantErr: `invalid --cluster-name "": required: the name of this cluster`},
		{name: "bad domain", args: with("--domain", "Example.com"), wantErr: `invalid --domain "Example.com": want a DNS domain such as example.com: lower-case letters, digits, '-' and '.'`},
		{name: "bad cluster id", args: with("--cluster-id", "c.1"), wantErr: `invalid --cluster-id "c.1": want a DNS label: lower-case letters, digits and '-'`},
		{name: "stray argument", args: with("web"), wantErr: `unexpected argument "web"`},
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
	usage := config.ExposeUsage()
	for _, f := range []string{"--namespace", "--service", "--port", "--prefix", "--name", "--cluster-id", "--domain", "--ingress-class", "--dry-run", "--cluster-name", "--kubeconfig"} {
		if !strings.Contains(usage, f+" ") && !strings.Contains(usage, f+"[") {
			t.Errorf("ExposeUsage() does not document %s", f)
		}
	}
}

func TestParsePublishing(t *testing.T) {
	run := []string{"--cluster-name", "prod", "--target-group-arn", arnA, "--service", "ingress-nginx/ingress-nginx-controller", "--service-port", "http"}
	with := func(extra ...string) []string { return append(append([]string{}, run...), extra...) }
	tests := []struct {
		name                     string
		args                     []string
		domain, clusterID, class string
		wantErr                  string
	}{
		{name: "off by default", args: run},
		{name: "on, class defaults to nginx", args: with("--domain", "example.com", "--cluster-id", "c1"), domain: "example.com", clusterID: "c1", class: "nginx"},
		{name: "on with a class", args: with("--domain", "example.com", "--cluster-id", "c1", "--ingress-class", "public"), domain: "example.com", clusterID: "c1", class: "public"},
		{name: "cluster id required", args: with("--domain", "example.com"), wantErr: `invalid --cluster-id "": required with --domain: hosts are PREFIX.CLUSTER_ID.DOMAIN`},
		{name: "cluster id without domain", args: with("--cluster-id", "c1"), wantErr: `invalid --cluster-id "c1": only used with --domain`},
		{name: "class without domain", args: with("--ingress-class", "nginx"), wantErr: `invalid --ingress-class "nginx": only used with --domain`},
		{name: "bad domain", args: with("--domain", "localhost", "--cluster-id", "c1"), wantErr: `invalid --domain "localhost": want a DNS domain such as example.com: lower-case letters, digits, '-' and '.'`},
		{name: "bad cluster id", args: with("--domain", "example.com", "--cluster-id", "C1"), wantErr: `invalid --cluster-id "C1": want a DNS label: lower-case letters, digits and '-'`},
		{name: "bad class", args: with("--domain", "example.com", "--cluster-id", "c1", "--ingress-class", "Bad_Class"), wantErr: `invalid --ingress-class "Bad_Class": want an IngressClass name such as nginx`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("run", tt.args)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Parse() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Domain != tt.domain || cfg.ClusterID != tt.clusterID || cfg.IngressClass != tt.class || cfg.Publishes() != (tt.domain != "") {
				t.Errorf("Parse() = domain %q, cluster ID %q, class %q; want %q, %q, %q", cfg.Domain, cfg.ClusterID, cfg.IngressClass, tt.domain, tt.clusterID, tt.class)
			}
		})
	}
}

func TestParsePublishingFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "targetsync.yaml")
	file := "clusterName: prod\ndomain: example.com\nbindings:\n  - targetGroupARN: " + arnA + "\n    service: ingress-nginx/ingress-nginx-controller\n    servicePort: http\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := config.Parse("run", []string{"--config", path})
	want := `invalid clusterID in ` + path + ` "": required with --domain: hosts are PREFIX.CLUSTER_ID.DOMAIN`
	if err == nil || err.Error() != want {
		t.Fatalf("Parse() error = %v, want %q", err, want)
	}
	cfg, err := config.Parse("run", []string{"--config", path, "--cluster-id", "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Domain != "example.com" || cfg.ClusterID != "c1" || cfg.IngressClass != "nginx" {
		t.Errorf("Parse() = %q %q %q", cfg.Domain, cfg.ClusterID, cfg.IngressClass)
	}
}
