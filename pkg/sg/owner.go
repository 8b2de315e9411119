package sg

import (
	"fmt"
	"regexp"
	"strings"
)

// The ownership marker. A rule is ours only when it carries both halves: the description says
// which cluster and binding wrote it, and the tag says the same cluster in a place people
// editing descriptions in the console do not usually touch.
const (
	// DescriptionFormat is the exact description of every rule targetsync writes:
	// "targetsync:<cluster>/<binding>", with SharedScope as the binding when the rules serve
	// every binding of the cluster.
	DescriptionFormat = "targetsync:%s/%s"
	// SharedScope is the binding part of the description for rules shared by all bindings.
	SharedScope = "shared"
	// OwnerTagKey is the rule tag targetsync writes; its value is the cluster name.
	OwnerTagKey = "targetsync.io/owner"
)

// AWS limits on the marker's two halves.
const (
	maxDescriptionLen = 255
	maxTagValueLen    = 256
)

// descriptionChars is the character set AWS accepts in a security-group rule description.
var descriptionChars = regexp.MustCompile(`^[a-zA-Z0-9. _:/()#,@\[\]+=&;{}!$*-]*$`)

// Owner names whose rules a Client manages. Rules of another cluster, or of another binding of
// the same cluster, are someone else's: counted, honoured as cover, never revoked.
type Owner struct {
	// Cluster is the cluster name, as in --cluster-name.
	Cluster string
	// Binding scopes the rules to one binding; empty means SharedScope. When bindings share
	// worker security groups, reconcile them together under SharedScope with the union of their
	// ports, or each binding will see the others' rules as foreign.
	Binding string
}

func (o Owner) scope() string {
	if o.Binding == "" {
		return SharedScope
	}
	return o.Binding
}

// Description is the rule description that marks a rule as o's.
func (o Owner) Description() string { return fmt.Sprintf(DescriptionFormat, o.Cluster, o.scope()) }

// Owns reports whether a rule with this description and these tags carries o's full marker.
// Half a marker is not enough: a copied description or a stray tag leaves the rule foreign.
func (o Owner) Owns(description string, tags map[string]string) bool {
	return description == o.Description() && tags[OwnerTagKey] == o.Cluster
}

// Validate reports whether o can be written into a rule description and tag.
func (o Owner) Validate() error {
	switch {
	case o.Cluster == "":
		return fmt.Errorf("owner: empty cluster name: %w", ErrInvalidOwner)
	case strings.Contains(o.Cluster, "/"):
		// The first slash separates cluster from binding; a slash in the cluster would let two
		// different owners write the same description.
		return fmt.Errorf("owner: cluster name %q contains '/': %w", o.Cluster, ErrInvalidOwner)
	case len(o.Cluster) > maxTagValueLen:
		return fmt.Errorf("owner: cluster name longer than %d characters: %w", maxTagValueLen, ErrInvalidOwner)
	}
	d := o.Description()
	if len(d) > maxDescriptionLen {
		return fmt.Errorf("owner: description %q longer than %d characters: %w", d, maxDescriptionLen, ErrInvalidOwner)
	}
	if !descriptionChars.MatchString(d) {
		return fmt.Errorf("owner: description %q has characters AWS does not accept: %w", d, ErrInvalidOwner)
	}
	return nil
}
