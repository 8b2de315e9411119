package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var iamPolicyFile = repoPath("deploy", "iam-policy.json")

// iamPrefixes maps an AWS SDK for Go v2 service package to its IAM action prefix.
var iamPrefixes = map[string]string{
	"elasticloadbalancingv2": "elasticloadbalancing",
	"ec2":                    "ec2",
}

// stringList is an IAM field that is either one string or a list of them.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

type iamPolicy struct {
	Version   string
	Statement []iamStatement
}

type iamStatement struct {
	Sid       string
	Effect    string
	Action    stringList
	Resource  stringList
	Condition map[string]map[string]stringList
}

func readPolicy(t *testing.T) iamPolicy {
	t.Helper()
	b, err := os.ReadFile(iamPolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	// NotAction, NotResource, Principal and misspelt keys are all errors here.
	dec.DisallowUnknownFields()
	var p iamPolicy
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", iamPolicyFile, err)
	}
	return p
}

var (
	sidRE    = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	actionRE = regexp.MustCompile(`^(elasticloadbalancing|ec2):[A-Z][A-Za-z]+$`)
	// Write actions are scoped to these resource types; reads take "*" (they support no
	// resource-level permissions).
	resourceRE = map[string]*regexp.Regexp{
		"elasticloadbalancing": regexp.MustCompile(`^arn:aws:elasticloadbalancing:\*:\*:targetgroup/\*/\*$`),
		"ec2":                  regexp.MustCompile(`^arn:aws:ec2:\*:\*:(security-group|security-group-rule)/\*$`),
	}
	knownConditionOperators = []string{"StringEquals", "StringLike", "ForAllValues:StringEquals", "ForAllValues:StringLike"}
)

