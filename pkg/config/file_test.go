package config_test

import (
	"strings"
	"testing"

	"github.com/targetsync/targetsync/pkg/config"
)

// oldFormat is a file as targetsync read it before apiVersion targetsync.io/v1alpha1.
const oldFormat = `clusterName: prod-eu
securityGroupIDs: [sg-0123456789abcdef0]
sources: [vpc-cidr]
bindings:
- name: https
  targetGroupARN: ` + arnA + `
  service: ` + svc + `
  servicePort: https
  healthCheck:
    service: ingress-nginx/hc
    servicePort: 10254
    path: /ready
`

// TestFileFormatErrors checks that a file that does not follow the format gets one error that
// names the key, by its path in the file, and says what the key wants.
func TestFileFormatErrors(t *testing.T) {
	const seeReadme = " (deploy/README.md says how to convert an older file)"
	top := "clusterName: prod-eu\n"
	tests := []struct {
		name string
		file string
		want string // after "FILE: "
	}{
		// The header.
		{"no apiVersion", "kind: Config\nclusterName: prod-eu\n", "apiVersion: want targetsync.io/v1alpha1, not nothing" + seeReadme},
		{"another apiVersion", "apiVersion: targetsync.io/v1\nkind: Config\n", `apiVersion: want targetsync.io/v1alpha1, not "targetsync.io/v1"` + seeReadme},
		{"apiVersion not a string", "apiVersion: 1\nkind: Config\n", "apiVersion: want targetsync.io/v1alpha1, not 1" + seeReadme},
		{"no kind", "apiVersion: targetsync.io/v1alpha1\nclusterName: prod-eu\n", "kind: want Config, not nothing"},
		{"another kind", "apiVersion: targetsync.io/v1alpha1\nkind: Settings\n", `kind: want Config, not "Settings"`},
		{"kind in the wrong case", "apiVersion: targetsync.io/v1alpha1\nkind: config\n", `kind: want Config, not "config"`},
		{"a list, not a mapping", "- apiVersion: targetsync.io/v1alpha1\n", "want a mapping with apiVersion: targetsync.io/v1alpha1 and kind: Config"},
		{"a bare string", "targetsync\n", "want a mapping with apiVersion: targetsync.io/v1alpha1 and kind: Config"},

		// A file of the old format is told about the header first, then about each old key.
		{"old format without the header", oldFormat, "apiVersion: want targetsync.io/v1alpha1, not nothing" + seeReadme},
		{"old format with the header", header + oldFormat, "unknown key healthCheck in bindings[0]; did you mean healthCheckService, healthCheckServicePort and healthCheckPath?" + keysHint},
		{"old securityGroupIDs", header + top + "securityGroupIDs: [sg-0123456789abcdef0]\n", "unknown key securityGroupIDs; did you mean securityGroupId?" + keysHint},
		{"old sources", header + top + "sources: [vpc-cidr]\n", "unknown key sources; did you mean source?" + keysHint},
		{"old clusterID", header + top + "clusterID: eu1\n", "unknown key clusterID; did you mean clusterId?" + keysHint},
		{"old leaderElectionID", header + top + "leaderElectionID: ts\n", "unknown key leaderElectionID; did you mean leaderElectionId?" + keysHint},
		{"old name", fileOf(top, bindingHTTPS+"\nname: https"), "unknown key name in bindings[0]; did you mean bindingName?" + keysHint},
		{"old targetGroupARN", fileOf(top, "targetGroupARN: "+arnA), "unknown key targetGroupARN in bindings[0]; did you mean targetGroupArn?" + keysHint},
		{"old healthCheck", fileOf(top, bindingHTTPS+"\nhealthCheck: {path: /ready}"), "unknown key healthCheck in bindings[0]; did you mean healthCheckService, healthCheckServicePort and healthCheckPath?" + keysHint},
		{"old key in the second binding", fileOf(top, bindingHTTPS, bindingHTTP+"\nname: http"), "unknown key name in bindings[1]; did you mean bindingName?" + keysHint},

		// Keys are matched case-sensitively.
		{"binding key in lower case", fileOf(top, bindingHTTPS+"\ntargetgrouparn: x"), "unknown key targetgrouparn in bindings[0]; did you mean targetGroupArn?" + keysHint},
		{"binding key in upper camel case", fileOf(top, bindingHTTPS+"\nTargetGroupArn: x"), "unknown key TargetGroupArn in bindings[0]; did you mean targetGroupArn?" + keysHint},
		{"top-level key in lower case", header + top + "resyncperiod: 1m\n", "unknown key resyncperiod; did you mean resyncPeriod?" + keysHint},
		{"top-level key in upper camel case", header + top + "ResyncPeriod: 1m\n", "unknown key ResyncPeriod; did you mean resyncPeriod?" + keysHint},
		{"a key spelled as its flag", header + top + "resync-period: 1m\n", "unknown key resync-period; did you mean resyncPeriod?" + keysHint},
		// The one-binding flags are keys of a binding.
		{"a binding key at the top level", header + top + "targetGroupArn: " + arnA + "\n", "unknown key targetGroupArn; did you mean bindings[].targetGroupArn?" + keysHint},
		{"a binding key at the top level in the wrong case", header + top + "TargetGroupArn: " + arnA + "\n", "unknown key TargetGroupArn; did you mean bindings[].targetGroupArn?" + keysHint},
		{"a binding flag's name at the top level", header + top + "service-port: https\n", "unknown key service-port; did you mean bindings[].servicePort?" + keysHint},
		{"a top-level-only key in a binding", fileOf(top, bindingHTTPS+"\nresyncPeriod: 1m"), "unknown key resyncPeriod in bindings[0]" + keysHint},
		{"apiVersion in a binding", fileOf(top, bindingHTTPS+"\napiVersion: x"), "unknown key apiVersion in bindings[0]" + keysHint},
		// Flags that are not settings have no key.
		{"output", header + top + "output: json\n", "unknown key output" + keysHint},
		{"config", header + top + "config: other.yaml\n", "unknown key config" + keysHint},
		{"bootstrap", header + top + "bootstrap: true\n", "unknown key bootstrap" + keysHint},
		{"a flag of bootstrap", header + top + "scheme: internal\n", "unknown key scheme" + keysHint},

		// Each value is checked against the form its key wants.
		{"duration in words", header + top + "resyncPeriod: sixty\n", `resyncPeriod: want a duration such as 60s, not "sixty"`},
		{"duration without a unit", header + top + "resyncPeriod: 60\n", "resyncPeriod: want a duration such as 60s, not 60"},
		{"duration as a list", header + top + "leaderElectRenewDeadline: [10s]\n", "leaderElectRenewDeadline: want a duration such as 60s, not a list"},
		{"bool as a quoted string", header + top + "leaderElect: \"true\"\n", `leaderElect: want true or false, not "true"`},
		{"bool as a number", header + top + "dryRun: 1\n", "dryRun: want true or false, not 1"},
		{"number as a word", header + top + "maxDeregisterFraction: half\n", `maxDeregisterFraction: want a number, not "half"`},
		{"number as a mapping", header + top + "maxDeregisterFraction: {value: 1}\n", "maxDeregisterFraction: want a number, not a mapping"},
		{"list as one string", header + top + "securityGroupId: sg-0123456789abcdef0\n", `securityGroupId: want a list of strings, not "sg-0123456789abcdef0"`},
		{"list of numbers", header + top + "source: [vpc-cidr, 10]\n", "source[1]: want a string, not 10"},
		{"throttle rules as one string", header + top + "awsApiThrottle: \"EC2:.*=1:1\"\n", `awsApiThrottle: want a list of strings, not "EC2:.*=1:1"`},
		{"bindings as a mapping", header + top + "bindings: {https: {}}\n", "bindings: want a list, not a mapping"},
		{"binding as a string", header + top + "bindings: [https]\n", `bindings[0]: want a mapping, not "https"`},
		{"port as a list", fileOf(top, bindingHTTPS+"\nhealthCheckServicePort: [10254]"), "bindings[0].healthCheckServicePort: want a port name or number, not a list"},
		{"port as a fraction", fileOf(top, "servicePort: 1.5"), "bindings[0].servicePort: want a port name or number, not 1.5"},
		{"port beyond any integer a port could be", fileOf(top, "servicePort: 99999999999"), "bindings[0].servicePort: want a port name or number, not 99999999999"},
		{"port as a bool", fileOf(top, "servicePort: true"), "bindings[0].servicePort: want a port name or number, not true"},
		{"string as a number", header + "clusterName: 5\n", "clusterName: want a string, not 5"},
		// YAML reads 0 as a number: an address that turns an endpoint off must be quoted.
		{"address as a number", header + top + "metricsBindAddress: 0\n", "metricsBindAddress: want a string, not 0"},
		{"string as a list", header + "clusterName: [prod]\n", "clusterName: want a string, not a list"},
		{"selector as a number in a binding", fileOf(top, bindingHTTPS, bindingHTTP+"\nnodeSelector: 5"), "bindings[1].nodeSelector: want a string, not 5"},
		{"notReady as a bool in a binding", fileOf(top, bindingHTTPS+"\nnotReady: true"), "bindings[0].notReady: want a string, not true"},
		// The first problem in key order is the one reported.
		{"two problems", header + top + "resyncPeriod: x\ndryRun: x\n", `dryRun: want true or false, not "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file)
			_, err := config.Parse(config.CommandRun, []string{"--config", path})
			want := path + ": " + tt.want
			if err == nil || err.Error() != want {
				t.Errorf("Parse() error = %v\nwant %s", err, want)
			}
		})
	}
}

// TestPerBindingNodeRuleErrors checks that a bad node rule is named where it was written: in its
// binding, at the top level, or on the command line.
func TestPerBindingNodeRuleErrors(t *testing.T) {
	const unparsable = "role in (ingress"
	const parseErr = "not a label selector: unable to parse requirement: found '', expected: ',' or ')'"
	top := "clusterName: prod-eu\n"
	tests := []struct {
		name string
		file string
		args []string
		want string
	}{
		{
			name: "bad selector in the second binding",
			file: fileOf(top, bindingHTTPS, bindingHTTP+"\nnodeSelector: "+unparsable),
			want: `invalid bindings[1].nodeSelector in {file} "` + unparsable + `": ` + parseErr,
		},
		{
			name: "bad notReady in the second binding",
			file: fileOf(top, bindingHTTPS, bindingHTTP+"\nnotReady: drop"),
			want: `invalid bindings[1].notReady in {file} "drop": want keep or remove`,
		},
		{
			name: "bad top-level selector, though every binding has its own",
			file: fileOf(top+"nodeSelector: "+unparsable+"\n", bindingHTTPS+"\nnodeSelector: role=edge"),
			want: `invalid nodeSelector in {file} "` + unparsable + `": ` + parseErr,
		},
		{
			name: "bad top-level notReady",
			file: fileOf(top+"notReady: Remove\n", bindingHTTPS),
			want: `invalid notReady in {file} "Remove": want keep or remove`,
		},
		{
			name: "a good binding selector does not hide a bad flag",
			file: fileOf(top, bindingHTTPS+"\nnodeSelector: role=edge"),
			args: []string{"--node-selector", unparsable},
			want: `invalid --node-selector "` + unparsable + `": ` + parseErr,
		},
		{
			name: "a good flag does not hide a bad binding selector",
			file: fileOf(top, bindingHTTPS+"\nnotReady: drop"),
			args: []string{"--not-ready", "keep"},
			want: `invalid bindings[0].notReady in {file} "drop": want keep or remove`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file)
			_, err := config.Parse(config.CommandRun, append([]string{"--config", path}, tt.args...))
			want := strings.ReplaceAll(tt.want, "{file}", path)
			if err == nil || err.Error() != want {
				t.Errorf("Parse() error = %v\nwant %s", err, want)
			}
		})
	}
}
