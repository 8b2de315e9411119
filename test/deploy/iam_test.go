package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The two IAM policies: iam-policy.json for the in-cluster controller (`run`, and `plan`, which
// reads the same things), iam-policy-bootstrap.json for whoever runs `targetsync bootstrap`.
var (
	iamPolicyFile          = repoPath("deploy", "iam-policy.json")
	bootstrapIAMPolicyFile = repoPath("deploy", "iam-policy-bootstrap.json")
)

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

func readPolicy(t *testing.T, file string) iamPolicy {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	// NotAction, NotResource, Principal and misspelt keys are all errors here.
	dec.DisallowUnknownFields()
	var p iamPolicy
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return p
}

var (
	sidRE    = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	actionRE = regexp.MustCompile(`^(elasticloadbalancing|ec2):[A-Z][A-Za-z]+$`)
	// Write actions are scoped to these resource types; reads take "*" (they support no
	// resource-level permissions). run writes only target groups.
	resourceRE = map[string]*regexp.Regexp{
		"elasticloadbalancing": regexp.MustCompile(`^arn:\*:elasticloadbalancing:\*:\*:targetgroup/\*/\*$`),
		"ec2":                  regexp.MustCompile(`^arn:\*:ec2:\*:\*:(security-group|security-group-rule)/\*$`),
	}
	// bootstrap also creates network load balancers and their listeners.
	bootstrapResourceRE = map[string]*regexp.Regexp{
		"elasticloadbalancing": regexp.MustCompile(`^arn:\*:elasticloadbalancing:\*:\*:(targetgroup/\*/\*|loadbalancer/net/\*/\*|listener/net/\*/\*/\*)$`),
		"ec2":                  resourceRE["ec2"],
	}
	knownConditionOperators = []string{"StringEquals", "StringLike", "ForAllValues:StringEquals", "ForAllValues:StringLike"}
)

// checkWellFormed checks what both policies share: exact actions, reads on "*" without
// conditions, writes of one service on the resource types in resources and scoped by an ownership
// tag whose value is the example cluster name.
func checkWellFormed(t *testing.T, p iamPolicy, resources map[string]*regexp.Regexp) {
	t.Helper()
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
					if !resources[prefix].MatchString(r) {
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
}

// checkRuleTag checks that the tag the security-group code writes on its rules is the one the
// policy allows.
func checkRuleTag(t *testing.T, p iamPolicy) {
	t.Helper()
	key := stringConst(t, "OwnerTagKey")
	if key == "" {
		t.Error("no OwnerTagKey constant under pkg/ (pkg/sg's rule tag): point this check at its new name")
		return
	}
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

func TestIAMPolicyIsWellFormedAndLeastPrivilege(t *testing.T) {
	p := readPolicy(t, iamPolicyFile)
	checkWellFormed(t, p, resourceRE)
	checkRuleTag(t, p)

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

// TestBootstrapIAMPolicyOnlyCreatesAndSetsWhatIsTagged checks the shape of the bootstrap policy:
// bootstrap creates what is missing, tagged for its cluster, sets attributes only on what carries
// the cluster's tag, and never deletes, takes away or rewires anything.
func TestBootstrapIAMPolicyOnlyCreatesAndSetsWhatIsTagged(t *testing.T) {
	p := readPolicy(t, bootstrapIAMPolicyFile)
	checkWellFormed(t, p, bootstrapResourceRE)
	checkRuleTag(t, p)

	cluster := shippedClusterName(t)
	clusterKey, ownerKey := stringConst(t, "TagCluster"), stringConst(t, "OwnerTagKey")
	tagKeys := map[string]string{}
	for _, name := range []string{"TagCluster", "TagKubernetesClusterPrefix", "TagService", "TagBinding", "TagHealthCheckPort"} {
		if tagKeys[name] = stringConst(t, name); tagKeys[name] == "" {
			t.Fatalf("no %s constant under pkg/ (a tag bootstrap writes on create): point this check at its new name", name)
		}
	}
	if ownerKey == "" {
		t.Fatal("no OwnerTagKey constant under pkg/ (pkg/sg's rule tag): point this check at its new name")
	}
	requestTag, resourceTag := "aws:RequestTag/"+clusterKey, "aws:ResourceTag/"+clusterKey
	// The keys bootstrap writes when it creates: the ownership tag, the EKS cluster tag, the
	// role tags (bootstrap.Spec.tags) and, on the target group, the health-check port it set.
	wantTagKeys := []string{
		tagKeys["TagCluster"], tagKeys["TagKubernetesClusterPrefix"] + cluster,
		tagKeys["TagService"], tagKeys["TagBinding"], tagKeys["TagHealthCheckPort"],
	}
	slices.Sort(wantTagKeys)
	// The creates that tag what they create, so AddTags must be allowed for exactly them: every
	// elbv2 Create* bootstrap calls.
	var creates []string
	for a := range bootstrapActions(t) {
		if op, ok := strings.CutPrefix(a, "elasticloadbalancing:"); ok && strings.HasPrefix(op, "Create") {
			creates = append(creates, op)
		}
	}
	slices.Sort(creates)
	if want := []string{"CreateListener", "CreateLoadBalancer", "CreateTargetGroup"}; !slices.Equal(creates, want) {
		t.Errorf("bootstrap calls elbv2 %q, this check expects %q: see that each new create is tagged and allowed here", creates, want)
	}
	// A create inside an existing resource is also a change to that resource: a listener is
	// added only to a load balancer tagged for the cluster.
	createsInside := map[string]string{"elasticloadbalancing:CreateListener": "load balancer"}

	for i, s := range p.Statement {
		name := fmt.Sprintf("statement %d (%s)", i, s.Sid)
		need := func(a, key, why string) {
			if _, ok := s.Condition["StringEquals"][key]; !ok {
				t.Errorf("%s grants %s without the condition StringEquals %s: %s", name, a, key, why)
			}
		}
		ruleResources := 0
		for _, r := range s.Resource {
			if strings.HasSuffix(r, ":security-group-rule/*") {
				ruleResources++
			}
		}
		for _, a := range s.Action {
			_, op, _ := strings.Cut(a, ":")
			if slices.ContainsFunc([]string{"Delete", "Remove", "Revoke", "Deregister"}, func(p string) bool { return strings.HasPrefix(op, p) }) ||
				op == "ModifyListener" {
				t.Errorf("%s grants %s: bootstrap never deletes, takes away or rewires anything", name, a)
				continue
			}
			switch {
			case strings.HasPrefix(op, "Describe"):
			case a == "elasticloadbalancing:AddTags":
				// Only as part of the creates: no AddTags on what exists, which could adopt or
				// give away anything by rewriting its ownership tag.
				got := slices.Sorted(slices.Values(s.Condition["StringEquals"]["elasticloadbalancing:CreateAction"]))
				if !slices.Equal(got, creates) {
					t.Errorf("%s grants %s for elasticloadbalancing:CreateAction %q, want exactly %q", name, a, got, creates)
				}
				need(a, requestTag, "what bootstrap creates carries the cluster's tag")
				if got := slices.Sorted(slices.Values(s.Condition["ForAllValues:StringEquals"]["aws:TagKeys"])); !slices.Equal(got, wantTagKeys) {
					t.Errorf("%s grants %s for tag keys %q, but bootstrap writes %q", name, a, got, wantTagKeys)
				}
			case a == "ec2:CreateTags":
				if got := s.Condition["StringEquals"]["ec2:CreateAction"]; !slices.Equal(got, []string{"AuthorizeSecurityGroupIngress"}) {
					t.Errorf("%s grants %s for ec2:CreateAction %q, want only AuthorizeSecurityGroupIngress (the rule tag on create)", name, a, got)
				}
				need(a, "aws:RequestTag/"+ownerKey, "the rules bootstrap adds carry sg's owner tag")
				if got := s.Condition["ForAllValues:StringEquals"]["aws:TagKeys"]; !slices.Equal(got, []string{ownerKey}) {
					t.Errorf("%s grants %s for tag keys %q, want exactly [%q]", name, a, got, ownerKey)
				}
			case strings.HasPrefix(op, "Create"):
				need(a, requestTag, "bootstrap creates only what is tagged for its cluster")
				if what, ok := createsInside[a]; ok {
					need(a, resourceTag, "bootstrap adds to a "+what+" only when it is tagged for its cluster")
				}
			case ruleResources == len(s.Resource):
				// A rule created with tags is authorized as a resource of its own.
				need(a, "aws:RequestTag/"+ownerKey, "the rules bootstrap adds carry sg's owner tag")
			case ruleResources > 0:
				t.Errorf("%s mixes security-group-rule with other resources: a new rule has no tags to match aws:ResourceTag yet", name)
			default:
				need(a, resourceTag, "bootstrap changes only what is tagged for its cluster")
			}
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

// isBootstrapCode reports whether rel (a path from the repository root, with slashes) is code
// only bootstrap runs, as `targetsync bootstrap` or `run --bootstrap`: pkg/bootstrap, and the
// bootstrap file(s) of pkg/app (the command) and pkg/config (its flags). Plain `run` and `plan`
// never reach it (TestRunAndPlanDoNotReachBootstrapCode).
func isBootstrapCode(rel string) bool {
	dir := path.Dir(rel)
	return strings.HasPrefix(rel, "pkg/bootstrap/") ||
		((dir == "pkg/app" || dir == "pkg/config") && strings.HasPrefix(path.Base(rel), "bootstrap"))
}

// runtimeActions are the AWS calls `run` and `plan` can make: everything under pkg/ but the
// bootstrap command.
func runtimeActions(t *testing.T) map[string][]string {
	t.Helper()
	return codeActions(t, repoPath("pkg"), func(rel string) bool { return !isBootstrapCode(rel) })
}

// bootstrapActions are the AWS calls `targetsync bootstrap` can make: those of its own code, and
// those of pkg/sg, whose client it uses for the security-group reads and to add the rules
// (Reconcile). pkg/sg is taken whole; a call of it that bootstrap cannot reach is taken out below
// with the reason, as RevokeSecurityGroupIngress is.
func bootstrapActions(t *testing.T) map[string][]string {
	t.Helper()
	code := codeActions(t, repoPath("pkg"), func(rel string) bool {
		return isBootstrapCode(rel) || strings.HasPrefix(rel, "pkg/sg/")
	})
	// Bootstrap only adds rules: it reconciles with sg.Desired.Complete false, for which
	// sg.ComputePlan revokes nothing, so sg's revoke path never runs and the bootstrap policy
	// grants no RevokeSecurityGroupIngress. bootstrapRevokeProblems keeps that true.
	for _, p := range bootstrapRevokeProblems(t, repoPath("pkg")) {
		t.Error(p)
	}
	delete(code, "ec2:RevokeSecurityGroupIngress")
	return code
}

func TestIAMPolicyGrantsExactlyTheCallsTheCodeMakes(t *testing.T) {
	t.Run("run", func(t *testing.T) {
		checkGrantsExactly(t, iamPolicyFile, "run and plan (pkg/ but pkg/bootstrap and pkg/app/bootstrap*.go)", runtimeActions(t))
	})
	t.Run("bootstrap", func(t *testing.T) {
		checkGrantsExactly(t, bootstrapIAMPolicyFile, "bootstrap (pkg/bootstrap, pkg/app/bootstrap*.go and pkg/sg)", bootstrapActions(t))
	})
}

// checkGrantsExactly compares the actions file grants with code, the calls of scope: a call
// without a grant would be AccessDenied in production, a grant without a call is more than the
// command needs.
func checkGrantsExactly(t *testing.T, file, scope string, code map[string][]string) {
	t.Helper()
	name := "deploy/" + filepath.Base(file)
	if len(code) == 0 {
		t.Fatalf("found no AWS calls in %s; the scan is broken", scope)
	}
	want := slices.Sorted(maps.Keys(code))

	granted := map[string]bool{}
	for _, s := range readPolicy(t, file).Statement {
		for _, a := range s.Action {
			granted[a] = true
		}
	}
	got := slices.Sorted(maps.Keys(granted))
	for _, a := range want {
		if !granted[a] {
			t.Errorf("%s needs %s (%s), but %s does not grant it", scope, a, strings.Join(code[a], ", "), name)
		}
	}
	for _, a := range got {
		if !slices.Contains(want, a) {
			t.Errorf("%s grants %s, which no code of %s calls: remove it", name, a, scope)
		}
	}
	t.Logf("%s calls %q", scope, want)
}

// goFiles parses the non-test Go files under root, by their path from root's parent with slashes.
func goFiles(t *testing.T, root string, fset *token.FileSet) map[string]*ast.File {
	t.Helper()
	out := map[string]*ast.File{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		rel, err := filepath.Rel(filepath.Dir(root), p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		// Named by rel, so positions read pkg/bootstrap/rules.go:122:41.
		f, err := parser.ParseFile(fset, rel, src, 0)
		if err != nil {
			return err
		}
		out[rel] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// bootstrapRevokeProblems backs the exclusion of ec2:RevokeSecurityGroupIngress from the
// bootstrap policy: the bootstrap code under root never sets sg.Desired.Complete but to false,
// never builds an sg.Plan itself, and never names a revoke.
func bootstrapRevokeProblems(t *testing.T, root string) []string {
	t.Helper()
	const why = "bootstrap only adds rules, and deploy/iam-policy-bootstrap.json grants no ec2:RevokeSecurityGroupIngress"
	var out []string
	fset := token.NewFileSet()
	for rel, f := range goFiles(t, root, fset) {
		if !isBootstrapCode(rel) {
			continue
		}
		sgName := ""
		for _, imp := range f.Imports {
			if v, _ := strconv.Unquote(imp.Path.Value); v == "github.com/targetsync/targetsync/pkg/sg" {
				sgName = "sg"
				if imp.Name != nil {
					sgName = imp.Name.Name
				}
			}
		}
		allowed := map[*ast.Ident]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.KeyValueExpr:
				k, ok := n.Key.(*ast.Ident)
				v, isIdent := n.Value.(*ast.Ident)
				if ok && k.Name == "Complete" && isIdent && v.Name == "false" {
					allowed[k] = true
				}
			case *ast.CompositeLit:
				if sel, ok := n.Type.(*ast.SelectorExpr); ok && sgName != "" && sel.Sel.Name == "Plan" {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == sgName {
						out = append(out, fmt.Sprintf("%s: builds an sg.Plan itself, which may revoke: %s", fset.Position(n.Pos()), why))
					}
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			id, ok := n.(*ast.Ident)
			switch {
			case !ok:
			case id.Name == "Complete" && !allowed[id]:
				out = append(out, fmt.Sprintf("%s: uses Complete other than as sg.Desired{Complete: false}; a complete set revokes: %s", fset.Position(id.Pos()), why))
			case strings.HasPrefix(id.Name, "Revoke"):
				out = append(out, fmt.Sprintf("%s: uses %s: %s", fset.Position(id.Pos()), id.Name, why))
			}
			return true
		})
	}
	slices.Sort(out)
	return out
}

// bootstrapReachProblems backs the split of the policies: run and plan are checked against the
// code outside the bootstrap command, which is right only while that code does not call into it.
// Nothing outside it may import pkg/bootstrap, and of what the bootstrap file(s) in pkg/app
// declare, the rest of pkg/app may use only bootstrapCommand (the dispatch in main.go) and
// runBootstrap (run --bootstrap, which deploy/README.md says needs both policies).
func bootstrapReachProblems(t *testing.T, root string) []string {
	t.Helper()
	const (
		bootstrapPkg = "github.com/targetsync/targetsync/pkg/bootstrap"
		entry        = "bootstrapCommand"
		runEntry     = "runBootstrap"
		why          = "run or plan may now make bootstrap's AWS calls, which deploy/iam-policy.json does not grant; keep them apart or grant the calls"
	)
	var out []string
	fset := token.NewFileSet()
	files := goFiles(t, root, fset)
	declared := map[string]string{}
	for rel, f := range files {
		if isBootstrapCode(rel) {
			if path.Dir(rel) == "pkg/app" {
				for name := range topLevelNames(f) {
					declared[name] = rel
				}
			}
			continue
		}
		for _, imp := range f.Imports {
			if v, _ := strconv.Unquote(imp.Path.Value); v == bootstrapPkg {
				out = append(out, fmt.Sprintf("%s imports %s: %s", rel, bootstrapPkg, why))
			}
		}
	}
	if _, ok := declared[entry]; !ok {
		out = append(out, "pkg/app/bootstrap*.go declares no "+entry+": point this check at the bootstrap command's entry point")
	}
	for rel, f := range files {
		if isBootstrapCode(rel) || path.Dir(rel) != "pkg/app" {
			continue
		}
		var visit func(n ast.Node) bool
		visit = func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				// A field or method of that name (cfg.Bootstrap) is not the declaration.
				ast.Inspect(sel.X, visit)
				return false
			}
			if id, ok := n.(*ast.Ident); ok && id.Name != entry && id.Name != runEntry && declared[id.Name] != "" {
				out = append(out, fmt.Sprintf("%s: uses %s from %s: %s", fset.Position(id.Pos()), id.Name, declared[id.Name], why))
			}
			return true
		}
		ast.Inspect(f, visit)
	}
	slices.Sort(out)
	return out
}

// topLevelNames are the package-level names f declares (functions, not methods; vars, consts,
// types).
func topLevelNames(f *ast.File) map[string]bool {
	out := map[string]bool{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				out[d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, sp := range d.Specs {
				switch sp := sp.(type) {
				case *ast.ValueSpec:
					for _, n := range sp.Names {
						out[n.Name] = true
					}
				case *ast.TypeSpec:
					out[sp.Name.Name] = true
				}
			}
		}
	}
	return out
}

func TestRunAndPlanDoNotReachBootstrapCode(t *testing.T) {
	for _, p := range bootstrapReachProblems(t, repoPath("pkg")) {
		t.Error(p)
	}
}

// TestBootstrapSplitChecksSeeWhatBreaksTheSplit proves the two checks behind the split on code
// written for them: bootstrap code that may revoke, and run code that reaches bootstrap's.
func TestBootstrapSplitChecksSeeWhatBreaksTheSplit(t *testing.T) {
	root := filepath.Join(t.TempDir(), "pkg")
	src := map[string]string{
		"bootstrap/rules.go": `package bootstrap

import "github.com/targetsync/targetsync/pkg/sg"

var ok = sg.Desired{Complete: false}
var full = sg.Desired{Complete: true}
var own = sg.Plan{}
var _ = sg.RevokeAll
`,
		"app/bootstrap.go": `package app

func bootstrapCommand() int { return helper() }

func helper() int { return 0 }
`,
		"app/main.go": `package app

func main() { bootstrapCommand() }
`,
		"app/run.go": `package app

func run() int { return helper() }
`,
		"controller/c.go": `package controller

import _ "github.com/targetsync/targetsync/pkg/bootstrap"
`,
	}
	for name, text := range src {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	revoke := bootstrapRevokeProblems(t, root)
	for _, want := range []string{"pkg/bootstrap/rules.go:6:23: uses Complete", "pkg/bootstrap/rules.go:7:11: builds an sg.Plan", "pkg/bootstrap/rules.go:8:12: uses RevokeAll"} {
		if !slices.ContainsFunc(revoke, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("the revoke check missed %q; it found %q", want, revoke)
		}
	}
	if len(revoke) != 3 {
		t.Errorf("the revoke check found %d problems, want 3: %q", len(revoke), revoke)
	}
	reach := bootstrapReachProblems(t, root)
	for _, want := range []string{"pkg/controller/c.go imports", "pkg/app/run.go:3:25: uses helper"} {
		if !slices.ContainsFunc(reach, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("the reach check missed %q; it found %q", want, reach)
		}
	}
	if len(reach) != 2 {
		t.Errorf("the reach check found %d problems, want 2: %q", len(reach), reach)
	}
}

// partitionExamples are resources of each kind the policies name, in each AWS partition: the
// standard one, China and GovCloud (US). Each must match a Resource of the policy as it ships.
var partitionExamples = map[string][]string{
	"aws":        {"arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/0123456789abcdef", "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0123456789abcdef0"},
	"aws-cn":     {"arn:aws-cn:elasticloadbalancing:cn-north-1:111122223333:targetgroup/web/0123456789abcdef", "arn:aws-cn:ec2:cn-northwest-1:111122223333:security-group/sg-0123456789abcdef0"},
	"aws-us-gov": {"arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:111122223333:targetgroup/web/0123456789abcdef", "arn:aws-us-gov:ec2:us-gov-east-1:111122223333:security-group/sg-0123456789abcdef0"},
}

// arnMatches matches an ARN against an IAM Resource pattern, where * matches any run of
// characters within one colon-separated field (and across the resource part's slashes).
func arnMatches(pattern, arn string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, `[^:]*`) + "$"
	return regexp.MustCompile(re).MatchString(arn)
}

// TestIAMPoliciesWorkInEveryPartition keeps the policies usable unedited in aws, aws-cn and
// aws-us-gov: no ARN names a partition, and the write statements reach that partition's
// target groups and security groups.
func TestIAMPoliciesWorkInEveryPartition(t *testing.T) {
	for _, file := range []string{"iam-policy.json", "iam-policy-bootstrap.json"} {
		var p iamPolicy
		b, err := os.ReadFile(repoPath("deploy", file))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var resources []string
		for _, s := range p.Statement {
			for _, r := range s.Resource {
				if r == "*" {
					continue
				}
				resources = append(resources, r)
				if f := strings.SplitN(r, ":", 6); len(f) != 6 || f[0] != "arn" || f[1] != "*" {
					t.Errorf("%s: statement %s names %q; the partition field must be * so the policy works in aws, aws-cn and aws-us-gov", file, s.Sid, r)
				}
			}
		}
		for partition, arns := range partitionExamples {
			for _, arn := range arns {
				if !slices.ContainsFunc(resources, func(r string) bool { return arnMatches(r, arn) }) {
					t.Errorf("%s: no Resource matches %s in partition %s", file, arn, partition)
				}
			}
		}
	}
}