func TestIAMPolicyIsWellFormedAndLeastPrivilege(t *testing.T) {
	p := readPolicy(t)
	if p.Version != "2012-10-17" {
		t.Errorf("Version = %q, want 2012-10-17 (older versions do not expand policy variables)", p.Version)
	}
	if len(p.Statement) == 0 {
		t.Fatal("no statements")
	}
	cluster := shippedClusterName(t)
	sids := map[string]bool{}
	for i, s := range p.Statement {
		name := fmt.Sprintf("statement %d (%s)", i, s.Sid)
		if !sidRE.MatchString(s.Sid) || sids[s.Sid] {
			t.Errorf("%s: Sid must be unique and alphanumeric; it is what deploy/README.md explains", name)
		}
		sids[s.Sid] = true
		if s.Effect != "Allow" {
			t.Errorf("%s: Effect %q, want Allow", name, s.Effect)
		}
		if len(s.Action) == 0 || len(s.Resource) == 0 {
			t.Errorf("%s: needs Action and Resource", name)
			continue
		}
		reads, writes := 0, 0
		prefixes := map[string]bool{}
		for _, a := range s.Action {
			if !actionRE.MatchString(a) {
				t.Errorf("%s: action %q is not one exact elasticloadbalancing or ec2 action (no wildcards)", name, a)
				continue
			}
			prefix, op, _ := strings.Cut(a, ":")
			prefixes[prefix] = true
			if strings.HasPrefix(op, "Describe") {
				reads++
			} else {
				writes++
			}
		}
		if !slices.IsSorted(s.Action) {
			t.Errorf("%s: keep actions sorted, so a diff shows what changed", name)
		}
		switch {
		case reads > 0 && writes > 0:
			t.Errorf("%s mixes Describe and write actions: they need different resources", name)
		case reads > 0:
			if !slices.Equal(s.Resource, []string{"*"}) || s.Condition != nil {
				t.Errorf("%s: Describe actions take Resource \"*\" and no condition; AWS supports nothing narrower", name)
			}
		case writes > 0:
			if len(prefixes) != 1 {
				t.Errorf("%s: write actions of one service per statement", name)
			}
			for prefix := range prefixes {
				for _, r := range s.Resource {
					if !resourceRE[prefix].MatchString(r) {
						t.Errorf("%s: resource %q is not a %s resource targetsync writes", name, r, prefix)
					}
				}
			}
			if !scopedByTag(s.Condition) {
				t.Errorf("%s: write actions need an aws:ResourceTag or aws:RequestTag condition, so only what targetsync owns can change", name)
			}
		}
		for op, kv := range s.Condition {
			if !slices.Contains(knownConditionOperators, op) {
				t.Errorf("%s: condition operator %q is not one this policy uses knowingly", name, op)
			}
			for k, vs := range kv {
				if (strings.HasPrefix(k, "aws:ResourceTag/") || strings.HasPrefix(k, "aws:RequestTag/")) &&
					!slices.Equal(vs, []string{cluster}) {
					t.Errorf("%s: %s = %q; the example cluster name in deploy/manifests/config.yaml is %q", name, k, vs, cluster)
				}
			}
		}
	}

	// The tag the security-group code writes on its rules is the one the policy allows.
	key := stringConst(t, "OwnerTagKey")
	if key == "" {
		t.Error("no OwnerTagKey constant under pkg/ (pkg/sg's rule tag): point this check at its new name")
	} else {
		var found bool
		for _, s := range p.Statement {
			for _, kv := range s.Condition {
				if _, ok := kv["aws:RequestTag/"+key]; ok {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("pkg/ tags rules with %q, but no statement allows that tag (aws:RequestTag/%s)", key, key)
		}
	}

	// Tagging a target group must be limited to the one key the ELB code writes: an AddTags
	// that could write targetsync.io/cluster would let targetsync take over (or give away) any
	// target group it can tag, and the ownership tag is the only thing keeping two clusters
	// from writing one group.
	hcKey := stringConst(t, "TagHealthCheckPort")
	if hcKey == "" {
		t.Error("no TagHealthCheckPort constant under pkg/ (pkg/elb's health-check tag): point this check at its new name")
	}
	for _, s := range p.Statement {
		if !slices.Contains(s.Action, "elasticloadbalancing:AddTags") {
			continue
		}
		if keys := s.Condition["ForAllValues:StringEquals"]["aws:TagKeys"]; !slices.Equal(keys, []string{hcKey}) {
			t.Errorf("statement %s grants elasticloadbalancing:AddTags for tag keys %q, want exactly [%q]", s.Sid, keys, hcKey)
		}
		if _, ok := s.Condition["StringEquals"]["aws:ResourceTag/"+stringConst(t, "TagCluster")]; !ok {
			t.Errorf("statement %s grants elasticloadbalancing:AddTags without the aws:ResourceTag/targetsync.io/cluster condition", s.Sid)
		}
	}
}

func scopedByTag(c map[string]map[string]stringList) bool {
	for op, kv := range c {
		if op != "StringEquals" {
			continue
		}
		for k := range kv {
			if strings.HasPrefix(k, "aws:ResourceTag/") || strings.HasPrefix(k, "aws:RequestTag/") {
				return true
			}
		}
	}
	return false
}

// shippedClusterName is the placeholder cluster name of the example config, which the policy's
// tag conditions must repeat.
func shippedClusterName(t *testing.T) string {
	t.Helper()
	var c struct {
		ClusterName string `json:"clusterName"`
	}
	readYAML(t, repoPath("deploy", "manifests", "config.yaml"), &c)
	if c.ClusterName == "" {
		t.Fatal("deploy/manifests/config.yaml sets no clusterName")
	}
	return c.ClusterName
}

func TestIAMPolicyGrantsExactlyTheCallsTheCodeMakes(t *testing.T) {
	code := codeActions(t, repoPath("pkg"))
	if len(code) == 0 {
		t.Fatal("found no AWS calls under pkg/; the scan is broken")
	}
	want := slices.Sorted(maps.Keys(code))

	granted := map[string]bool{}
	for _, s := range readPolicy(t).Statement {
		for _, a := range s.Action {
			granted[a] = true
		}
	}
	got := slices.Sorted(maps.Keys(granted))
	for _, a := range want {
		if !granted[a] {
			t.Errorf("the code needs %s (%s), but deploy/iam-policy.json does not grant it", a, strings.Join(code[a], ", "))
		}
	}
	for _, a := range got {
		if !slices.Contains(want, a) {
			t.Errorf("deploy/iam-policy.json grants %s, which no code under pkg/ calls: remove it", a)
		}
	}
	t.Logf("code calls %q", want)
}
