package informer

import (
	"fmt"
	"maps"
	"reflect"
	"testing"
)

func TestLabelSetsShareOneMapPerSet(t *testing.T) {
	keep := map[string]bool{"zone": true, "pool": true}
	same := func(a, b map[string]string) bool {
		return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}
	s := newLabelSets()
	a := s.kept(map[string]string{"zone": "a", "pool": "web", "host": "n1"}, keep)
	b := s.kept(map[string]string{"pool": "web", "zone": "a", "host": "n2"}, keep)
	c := s.kept(map[string]string{"zone": "b", "pool": "web", "host": "n3"}, keep)
	// A key and value that would run together without separators: "zo" + "nea" vs "zone" + "a".
	d := s.kept(map[string]string{"zo": "nea"}, map[string]bool{"zo": true})

	tests := []struct {
		name string
		got  map[string]string
		want map[string]string
	}{
		{"first node", a, map[string]string{"zone": "a", "pool": "web"}},
		{"second node, same set", b, map[string]string{"zone": "a", "pool": "web"}},
		{"another zone", c, map[string]string{"zone": "b", "pool": "web"}},
		{"other keys", d, map[string]string{"zo": "nea"}},
		{"nothing kept", s.kept(map[string]string{"host": "n4"}, keep), nil},
	}
	for _, tt := range tests {
		if !maps.Equal(tt.got, tt.want) || (tt.want == nil) != (tt.got == nil) {
			t.Errorf("%s: kept %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if !same(a, b) {
		t.Error("two nodes with the same kept labels hold two maps, want one shared")
	}
	if same(a, c) {
		t.Error("nodes in different zones share a map")
	}
}

func TestLabelSetsStopSharingPastTheBound(t *testing.T) {
	keep := map[string]bool{"host": true}
	s := newLabelSets()
	for i := range maxLabelSets + 10 {
		s.kept(map[string]string{"host": fmt.Sprint(i)}, keep)
	}
	if len(s.sets) != maxLabelSets {
		t.Errorf("%d sets remembered, want at most %d", len(s.sets), maxLabelSets)
	}
	m := s.kept(map[string]string{"host": fmt.Sprint(maxLabelSets + 5)}, keep)
	if m["host"] != fmt.Sprint(maxLabelSets+5) {
		t.Errorf("past the bound: kept %v", m)
	}
}
