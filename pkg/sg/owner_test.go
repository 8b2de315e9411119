package sg

import (
	"errors"
	"strings"
	"testing"
)

func TestOwner(t *testing.T) {
	o := Owner{Cluster: "prod-1"}
	if got, want := o.Description(), "targetsync:prod-1/shared"; got != want {
		t.Errorf("Description() = %q, want %q", got, want)
	}
	tag := map[string]string{OwnerTagKey: "prod-1"}
	owns := []struct {
		name  string
		owner Owner
		desc  string
		tags  map[string]string
		want  bool
	}{
		{"full marker", o, "targetsync:prod-1/shared", tag, true},
		{"old per-binding marker", o, "targetsync:prod-1/http", tag, true},
		{"old per-binding marker with a namespaced binding", o, "targetsync:prod-1/ingress/web:http", tag, true},
		{"any scope after the slash", o, "targetsync:prod-1/shared (copy)", tag, true},
		{"description only", o, "targetsync:prod-1/shared", nil, false},
		{"tag only", o, "opened by hand", tag, false},
		{"other cluster's tag", o, "targetsync:prod-1/shared", map[string]string{OwnerTagKey: "prod-2"}, false},
		{"other cluster's description", o, "targetsync:prod-2/shared", tag, false},
		{"cluster name is a prefix of another's", Owner{Cluster: "a"}, "targetsync:ab/shared", map[string]string{OwnerTagKey: "a"}, false},
		{"cluster name is a prefix of another's, tag of the other", Owner{Cluster: "a"}, "targetsync:ab/shared", map[string]string{OwnerTagKey: "ab"}, false},
		{"no slash", o, "targetsync:prod-1", tag, false},
		{"marker not at the start", o, "copy of targetsync:prod-1/shared", tag, false},
		{"empty owner owns nothing", Owner{}, "targetsync:/shared", map[string]string{}, false},
	}
	for _, tt := range owns {
		if got := tt.owner.Owns(tt.desc, tt.tags); got != tt.want {
			t.Errorf("%s: %+v.Owns(%q, %v) = %v, want %v", tt.name, tt.owner, tt.desc, tt.tags, got, tt.want)
		}
	}
	for _, bad := range []Owner{{}, {Cluster: "a/b"}, {Cluster: "caf\u00e9"}, {Cluster: strings.Repeat("a", 300)}, {Cluster: strings.Repeat("a", 250)}} {
		if err := bad.Validate(); !errors.Is(err, ErrInvalidOwner) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidOwner", bad, err)
		}
		if _, err := NewClient(&fakeEC2{}, bad); !errors.Is(err, ErrInvalidOwner) {
			t.Errorf("NewClient(%+v) = %v, want ErrInvalidOwner", bad, err)
		}
	}
}
