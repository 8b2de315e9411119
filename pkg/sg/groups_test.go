package sg

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func tags(kv ...string) []types.Tag {
	var out []types.Tag
	for i := 0; i < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// groupsFake holds worker groups of cluster "prod" (testOwner), untagged or tagged for it, and
// groups tagged for other clusters.
func groupsFake() *fakeEC2 {
	const workers = "targetsync.io/workers"
	return &fakeEC2{groups: []types.SecurityGroup{
		{GroupId: aws.String("sg-b"), Tags: tags(workers, "prod")},
		{GroupId: aws.String("sg-a"), Tags: tags(workers, "prod", GroupTagCluster, "prod")},
		{GroupId: aws.String("sg-c"), Tags: tags(workers, "staging", GroupTagCluster, "staging")},
		{GroupId: aws.String("sg-z")},
		{GroupId: aws.String("sg-other"), Tags: tags(GroupTagCluster, "other")},
		{GroupId: aws.String("sg-blank"), Tags: tags(GroupTagCluster, "")},
		{GroupId: aws.String("sg-shared"), Tags: tags(workers, "shared", GroupTagCluster, "other")},
		{GroupId: aws.String("sg-d"), Tags: tags(workers, "shared")},
	}}
}

func TestResolveGroups(t *testing.T) {
	const workers = "targetsync.io/workers"
	tests := []struct {
		name string
		sel  GroupSelector
		want []string
		// wantCalls is the number of DescribeSecurityGroups calls, each listing one page.
		wantCalls int
		wantErr   error
		// wantText are words the error must contain.
		wantText []string
	}{
		{name: "by IDs", sel: GroupSelector{IDs: []string{"sg-z", "sg-a", "sg-z"}}, want: []string{"sg-a", "sg-z"}, wantCalls: 1},
		{name: "by tag", sel: GroupSelector{TagKey: workers, TagValue: "prod"}, want: []string{"sg-a", "sg-b"}, wantCalls: 1},
		{name: "both, merged", sel: GroupSelector{TagKey: workers, TagValue: "prod", IDs: []string{"sg-z", "sg-a"}}, want: []string{"sg-a", "sg-b", "sg-z"}, wantCalls: 2},
		{name: "ID of another cluster's group", sel: GroupSelector{IDs: []string{"sg-a", "sg-other"}}, wantCalls: 1,
			wantErr: ErrForeignGroup, wantText: []string{"sg-other", `"other"`}},
		{name: "tag selects another cluster's group", sel: GroupSelector{TagKey: workers, TagValue: "shared"}, wantCalls: 1,
			wantErr: ErrForeignGroup, wantText: []string{"sg-shared", `"other"`}},
		{name: "empty cluster tag is not ours", sel: GroupSelector{IDs: []string{"sg-blank"}}, wantCalls: 1, wantErr: ErrForeignGroup, wantText: []string{"sg-blank"}},
		{name: "unknown ID", sel: GroupSelector{IDs: []string{"sg-a", "sg-gone"}}, wantCalls: 1, wantText: []string{"sg-gone", codeGroupNotFound}},
		{name: "unused tag", sel: GroupSelector{TagKey: workers, TagValue: "dev"}, wantCalls: 1, wantErr: ErrNoGroups},
		{name: "malformed ID", sel: GroupSelector{IDs: []string{"i-123"}}, wantErr: ErrInvalidGroupID},
		{name: "nothing", wantErr: ErrNoGroups},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := groupsFake()
			got, err := newTestClient(t, f).ResolveGroups(context.Background(), tt.sel)
			wantErr := tt.wantErr != nil || tt.wantText != nil
			if (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || (err != nil) != wantErr {
				t.Fatalf("ResolveGroups() error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !IsTerminal(err) {
				t.Errorf("ResolveGroups() error = %v, want a terminal error", err)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if d := diff(tt.want, got); d != "" {
				t.Errorf("ResolveGroups() (-want +got):%s", d)
			}
			if n := len(f.calls); n != tt.wantCalls {
				t.Errorf("ResolveGroups() made %d calls %v, want %d", n, f.calls, tt.wantCalls)
			}
			if len(f.mutations()) != 0 {
				t.Errorf("ResolveGroups() wrote: %v", f.mutations())
			}
		})
	}
}

// TestResolveGroupsPaginates reads both listings a group per page.
func TestResolveGroupsPaginates(t *testing.T) {
	f := groupsFake()
	f.pageSize = 1
	got, err := newTestClient(t, f).ResolveGroups(context.Background(), GroupSelector{
		IDs: []string{"sg-z", "sg-b"}, TagKey: "targetsync.io/workers", TagValue: "prod",
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := diff([]string{"sg-a", "sg-b", "sg-z"}, got); d != "" {
		t.Errorf("ResolveGroups() (-want +got):%s", d)
	}
	if n := len(f.calls); n != 4 {
		t.Errorf("ResolveGroups() made %d calls, want 4 (two pages per listing)", n)
	}
	f.failNext("DescribeSecurityGroups", apiError("RequestLimitExceeded"))
	if _, err := newTestClient(t, f).ResolveGroups(context.Background(), GroupSelector{IDs: []string{"sg-z"}}); err == nil || IsTerminal(err) {
		t.Errorf("ResolveGroups() throttled = %v, want a retryable error", err)
	}
}
