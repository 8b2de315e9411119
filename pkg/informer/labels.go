package informer

import (
	"slices"
	"sync"
)

// labelSets hands out the labels the node cache keeps, one read-only map per distinct set,
// shared by every node that has it. The kept labels are few (the zone, what the selectors
// read), so thousands of nodes fall into a handful of sets: at 5,000 nodes a map each was 2 MB
// of the cache. Sharing is safe because objects in an informer's cache are never modified.
// Past maxLabelSets distinct sets (a selector on a label unique to each node), further nodes
// get a map of their own, so the table stays bounded as nodes come and go.
type labelSets struct {
	mu   sync.Mutex
	sets map[string]map[string]string
	key  []byte // scratch, under mu
}

const maxLabelSets = 1024

func newLabelSets() *labelSets { return &labelSets{sets: map[string]map[string]string{}} }

// kept returns the labels of all whose keys keep holds, nil if none.
func (s *labelSets) kept(all map[string]string, keep map[string]bool) map[string]string {
	var keys []string
	for k := range all {
		if keep[k] {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = s.key[:0]
	for _, k := range keys {
		s.key = append(append(append(append(s.key, k...), 0), all[k]...), 0)
	}
	if m, ok := s.sets[string(s.key)]; ok {
		return m
	}
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[k] = all[k]
	}
	if len(s.sets) < maxLabelSets {
		s.sets[string(s.key)] = m
	}
	return m
}
