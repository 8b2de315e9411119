package sg

import (
	"fmt"
	"regexp"
	"strings"
)

// The ownership marker. A rule is ours only when it carries both halves: the description says
// which cluster wrote it, and the tag says the same cluster in a place people editing
// descriptions in the console do not usually touch.
const (
	// DescriptionFormat is the exact description of every rule targetsync writes:
	// "targetsync:<cluster>/<scope>", where the scope is always SharedScope today. Versions that
	// owned rules per binding wrote the binding as the scope; their rules are still the
	// cluster's (see Owner.Owns).
	DescriptionFormat = "targetsync:%s/%s"
	// SharedScope is the scope part of the description: the rules serve every binding of the
	// cluster, reconciled together over the union of their ports.
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

// Owner names whose rules a Client manages: one cluster. Each cluster has exactly one
// security-group reconciler, over the union of its bindings' ports, so no two reconcilers of a
// cluster race over one rule. Rules of another cluster are someone else's: counted, honoured as
// cover, never revoked.
type Owner struct {
	// Cluster is the cluster name, as in --cluster-name.
	Cluster string
}

// Description is the rule description targetsync writes on o's rules.
func (o Owner) Description() string { return fmt.Sprintf(DescriptionFormat, o.Cluster, SharedScope) }

// descriptionPrefix is what every description o owns starts with, "targetsync:<cluster>/". The
// slash makes the match exact: cluster "a" does not own "targetsync:ab/shared".
func (o Owner) descriptionPrefix() string { return fmt.Sprintf(DescriptionFormat, o.Cluster, "") }

// Owns reports whether a rule with this description and these tags carries o's full marker: a
// description starting with "targetsync:<cluster>/", whatever the scope after the slash (so
// rules written per binding by older versions are recognised and migrated), and the tag
// OwnerTagKey equal to the cluster. Half a marker is not enough: a copied description or a
// stray tag leaves the rule foreign.
func (o Owner) Owns(description string, tags map[string]string) bool {
	return o.Cluster != "" &&
		strings.HasPrefix(description, o.descriptionPrefix()) &&
		tags[OwnerTagKey] == o.Cluster
}

// Validate reports whether o can be written into a rule description and tag.
func (o Owner) Validate() error {
	switch {
	case o.Cluster == "":
		return fmt.Errorf("owner: empty cluster name: %w", ErrInvalidOwner)
	case strings.Contains(o.Cluster, "/"):
		// The first slash ends the cluster name; a slash in it would let one cluster own
		// another's rules ("a" would own "targetsync:a/b/shared" written by cluster "a/b").
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
