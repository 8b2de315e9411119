package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// codeActions scans the non-test Go files under root for the AWS operations they can call, as
// IAM actions, each with where it was seen. include, when not nil, picks the files by their path
// relative to root's parent, with slashes ("pkg/sg/api.go"). An operation counts when it is a
// method of an interface taking the SDK's <Op>Input (the narrow API interfaces), is called as
// .api.<Op>(ctx, or has its <Op>Input built (paginators call the operation themselves). An input
// that tags what it creates also needs the service's tagging action (see tagOnCreate).
func codeActions(t *testing.T, root string, include func(rel string) bool) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	add := func(action, where string) {
		if !slices.Contains(out[action], where) {
			out[action] = append(out[action], where)
		}
	}
	callRE := regexp.MustCompile(`\.api\.(\w+)\(ctx`)
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		rel, err := filepath.Rel(filepath.Dir(root), path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if include != nil && !include(rel) {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return err
		}
		services := sdkImports(t, f, rel)
		// The package's narrow interface tells which service a bare .api call goes to.
		apiService := ""
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.InterfaceType:
				for _, m := range n.Methods.List {
					ft, ok := m.Type.(*ast.FuncType)
					if !ok || len(m.Names) != 1 {
						continue
					}
					for _, p := range ft.Params.List {
						if svc, typ := sdkType(p.Type, services); svc != "" && typ == m.Names[0].Name+"Input" {
							add(svc+":"+m.Names[0].Name, rel+" (interface)")
							apiService = svc
						}
					}
				}
			case *ast.CompositeLit:
				svc, typ := sdkType(n.Type, services)
				if svc == "" || !strings.HasSuffix(typ, "Input") {
					return true
				}
				op := strings.TrimSuffix(typ, "Input")
				add(svc+":"+op, rel)
				tag := tagOnCreate[svc]
				if !strings.HasPrefix(op, tag.onlyFor) {
					return true
				}
				for _, e := range n.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok {
						if id, ok := kv.Key.(*ast.Ident); ok && id.Name == tag.field {
							add(svc+":"+tag.action, rel+" (tag on create)")
						}
					}
				}
			}
			return true
		})
		for _, m := range callRE.FindAllSubmatch(src, -1) {
			svc := apiService
			if svc == "" {
				svc = packageAPIService(t, filepath.Dir(path))
			}
			if svc == "" {
				t.Errorf("%s calls .api.%s, but its package declares no AWS API interface", rel, m[1])
				continue
			}
			add(svc+":"+string(m[1]), rel+" (call)")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", root, err)
	}
	for _, w := range out {
		sort.Strings(w)
	}
	return out
}

// tagOnCreate says, per IAM prefix, which field of an <Op>Input tags what the operation creates
// and which action AWS then authorizes as well: ec2 inputs take TagSpecifications and need
// ec2:CreateTags; the elbv2 Create*Input types (CreateLoadBalancer, CreateTargetGroup,
// CreateListener, ...) take Tags and need elasticloadbalancing:AddTags. onlyFor is the operation
// prefix the field means that on ("" for every operation).
var tagOnCreate = map[string]struct{ field, action, onlyFor string }{
	"ec2":                  {field: "TagSpecifications", action: "CreateTags"},
	"elasticloadbalancing": {field: "Tags", action: "AddTags", onlyFor: "Create"},
}

// sdkImports maps the names under which f imports AWS SDK service packages to IAM prefixes.
func sdkImports(t *testing.T, f *ast.File, rel string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		rest, ok := strings.CutPrefix(path, "github.com/aws/aws-sdk-go-v2/service/")
		if !ok || strings.Contains(rest, "/") {
			continue
		}
		prefix, known := iamPrefixes[rest]
		if !known {
			t.Errorf("%s imports the AWS SDK package %s: add its IAM prefix to iamPrefixes and its actions to the IAM policy of the command that calls it (deploy/iam-policy.json for run and plan, deploy/iam-policy-bootstrap.json for bootstrap)", rel, path)
			continue
		}
		name := rest
		if imp.Name != nil {
			name = imp.Name.Name
		}
		out[name] = prefix
	}
	return out
}

