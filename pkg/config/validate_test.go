package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/targetsync/targetsync/pkg/config"
)

// TestValidation checks that each bad setting ends in one *config.FieldError that names the
// flag, or the key and the file, and says what is wrong, before anything reaches the cluster or
// AWS.
func TestValidation(t *testing.T) {
	const (
		msgDNSLabel = "want a DNS label: lower-case letters, digits and '-'"
		msgFraction = "want a fraction greater than 0 and at most 1 (1 turns the guard off)"
		msgPath     = "want an absolute HTTP path such as /healthz"
		msgAddress  = "want host:port or :port, or 0 for off"
		msgThrottle = "want SERVICE:OPERATION_REGEX=QPS:BURST such as 'Elastic Load Balancing v2:RegisterTargets|DeregisterTargets=4:20'"
		msgRegion   = "is in region us-east-1 but bindings[0] is in eu-west-1; security groups are managed in one region"
		msgSources  = "want vpc-cidr, nlb-private-ips or cidr:<a.b.c.d/n>"
	)
	// two is a file with two bindings, so that errors in the second one can be told apart from
	// errors in the first.
	two := func(top, b0, b1 string) string { return fileOf("clusterName: prod-eu\n"+top, b0, b1) }
	valid := two("", bindingHTTPS, bindingHTTP)

	tests := []struct {
		name string
		// file, when set, is read with --config before args.
		file string
		args []string
		// wantField is the FieldError's Field; empty when the error is not about one setting.
		wantField string
		// want is the whole message, {file} standing for the file's path; empty means valid.
		want string
	}{
		{name: "valid from flags", args: required},
		{name: "valid from a file", file: valid},
		{
			name: "valid with a health-check Service",
			args: withArgs("--health-check-service", "ingress-nginx/hc", "--health-check-service-port", "health", "--health-check-path", "/"),
		},
		{
			name: "valid with an explicit zero health-check port and no Service",
			file: two("", bindingHTTPS+"\nhealthCheckServicePort: 0", bindingHTTP),
		},

		// Target group ARNs.
		{
			name:      "malformed ARN",
			args:      withArgs("--target-group-arn", "ingress-https"),
			wantField: "--target-group-arn",
			want:      `invalid --target-group-arn "ingress-https": not an ARN; ` + wantARN,
		},
		{
			name:      "missing ARN",
			args:      withArgs("--target-group-arn="),
			wantField: "--target-group-arn",
			want:      `invalid --target-group-arn "": required; ` + wantARN,
		},
		{
			name:      "load balancer ARN instead of a target group",
			args:      withArgs("--target-group-arn", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/ingress/0123456789abcdef"),
			wantField: "--target-group-arn",
			want:      `invalid --target-group-arn "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/ingress/0123456789abcdef": not a target group ARN; ` + wantARN,
		},
		{
			name:      "ARN of another service",
			args:      withArgs("--target-group-arn", "arn:aws:ec2:eu-west-1:123456789012:targetgroup/ingress-https/0123456789abcdef"),
			wantField: "--target-group-arn",
			want:      `invalid --target-group-arn "arn:aws:ec2:eu-west-1:123456789012:targetgroup/ingress-https/0123456789abcdef": not a target group ARN; ` + wantARN,
		},
		{
			name:      "target group ARN without an ID",
			args:      withArgs("--target-group-arn", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ingress-https"),
			wantField: "--target-group-arn",
			want:      `invalid --target-group-arn "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ingress-https": not a target group ARN; ` + wantARN,
		},
		{
			name:      "target group ARN without a region",
			args:      withArgs("--target-group-arn", "arn:aws:elasticloadbalancing::123456789012:targetgroup/ingress-https/0123456789abcdef"),
			wantField: "--target-group-arn",
			want:      `invalid --target-group-arn "arn:aws:elasticloadbalancing::123456789012:targetgroup/ingress-https/0123456789abcdef": region or account missing; ` + wantARN,
		},
		{
			name:      "malformed ARN in the second binding of a file",
			file:      two("", bindingHTTPS, "targetGroupArn: arn:aws:elasticloadbalancing\nservice: "+svc+"\nservicePort: 80"),
			wantField: "bindings[1].targetGroupArn in {file}",
			want:      `invalid bindings[1].targetGroupArn in {file} "arn:aws:elasticloadbalancing": not an ARN; ` + wantARN,
		},
		{
			name:      "the same target group in two bindings",
			file:      two("", bindingHTTPS, strings.Replace(bindingHTTP, arnB, arnA, 1)),
			wantField: "bindings[1].targetGroupArn in {file}",
			want:      `invalid bindings[1].targetGroupArn in {file} "` + arnA + `": already bound by bindings[0]; two bindings would fight over one target group`,
		},

		// Service ports.
		{
			name:      "port 0",
			args:      withArgs("--service-port", "0"),
			wantField: "--service-port",
			want:      `invalid --service-port "0": port number out of range 1-65535`,
		},
		{
			name:      "port 70000",
			args:      withArgs("--service-port", "70000"),
			wantField: "--service-port",
			want:      `invalid --service-port "70000": port number out of range 1-65535`,
		},
		{
			// Too large even to be read as a number; still said as the user typed it.
			name:      "port 99999999999",
			args:      withArgs("--service-port", "99999999999"),
			wantField: "--service-port",
			want:      `invalid --service-port "99999999999": port number out of range 1-65535`,
		},
		{
			name:      "port 70000 in the second binding of a file",
			file:      two("", bindingHTTPS, strings.Replace(bindingHTTP, "servicePort: 80", "servicePort: 70000", 1)),
			wantField: "bindings[1].servicePort in {file}",
			want:      `invalid bindings[1].servicePort in {file} "70000": port number out of range 1-65535`,
		},
		{
			name:      "bad port name",
			args:      withArgs("--service-port", "HTTPS_PORT"),
			wantField: "--service-port",
			want:      `invalid --service-port "HTTPS_PORT": not a port name or number in 1-65535`,
		},
		{
			name:      "empty port",
			args:      withArgs("--service-port="),
			wantField: "--service-port",
			want:      `invalid --service-port "": required: a port name or number`,
		},

		// Services.
		{
			name:      "service without a slash",
			args:      withArgs("--service", "ingress-nginx-controller"),
			wantField: "--service",
			want:      `invalid --service "ingress-nginx-controller": want namespace/name`,
		},
		{
			name:      "service with an empty name",
			args:      withArgs("--service", "ingress-nginx/"),
			wantField: "--service",
			want:      `invalid --service "ingress-nginx/": want namespace/name`,
		},
		{
			name:      "service with a bad namespace",
			args:      withArgs("--service", "Ingress_Nginx/controller"),
			wantField: "--service",
			want:      `invalid --service "Ingress_Nginx/controller": namespace "Ingress_Nginx" is not a valid namespace name`,
		},
		{
			name:      "service with a bad name",
			file:      two("", strings.Replace(bindingHTTPS, svc, "ingress-nginx/1controller", 1), bindingHTTP),
			wantField: "bindings[0].service in {file}",
			want:      `invalid bindings[0].service in {file} "ingress-nginx/1controller": name "1controller" is not a valid Service name`,
		},

		// Binding names.
		{
			name:      "bad binding name",
			args:      withArgs("--binding-name", "Web_HTTPS"),
			wantField: "--binding-name",
			want:      `invalid --binding-name "Web_HTTPS": ` + msgDNSLabel,
		},
		{
			name:      "duplicate binding names",
			file:      two("", "bindingName: web\n"+bindingHTTPS, "bindingName: web\n"+bindingHTTP),
			wantField: "bindings[1].bindingName in {file}",
			want:      `invalid bindings[1].bindingName in {file} "web": already used by bindings[0]`,
		},
		{
			// A binding is named after its port unless told otherwise, so two bindings of one
			// port need names.
			name:      "two bindings of one port without names",
			file:      two("", bindingHTTPS, strings.Replace(bindingHTTP, "servicePort: 80", "servicePort: https", 1)),
			wantField: "bindings[1].bindingName in {file}",
			want:      `invalid bindings[1].bindingName in {file} "https": already used by bindings[0]`,
		},

		// Health checks.
		{
			name:      "health-check service port without a health-check service",
			args:      withArgs("--health-check-service-port", "health"),
			wantField: "--health-check-service-port",
			want:      `invalid --health-check-service-port "health": set only together with the health-check Service`,
		},
		{
			name:      "numeric health-check service port without a health-check service, in a file",
			file:      two("", bindingHTTPS, bindingHTTP+"\nhealthCheckServicePort: 10254"),
			wantField: "bindings[1].healthCheckServicePort in {file}",
			want:      `invalid bindings[1].healthCheckServicePort in {file} "10254": set only together with the health-check Service`,
		},
		{
			name:      "health-check service without a port",
			args:      withArgs("--health-check-service", "ingress-nginx/hc"),
			wantField: "--health-check-service-port",
			want:      `invalid --health-check-service-port "": required: a port name or number`,
		},
		{
			name:      "health-check service without a port, in a file",
			file:      two("", bindingHTTPS, bindingHTTP+"\nhealthCheckService: ingress-nginx/hc"),
			wantField: "bindings[1].healthCheckServicePort in {file}",
			want:      `invalid bindings[1].healthCheckServicePort in {file} "": required: a port name or number`,
		},
		{
			name:      "health-check service port 0",
			args:      withArgs("--health-check-service", "ingress-nginx/hc", "--health-check-service-port", "0"),
			wantField: "--health-check-service-port",
			want:      `invalid --health-check-service-port "0": port number out of range 1-65535`,
		},
		{
			name:      "health-check service without a slash",
			args:      withArgs("--health-check-service", "hc", "--health-check-service-port", "10254"),
			wantField: "--health-check-service",
			want:      `invalid --health-check-service "hc": want namespace/name`,
		},
		{
			name:      "health-check path without a leading slash",
			args:      withArgs("--health-check-path", "healthz"),
			wantField: "--health-check-path",
			want:      `invalid --health-check-path "healthz": ` + msgPath,
		},
		{
			name:      "empty health-check path",
			args:      withArgs("--health-check-path="),
			wantField: "--health-check-path",
			want:      `invalid --health-check-path "": ` + msgPath,
		},
		{
			name:      "health-check path too long",
			args:      withArgs("--health-check-path", "/"+strings.Repeat("a", 1024)),
			wantField: "--health-check-path",
			want:      `invalid --health-check-path "/` + strings.Repeat("a", 1024) + `": ` + msgPath,
		},
		{
			name:      "health-check path without a slash in a file",
			file:      two("", bindingHTTPS+"\nhealthCheckPath: ready", bindingHTTP),
			wantField: "bindings[0].healthCheckPath in {file}",
			want:      `invalid bindings[0].healthCheckPath in {file} "ready": ` + msgPath,
		},

		// Node rules.
		{
			name:      "unknown --not-ready value",
			args:      withArgs("--not-ready", "drop"),
			wantField: "--not-ready",
			want:      `invalid --not-ready "drop": want keep or remove`,
		},
		{
			name:      "unknown notReady in a file names the key, not a binding",
			file:      two("notReady: Remove\n", bindingHTTPS, bindingHTTP),
			wantField: "notReady in {file}",
			want:      `invalid notReady in {file} "Remove": want keep or remove`,
		},
		{
			name:      "bad --node-selector",
			args:      withArgs("--node-selector", "role in (ingress"),
			wantField: "--node-selector",
			want:      `invalid --node-selector "role in (ingress": not a label selector: unable to parse requirement: found '', expected: ',' or ')'`,
		},
		{
			name:      "unknown --targets",
			args:      withArgs("--targets", "ingress"),
			wantField: "--targets",
			want:      `invalid --targets "ingress": want all or ingress-nodes`,
		},
		{
			name:      "unknown targets in a file",
			file:      two("targets: nodes\n", bindingHTTPS, bindingHTTP),
			wantField: "targets in {file}",
			want:      `invalid targets in {file} "nodes": want all or ingress-nodes`,
		},

		// Cluster name.
		{
			name:      "bad cluster name",
			args:      withArgs("--cluster-name", "Prod.EU"),
			wantField: "--cluster-name",
			want:      `invalid --cluster-name "Prod.EU": ` + msgDNSLabel,
		},
		{
			name:      "empty cluster name in a file",
			file:      fileOf("clusterName: \"\"\n", bindingHTTPS),
			wantField: "clusterName in {file}",
			want:      `invalid clusterName in {file} "": required: the name of this cluster, written into every tag and rule targetsync owns`,
		},
		{
			name:      "empty cluster name from flags",
			args:      withArgs("--cluster-name", ""),
			wantField: "--cluster-name",
			want:      `invalid --cluster-name "": required: the name of this cluster, written into every tag and rule targetsync owns`,
		},

		// Timings.
		{
			name:      "min-sync-interval equal to the resync period",
			args:      withArgs("--min-sync-interval", "1m"),
			wantField: "--min-sync-interval",
			want:      `invalid --min-sync-interval "1m0s": must be at least 0 and less than the resync period`,
		},
		{
			name:      "min-sync-interval above the resync period",
			args:      withArgs("--resync-period", "30s", "--min-sync-interval", "1m"),
			wantField: "--min-sync-interval",
			want:      `invalid --min-sync-interval "1m0s": must be at least 0 and less than the resync period`,
		},
		{
			name:      "negative min-sync-interval",
			args:      withArgs("--min-sync-interval=-1s"),
			wantField: "--min-sync-interval",
			want:      `invalid --min-sync-interval "-1s": must be at least 0 and less than the resync period`,
		},
		{name: "zero min-sync-interval is allowed", args: withArgs("--min-sync-interval", "0s")},
		{
			name:      "zero resync period",
			file:      two("resyncPeriod: 0s\n", bindingHTTPS, bindingHTTP),
			wantField: "resyncPeriod in {file}",
			want:      `invalid resyncPeriod in {file} "0s": must be positive`,
		},
		{
			name:      "zero request timeout",
			args:      withArgs("--request-timeout", "0s"),
			wantField: "--request-timeout",
			want:      `invalid --request-timeout "0s": must be positive`,
		},

		// The healthy-capacity guard.
		{
			name:      "max-deregister-fraction 0",
			args:      withArgs("--max-deregister-fraction", "0"),
			wantField: "--max-deregister-fraction",
			want:      `invalid --max-deregister-fraction "0": ` + msgFraction,
		},
		{
			name:      "max-deregister-fraction above 1",
			args:      withArgs("--max-deregister-fraction", "1.5"),
			wantField: "--max-deregister-fraction",
			want:      `invalid --max-deregister-fraction "1.5": ` + msgFraction,
		},
		{
			name:      "NaN max-deregister-fraction",
			args:      withArgs("--max-deregister-fraction", "NaN"),
			wantField: "--max-deregister-fraction",
			want:      `invalid --max-deregister-fraction "NaN": ` + msgFraction,
		},
		{
			name:      "infinite max-deregister-fraction",
			args:      withArgs("--max-deregister-fraction", "+Inf"),
			wantField: "--max-deregister-fraction",
			want:      `invalid --max-deregister-fraction "+Inf": ` + msgFraction,
		},
		{
			name:      "max-deregister-fraction above 1 in a file names the key",
			file:      two("maxDeregisterFraction: 1.5\n", bindingHTTPS, bindingHTTP),
			wantField: "maxDeregisterFraction in {file}",
			want:      `invalid maxDeregisterFraction in {file} "1.5": ` + msgFraction,
		},
		{name: "max-deregister-fraction 1 turns the guard off", args: withArgs("--max-deregister-fraction", "1")},
		{name: "max-deregister-fraction 0.5 in a file", file: two("maxDeregisterFraction: 0.5\n", bindingHTTPS, bindingHTTP)},
		{name: "smallest positive max-deregister-fraction", args: withArgs("--max-deregister-fraction", "5e-324")},
		{
			name:      "zero capacity window",
			args:      withArgs("--capacity-window", "0s"),
			wantField: "--capacity-window",
			want:      `invalid --capacity-window "0s": must be positive`,
		},
		{
			name:      "negative capacity window in a file names the key",
			file:      two("capacityWindow: -1s\n", bindingHTTPS, bindingHTTP),
			wantField: "capacityWindow in {file}",
			want:      `invalid capacityWindow in {file} "-1s": must be positive`,
		},

		// Security groups.
		{
			name:      "managed security groups need every binding in the region of bindings[0]",
			file:      two("securityGroupId: [sg-0123456789abcdef0]\n", bindingHTTPS, strings.Replace(bindingHTTP, arnB, arnUS, 1)),
			wantField: "bindings[1].targetGroupArn in {file}",
			want:      `invalid bindings[1].targetGroupArn in {file} "` + arnUS + `": ` + msgRegion,
		},
		{
			name: "security groups selected by tag need one region too",
			file: fileOf("clusterName: prod-eu\nsecurityGroupTag: kubernetes.io/role=worker\n", bindingHTTPS, bindingHTTP,
				"targetGroupArn: "+arnUS+"\nservice: "+svc+"\nservicePort: 8443"),
			wantField: "bindings[2].targetGroupArn in {file}",
			want:      `invalid bindings[2].targetGroupArn in {file} "` + arnUS + `": ` + msgRegion,
		},
		{
			name:      "the region of bindings[0] is the one the others must match",
			file:      two("securityGroupId: [sg-0123456789abcdef0]\n", strings.Replace(bindingHTTPS, arnA, arnUS, 1), bindingHTTP),
			wantField: "bindings[1].targetGroupArn in {file}",
			want:      `invalid bindings[1].targetGroupArn in {file} "` + arnB + `": is in region eu-west-1 but bindings[0] is in us-east-1; security groups are managed in one region`,
		},
		{name: "bindings in several regions are fine without security groups", file: two("", bindingHTTPS, strings.Replace(bindingHTTP, arnB, arnUS, 1))},
		{
			name: "bindings in one region are fine with security groups",
			file: two("securityGroupId: [sg-0123456789abcdef0]\nsecurityGroupTag: kubernetes.io/role=worker\n", bindingHTTPS, bindingHTTP),
		},
		{
			// A malformed ARN has no region; saying it is in region "" would hide what is wrong.
			name:      "malformed ARN in bindings[0] with security groups is reported as malformed",
			file:      two("securityGroupId: [sg-0123456789abcdef0]\n", strings.Replace(bindingHTTPS, arnA, "ingress-https", 1), bindingHTTP),
			wantField: "bindings[0].targetGroupArn in {file}",
			want:      `invalid bindings[0].targetGroupArn in {file} "ingress-https": not an ARN; ` + wantARN,
		},
		{
			name:      "malformed ARN in bindings[1] with security groups is reported as malformed",
			file:      two("securityGroupId: [sg-0123456789abcdef0]\n", bindingHTTPS, strings.Replace(bindingHTTP, arnB, "arn:aws:elasticloadbalancing", 1)),
			wantField: "bindings[1].targetGroupArn in {file}",
			want:      `invalid bindings[1].targetGroupArn in {file} "arn:aws:elasticloadbalancing": not an ARN; ` + wantARN,
		},
		{
			name:      "bad security group ID",
			args:      withArgs("--security-group-id", "g-0123456789abcdef0"),
			wantField: "--security-group-id",
			want:      `invalid --security-group-id "g-0123456789abcdef0": want a security group ID such as sg-0123456789abcdef0`,
		},
		{
			name:      "security group ID without its number",
			file:      two("securityGroupId: [sg-]\n", bindingHTTPS, bindingHTTP),
			wantField: "securityGroupId in {file}",
			want:      `invalid securityGroupId in {file} "sg-": want a security group ID such as sg-0123456789abcdef0`,
		},
		{
			name:      "security group tag without a key",
			args:      withArgs("--security-group-tag", "=worker"),
			wantField: "--security-group-tag",
			want:      `invalid --security-group-tag "=worker": want key=value`,
		},
		{
			name:      "security group tag without a value",
			args:      withArgs("--security-group-tag", "worker"),
			wantField: "--security-group-tag",
			want:      `invalid --security-group-tag "worker": want key=value`,
		},
		{
			name:      "unknown source",
			args:      withArgs("--security-group-id", "sg-1", "--source", "anywhere"),
			wantField: "--source",
			want:      `invalid --source "anywhere": ` + msgSources,
		},
		{
			name:      "bad CIDR source",
			args:      withArgs("--source", "cidr:10.0.0.0/33"),
			wantField: "--source",
			want:      `invalid --source "cidr:10.0.0.0/33": ` + msgSources,
		},
		{
			name:      "no source with security groups",
			args:      withArgs("--security-group-id", "sg-1", "--source="),
			wantField: "--source",
			want:      `invalid --source "": at least one source is needed to manage security groups`,
		},
		{
			name:      "no source with security groups, in a file",
			file:      two("securityGroupTag: role=worker\nsource: []\n", bindingHTTPS, bindingHTTP),
			wantField: "source in {file}",
			want:      `invalid source in {file} "": at least one source is needed to manage security groups`,
		},

		// Leader election: client-go's rules for the three timings.
		{
			name:      "renew deadline equal to the retry period",
			args:      withArgs("--leader-elect-renew-deadline", "2s"),
			wantField: "--leader-elect-renew-deadline",
			want:      `invalid --leader-elect-renew-deadline "2s": must be more than 1.2 x --leader-elect-retry-period (2s)`,
		},
		{
			name:      "renew deadline exactly 1.2 x the retry period",
			args:      withArgs("--leader-elect-renew-deadline", "2400ms"),
			wantField: "--leader-elect-renew-deadline",
			want:      `invalid --leader-elect-renew-deadline "2.4s": must be more than 1.2 x --leader-elect-retry-period (2s)`,
		},
		{
			name:      "retry period too long for the default renew deadline",
			args:      withArgs("--leader-elect-retry-period", "9s"),
			wantField: "--leader-elect-renew-deadline",
			want:      `invalid --leader-elect-renew-deadline "10s": must be more than 1.2 x --leader-elect-retry-period (9s)`,
		},
		{
			name:      "lease duration equal to the renew deadline",
			args:      withArgs("--leader-elect-lease-duration", "10s"),
			wantField: "--leader-elect-lease-duration",
			want:      `invalid --leader-elect-lease-duration "10s": must be more than --leader-elect-renew-deadline (10s)`,
		},
		{
			name:      "lease duration below the renew deadline",
			args:      withArgs("--leader-elect-lease-duration", "15s", "--leader-elect-renew-deadline", "20s"),
			wantField: "--leader-elect-lease-duration",
			want:      `invalid --leader-elect-lease-duration "15s": must be more than --leader-elect-renew-deadline (20s)`,
		},
		{
			name:      "zero retry period",
			args:      withArgs("--leader-elect-retry-period", "0s"),
			wantField: "--leader-elect-retry-period",
			want:      `invalid --leader-elect-retry-period "0s": must be positive`,
		},
		{
			name:      "renew deadline in a file names the key",
			file:      two("leaderElectRenewDeadline: 2s\n", bindingHTTPS, bindingHTTP),
			wantField: "leaderElectRenewDeadline in {file}",
			want:      `invalid leaderElectRenewDeadline in {file} "2s": must be more than 1.2 x --leader-elect-retry-period (2s)`,
		},
		{
			name:      "bad leader election ID",
			args:      withArgs("--leader-election-id", "Target Sync"),
			wantField: "--leader-election-id",
			want:      `invalid --leader-election-id "Target Sync": want a DNS subdomain name`,
		},
		{
			name:      "empty leader election ID",
			args:      withArgs("--leader-election-id="),
			wantField: "--leader-election-id",
			want:      `invalid --leader-election-id "": want a DNS subdomain name`,
		},
		{
			name:      "bad leader election namespace",
			args:      withArgs("--leader-election-namespace", "kube_system"),
			wantField: "--leader-election-namespace",
			want:      `invalid --leader-election-namespace "kube_system": not a namespace name`,
		},

		// Process settings.
		{
			name:      "bad log level",
			args:      withArgs("--log-level", "verbose"),
			wantField: "--log-level",
			want:      `invalid --log-level "verbose": want debug, info, warn or error`,
		},
		{
			name:      "a zap level above error",
			args:      withArgs("--log-level", "fatal"),
			wantField: "--log-level",
			want:      `invalid --log-level "fatal": want debug, info, warn or error`,
		},
		{
			name:      "bad log format",
			file:      two("logFormat: text\n", bindingHTTPS, bindingHTTP),
			wantField: "logFormat in {file}",
			want:      `invalid logFormat in {file} "text": want json or console`,
		},
		{
			name:      "metrics address without a port",
			args:      withArgs("--metrics-bind-address", "localhost"),
			wantField: "--metrics-bind-address",
			want:      `invalid --metrics-bind-address "localhost": ` + msgAddress,
		},
		{
			name:      "health probe address without a colon",
			args:      withArgs("--health-probe-bind-address", "8081"),
			wantField: "--health-probe-bind-address",
			want:      `invalid --health-probe-bind-address "8081": ` + msgAddress,
		},
		{
			name:      "pprof address without a colon",
			args:      withArgs("--pprof-bind-address", "6060"),
			wantField: "--pprof-bind-address",
			want:      `invalid --pprof-bind-address "6060": ` + msgAddress,
		},
		{
			name:      "pprof address in a file names the key",
			file:      two("pprofBindAddress: \"on\"\n", bindingHTTPS, bindingHTTP),
			wantField: "pprofBindAddress in {file}",
			want:      `invalid pprofBindAddress in {file} "on": ` + msgAddress,
		},
		{name: "every endpoint off", args: withArgs("--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--pprof-bind-address", "0")},

		// AWS API throttling, in aws-load-balancer-controller's format.
		{name: "throttle rule for ELB", args: withArgs("--aws-api-throttle", "Elastic Load Balancing v2:RegisterTargets|DeregisterTargets=4:20")},
		{name: "two throttle rules in one flag", args: withArgs("--aws-api-throttle", "EC2:Describe.*=10:40,EC2:.*=2:4")},
		{
			name:      "throttle rule without a limit",
			args:      withArgs("--aws-api-throttle", "EC2:DescribeVpcs"),
			wantField: "--aws-api-throttle",
			want:      `invalid --aws-api-throttle "EC2:DescribeVpcs": ` + msgThrottle,
		},
		{
			name:      "throttle rule without an operation",
			args:      withArgs("--aws-api-throttle", "EC2=1:1"),
			wantField: "--aws-api-throttle",
			want:      `invalid --aws-api-throttle "EC2=1:1": ` + msgThrottle,
		},
		{
			name:      "throttle rule with a bad pattern",
			args:      withArgs("--aws-api-throttle", "EC2:Describe(=1:1"),
			wantField: "--aws-api-throttle",
			want:      `invalid --aws-api-throttle "EC2:Describe(=1:1": operation pattern "Describe(" is not a regular expression`,
		},
		{
			name:      "throttle rule with a QPS of 0",
			args:      withArgs("--aws-api-throttle", "EC2:.*=0:1"),
			wantField: "--aws-api-throttle",
			want:      `invalid --aws-api-throttle "EC2:.*=0:1": QPS "0": want a positive number; ` + msgThrottle,
		},
		{
			name:      "throttle rule with a burst of 0",
			args:      withArgs("--aws-api-throttle", "EC2:.*=1:0"),
			wantField: "--aws-api-throttle",
			want:      `invalid --aws-api-throttle "EC2:.*=1:0": burst "0": want a whole number of at least 1; ` + msgThrottle,
		},
		{
			name:      "the second of two throttle rules is bad",
			args:      withArgs("--aws-api-throttle", "EC2:.*=1:1", "--aws-api-throttle", "EC2:.*=1:x"),
			wantField: "--aws-api-throttle",
			want:      `invalid --aws-api-throttle "EC2:.*=1:x": burst "x": want a whole number of at least 1; ` + msgThrottle,
		},
		{
			name:      "bad throttle rule in a file names the key",
			file:      two("awsApiThrottle: [\"EC2:.*=fast:1\"]\n", bindingHTTPS, bindingHTTP),
			wantField: "awsApiThrottle in {file}",
			want:      `invalid awsApiThrottle in {file} "EC2:.*=fast:1": QPS "fast": want a positive number; ` + msgThrottle,
		},

		// Nothing to do.
		{
			name: "no binding from flags says which flags to set",
			args: []string{"--cluster-name", "prod-eu"},
			want: "nothing to sync: set --target-group-arn, --service and --service-port, or give --config",
		},
		{
			name: "no binding in a file names the file",
			file: header + "clusterName: prod-eu\n",
			want: "nothing to sync: {file} has no bindings",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, path := tt.args, ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
				args = append([]string{"--config", path}, args...)
			}
			_, err := config.Parse(config.CommandRun, args)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse() error = %v, want nil", err)
				}
				return
			}
			want := strings.ReplaceAll(tt.want, "{file}", path)
			if err == nil || err.Error() != want {
				t.Fatalf("Parse() error = %v\nwant %s", err, want)
			}
			var fe *config.FieldError
			isField := errors.As(err, &fe)
			if tt.wantField == "" {
				if isField {
					t.Errorf("Parse() error is a FieldError for %q, want a plain error", fe.Field)
				}
				return
			}
			if !isField {
				t.Fatalf("Parse() error %q is not a *config.FieldError", err)
			}
			if wantField := strings.ReplaceAll(tt.wantField, "{file}", path); fe.Field != wantField {
				t.Errorf("FieldError.Field = %q, want %q", fe.Field, wantField)
			}
		})
	}
}

func TestBindingAccessors(t *testing.T) {
	cfg, err := config.Parse(config.CommandRun, []string{"--cluster-name", "prod", "--target-group-arn", arnUS, "--service", svc, "--service-port", "443"})
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Bindings[0]
	if got := b.TargetGroupARN(); got != arnUS {
		t.Errorf("TargetGroupARN() = %q, want %q", got, arnUS)
	}
	if got := b.Region(); got != "us-east-1" {
		t.Errorf("Region() = %q, want us-east-1", got)
	}
	if b.Name != "443" {
		t.Errorf("Name = %q, want the Service port 443", b.Name)
	}
	if b.Service != ingressService {
		t.Errorf("Service = %v, want %v", b.Service, ingressService)
	}
	if b.HealthCheck != nil {
		t.Errorf("HealthCheck = %+v, want nil without a health-check Service", b.HealthCheck)
	}
}
