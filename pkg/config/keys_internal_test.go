package config

import (
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

// TestFileKeysAreRunFlags checks the promise of the file format: its keys are exactly the flag
// names of run in lowerCamelCase. The top level has every run flag but --config, --bootstrap
// with bootstrap's own flags, and the one-binding flags, which are keys of each binding
// instead; a binding has the one-binding flags and its own node rules.
func TestFileKeysAreRunFlags(t *testing.T) {
	fs := pflag.NewFlagSet(CommandRun, pflag.ContinueOnError)
	f := Bind(CommandRun, fs)
	var topFlags, bindingFlagKeys []string
	fs.VisitAll(func(fl *pflag.Flag) {
		switch {
		case fl.Name == flagConfig, fl.Name == flagBootstrap, f.bootOnly[fl.Name]:
		case slices.Contains(bindingFlags, fl.Name):
			bindingFlagKeys = append(bindingFlagKeys, jsonName(fl.Name))
		default:
			topFlags = append(topFlags, jsonName(fl.Name))
		}
	})

	var topKeys []string
	for k := range fieldsByKey(reflect.TypeFor[settings]()) {
		if k != "apiVersion" && k != "kind" && k != "bindings" {
			topKeys = append(topKeys, k)
		}
	}
	slices.Sort(topFlags)
	slices.Sort(topKeys)
	if diff := cmp.Diff(topFlags, topKeys); diff != "" {
		t.Errorf("top-level keys differ from run's flags in lowerCamelCase (-flags +keys):\n%s", diff)
	}

	var bindingKeys []string
	for k := range fieldsByKey(reflect.TypeFor[bindingSettings]()) {
		bindingKeys = append(bindingKeys, k)
	}
	// A binding may override the top-level node rules.
	bindingFlagKeys = append(bindingFlagKeys, jsonName("node-selector"), jsonName("not-ready"))
	slices.Sort(bindingFlagKeys)
	slices.Sort(bindingKeys)
	if diff := cmp.Diff(bindingFlagKeys, bindingKeys); diff != "" {
		t.Errorf("binding keys differ from the one-binding flags in lowerCamelCase (-flags +keys):\n%s", diff)
	}
}

// TestReportCommandFlagsAreKeys checks that every flag of plan and status but --config and
// --output is a key of the file, so one file serves all three commands.
func TestReportCommandFlagsAreKeys(t *testing.T) {
	top := fieldsByKey(reflect.TypeFor[settings]())
	binding := fieldsByKey(reflect.TypeFor[bindingSettings]())
	for _, cmd := range []string{CommandPlan, CommandStatus} {
		fs := pflag.NewFlagSet(cmd, pflag.ContinueOnError)
		Bind(cmd, fs)
		fs.VisitAll(func(fl *pflag.Flag) {
			if fl.Name == flagConfig || fl.Name == flagOutput {
				return
			}
			key := jsonName(fl.Name)
			if _, ok := top[key]; !ok {
				if _, ok := binding[key]; !ok || !slices.Contains(bindingFlags, fl.Name) {
					t.Errorf("%s --%s: no file key %s", cmd, fl.Name, key)
				}
			}
		})
	}
}

func TestJSONNameAndFlagName(t *testing.T) {
	tests := []struct{ flag, key string }{
		{"cluster-name", "clusterName"},
		{"target-group-arn", "targetGroupArn"},
		{"security-group-id", "securityGroupId"},
		{"aws-api-throttle", "awsApiThrottle"},
		{"leader-elect-renew-deadline", "leaderElectRenewDeadline"},
		{"source", "source"},
	}
	for _, tt := range tests {
		if got := jsonName(tt.flag); got != tt.key {
			t.Errorf("jsonName(%q) = %q, want %q", tt.flag, got, tt.key)
		}
		if got := flagName(tt.key); got != tt.flag {
			t.Errorf("flagName(%q) = %q, want %q", tt.key, got, tt.flag)
		}
	}
	// Every flag of run survives the way to a key and back.
	fs := pflag.NewFlagSet(CommandRun, pflag.ContinueOnError)
	Bind(CommandRun, fs)
	fs.VisitAll(func(fl *pflag.Flag) {
		if got := flagName(jsonName(fl.Name)); got != fl.Name {
			t.Errorf("flagName(jsonName(%q)) = %q", fl.Name, got)
		}
	})
}
