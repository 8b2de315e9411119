package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// renamed are keys of files written before apiVersion targetsync.io/v1alpha1, with what
// replaced them; an old file gets one error naming the new key.
var renamed = map[string]string{
	"securityGroupIDs": "securityGroupId",
	"sources":          "source",
	"name":             "bindingName",
	"healthCheck":      "healthCheckService, healthCheckServicePort and healthCheckPath",
}

// readFile reads a config file over base: the keys it sets replace base's values.
func readFile(path string, base settings) (settings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return settings{}, fmt.Errorf("read --config: %w", err)
	}
	s, err := decodeFile(data, base)
	if err != nil {
		return settings{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// decodeFile checks every key and value of a config file before anything is decoded, so that a
// problem is said once, with the key's path and the form it wants, not as a Go type.
func decodeFile(data []byte, base settings) (settings, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return settings{}, fmt.Errorf("file is empty")
	}
	// Strict: a key given twice is an error, not a silent choice of one of the values.
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
		return settings{}, fmt.Errorf("not YAML: %s", strings.TrimPrefix(msg, "json: "))
	}
	var raw any
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &raw); err != nil {
		return settings{}, fmt.Errorf("not YAML: %w", err)
	}
	top, ok := raw.(map[string]any)
	if !ok {
		return settings{}, fmt.Errorf("want a mapping with apiVersion: %s and kind: %s", APIVersion, Kind)
	}
	if v := top["apiVersion"]; v != APIVersion {
		return settings{}, fmt.Errorf("apiVersion: want %s, not %s (deploy/README.md says how to convert an older file)", APIVersion, show(v))
	}
	if v := top["kind"]; v != Kind {
		return settings{}, fmt.Errorf("kind: want %s, not %s", Kind, show(v))
	}
	if err := checkObject("", top, reflect.TypeFor[settings]()); err != nil {
		return settings{}, err
	}
	// A key set to null leaves the default, as it does for every type; metav1.Duration would
	// refuse the null itself.
	dropNulls(top)
	if js, err = json.Marshal(top); err != nil {
		return settings{}, err // decoded from JSON above; not expected
	}
	s := base
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &s); err != nil {
		return settings{}, err // checked above; not expected
	}
	rawBindings, _ := top["bindings"].([]any)
	for i := range s.Bindings {
		b := &s.Bindings[i]
		if b.HealthCheckPath == "" {
			b.HealthCheckPath = DefaultHealthCheckPath
		}
		raw, _ := rawBindings[i].(map[string]any)
		b.ServicePort = filePort(raw["servicePort"], b.ServicePort)
		b.HealthCheckServicePort = filePort(raw["healthCheckServicePort"], b.HealthCheckServicePort)
	}
	return s, nil
}

// filePort is a binding's port as the file gives it. A quoted number ("443") means the port
// number, as it does on the command line; a port left out is empty rather than 0, so it is
// reported as required.
func filePort(raw any, p intstr.IntOrString) intstr.IntOrString {
	if raw == nil {
		return intstr.FromString("")
	}
	return parsePort(p.String())
}

var (
	durationType    = reflect.TypeFor[metav1.Duration]()
	intOrStringType = reflect.TypeFor[intstr.IntOrString]()
)

// checkObject checks each key of m against the fields of struct type t, case-sensitively.
func checkObject(path string, m map[string]any, t reflect.Type) error {
	fields := fieldsByKey(t)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		idx, ok := fields[k]
		if !ok {
			return unknownKey(path, k, fields)
		}
		if err := checkValue(join(path, k), m[k], t.FieldByIndex(idx).Type); err != nil {
			return err
		}
	}
	return nil
}

func checkValue(path string, v any, t reflect.Type) error {
	if v == nil {
		return nil // null leaves the default
	}
	want := ""
	switch {
	case t == durationType:
		if s, ok := v.(string); ok {
			if _, err := time.ParseDuration(s); err == nil {
				return nil
			}
		}
		want = "a duration such as 60s"
	case t == intOrStringType:
		switch n := v.(type) {
		case string:
			return nil
		case int64:
			if n >= math.MinInt32 && n <= math.MaxInt32 {
				return nil
			}
		}
		want = "a port name or number"
	case t.Kind() == reflect.Pointer:
		return checkValue(path, v, t.Elem())
	case t.Kind() == reflect.String:
		if _, ok := v.(string); ok {
			return nil
		}
		want = "a string"
	case t.Kind() == reflect.Bool:
		if _, ok := v.(bool); ok {
			return nil
		}
		want = "true or false"
	case t.Kind() == reflect.Float64:
		switch v.(type) {
		case int64, float64:
			return nil
		}
		want = "a number"
	case t.Kind() == reflect.Slice:
		items, ok := v.([]any)
		if !ok {
			if t.Elem().Kind() == reflect.String {
				want = "a list of strings"
			} else {
				want = "a list"
			}
			break
		}
		for i, item := range items {
			if err := checkValue(fmt.Sprintf("%s[%d]", path, i), item, t.Elem()); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			want = "a mapping"
			break
		}
		return checkObject(path, m, t)
	}
	return fmt.Errorf("%s: want %s, not %s", path, want, show(v))
}

// dropNulls removes the keys whose value is null, at every depth.
func dropNulls(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
			} else {
				dropNulls(e)
			}
		}
	case []any:
		for _, e := range x {
			dropNulls(e)
		}
	}
}

// unknownKey names a key the format does not have, and the one that was probably meant.
func unknownKey(path, key string, fields map[string][]int) error {
	where := ""
	if path != "" {
		where = " in " + path
	}
	hint := renamed[key]
	if _, ok := fields[hint]; !ok && !strings.Contains(hint, ",") {
		hint = ""
	}
	for k := range fields {
		if hint == "" && strings.EqualFold(k, key) {
			hint = k
		}
	}
	if hint == "" {
		if _, isFlag := fields[jsonName(key)]; isFlag {
			hint = jsonName(key)
		}
	}
	if hint == "" && path == "" {
		// The one-binding flags are keys of each binding, not of the top level.
		for k := range fieldsByKey(reflect.TypeFor[bindingSettings]()) {
			if _, top := fields[k]; !top && (strings.EqualFold(k, key) || k == jsonName(key)) {
				hint = "bindings[]." + k
			}
		}
	}
	if hint != "" {
		return fmt.Errorf("unknown key %s%s; did you mean %s? (keys are the flag names in lowerCamelCase)", key, where, hint)
	}
	return fmt.Errorf("unknown key %s%s (keys are the flag names in lowerCamelCase)", key, where)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// show quotes a decoded value the way the reader wrote it.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("%q", x)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	default:
		return fmt.Sprint(x)
	}
}