// sdkType reports the IAM prefix and type name of an expression of type pkg.T or *pkg.T where
// pkg is an AWS SDK service package.
func sdkType(e ast.Expr, services map[string]string) (string, string) {
	if st, ok := e.(*ast.StarExpr); ok {
		e = st.X
	}
	if u, ok := e.(*ast.UnaryExpr); ok {
		e = u.X
	}
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return "", ""
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok {
		return "", ""
	}
	return services[pkg.Name], sel.Sel.Name
}

// packageAPIService finds the IAM prefix of the API interface declared anywhere in dir.
func packageAPIService(t *testing.T, dir string) string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		services := sdkImports(t, f, path)
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, s := range gd.Specs {
				ts := s.(*ast.TypeSpec)
				it, ok := ts.Type.(*ast.InterfaceType)
				if !ok || ts.Name.Name != "API" {
					continue
				}
				for _, m := range it.Methods.List {
					if ft, ok := m.Type.(*ast.FuncType); ok {
						for _, p := range ft.Params.List {
							if svc, _ := sdkType(p.Type, services); svc != "" {
								return svc
							}
						}
					}
				}
			}
		}
	}
	return ""
}

// stringConst returns the value of the string constant name declared in a non-test file under
// pkg/, or "" when there is none.
func stringConst(t *testing.T, name string) string {
	t.Helper()
	var value string
	fset := token.NewFileSet()
	err := filepath.WalkDir(repoPath("pkg"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if n.Name != name || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						value, _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return value
}

// TestCodeScanSeesEveryKindOfCall proves the scan behind the policy check on a package written
// for it: a call added through any of the three routes must show up, or the policy check could
// pass while production gets AccessDenied.
func TestCodeScanSeesEveryKindOfCall(t *testing.T) {
	root := filepath.Join(t.TempDir(), "pkg")
	src := map[string]string{
		"lb/api.go": `package lb

import (
	"context"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

type API interface {
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
}
`,
		"lb/apply.go": `package lb

import "context"

type Client struct{ api interface{ DeleteTargetGroup(context.Context) error } }

func (c *Client) Drop(ctx context.Context) error { return c.api.DeleteTargetGroup(ctx) }
`,
		"fw/rules.go": `package fw

import (
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

var in = &ec2.CreateSecurityGroupInput{TagSpecifications: []types.TagSpecification{}}
`,
		"lb/create.go": `package lb

import (
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

var tagged = &elbv2.CreateListenerInput{Tags: []types.Tag{}}
`,
		"boot/create.go": `package boot

import elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

var plain = &elbv2.CreateLoadBalancerInput{}
`,
		"fw/rules_test.go": `package fw

import "github.com/aws/aws-sdk-go-v2/service/ec2"

var ignored = &ec2.DeleteVpcInput{}
`,
	}
	for name, text := range src {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got := slices.Sorted(maps.Keys(codeActions(t, root, nil)))
	want := []string{
		"ec2:CreateSecurityGroup",
		"ec2:CreateTags",
		"elasticloadbalancing:AddTags",
		"elasticloadbalancing:CreateListener",
		"elasticloadbalancing:CreateLoadBalancer",
		"elasticloadbalancing:DeleteTargetGroup",
		"elasticloadbalancing:DescribeTargetGroups",
	}
	if !slices.Equal(got, want) {
		t.Errorf("scan found %q, want %q", got, want)
	}

	// include picks files by their path from root's parent, as the per-command checks do.
	got = slices.Sorted(maps.Keys(codeActions(t, root, func(rel string) bool { return strings.HasPrefix(rel, "pkg/boot/") })))
	if want := []string{"elasticloadbalancing:CreateLoadBalancer"}; !slices.Equal(got, want) {
		t.Errorf("scan of pkg/boot/ found %q, want %q", got, want)
	}

	// Every service the scan knows has its tag-on-create field, or a tagged create would
	// pass the scan and fail in AWS.
	for svc, prefix := range iamPrefixes {
		if tagOnCreate[prefix].field == "" {
			t.Errorf("iamPrefixes knows %s but tagOnCreate does not say how %s tags on create", svc, prefix)
		}
	}
}
