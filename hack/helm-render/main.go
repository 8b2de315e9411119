// Command helm-render renders a chart the way `helm template` does, with Helm's Go SDK and no
// cluster: the test tooling of test/deploy uses it to render deploy/helm/targetsync and to
// regenerate deploy/manifests. It takes the arguments of `helm template` that the tests and
// deploy/README.md use:
//
//	helm-render [NAME] CHART [-n NAMESPACE] [-f VALUES]... [--set K=V]... [--set-json K=JSON]...
//
// and prints the rendered objects on stdout, each after a "# Source:" line, as helm does.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
)

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "helm-render:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("helm-render", flag.ContinueOnError)
	var opts values.Options
	namespace := fs.String("namespace", "default", "namespace of the release")
	fs.StringVar(namespace, "n", "default", "namespace of the release (shorthand)")
	kubeVersion := fs.String("kube-version", clientGoKubeVersion(), "Kubernetes version for .Capabilities.KubeVersion")
	var apiVersions list
	fs.Var((*list)(&opts.ValueFiles), "f", "values file (repeatable)")
	fs.Var((*list)(&opts.ValueFiles), "values", "values file (repeatable)")
	fs.Var((*list)(&opts.Values), "set", "set a value, K=V (repeatable)")
	fs.Var((*list)(&opts.StringValues), "set-string", "set a string value, K=V (repeatable)")
	fs.Var((*list)(&opts.JSONValues), "set-json", "set a JSON value, K=JSON (repeatable)")
	fs.Var(&apiVersions, "api-versions", "API version for .Capabilities.APIVersions (repeatable)")

	// Positional arguments may come before the flags, as with helm: parse in rounds.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	var name, chartPath string
	switch len(pos) {
	case 1:
		name, chartPath = "release-name", pos[0]
	case 2:
		name, chartPath = pos[0], pos[1]
	default:
		return errors.New("usage: helm-render [NAME] CHART [flags]")
	}

	chrt, err := loader.Load(chartPath)
	if err != nil {
		return err
	}
	vals, err := opts.MergeValues(getter.Providers{})
	if err != nil {
		return err
	}
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = name
	install.Namespace = *namespace
	install.APIVersions = chartutil.VersionSet(apiVersions)
	if *kubeVersion != "" {
		kv, err := chartutil.ParseKubeVersion(*kubeVersion)
		if err != nil {
			return err
		}
		install.KubeVersion = kv
	}
	rel, err := install.Run(chrt, vals)
	if err != nil {
		return err
	}
	_, err = io.WriteString(out, strings.TrimSpace(rel.Manifest)+"\n")
	return err
}

// clientGoKubeVersion is the Kubernetes release of the client-go this binary is built with
// (v0.37.0 gives v1.37.0), which the helm binary also reports as the default for templates
// rendered without a cluster.
func clientGoKubeVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, dep := range info.Deps {
		if dep.Path == "k8s.io/client-go" && strings.HasPrefix(dep.Version, "v0.") {
			return "v1." + strings.TrimPrefix(dep.Version, "v0.")
		}
	}
	return ""
}
