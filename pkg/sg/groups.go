package sg

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// GroupTagCluster is the security-group tag that gives a group to one cluster. A group tagged
// with any other value, the empty one included, is never written to; an untagged group is
// anyone's.
const GroupTagCluster = "targetsync.io/cluster"

// GroupSelector names the worker security groups: by ID, by a tag, or both (the union).
type GroupSelector struct {
	IDs []string
	// TagKey and TagValue select every security group tagged TagKey=TagValue.
	TagKey   string
	TagValue string
}

// ResolveGroups returns the IDs of the selected security groups, sorted and without duplicates.
//
// Listed IDs cost one paginated DescribeSecurityGroups listing by ID, which also proves they
// exist: an ID that does not is an error naming it (AWS code InvalidGroup.NotFound, terminal).
// A tag costs one more listing by tag filter. Every selected group is checked for
// GroupTagCluster: a group tagged for a cluster other than the client's owner is refused with
// an error wrapping ErrForeignGroup that names the group and the cluster, and nothing is
// returned, so nothing can be written. Selecting nothing is an error wrapping ErrNoGroups.
func (c *Client) ResolveGroups(ctx context.Context, sel GroupSelector) ([]string, error) {
	for _, id := range sel.IDs {
		if !strings.HasPrefix(id, "sg-") {
			return nil, fmt.Errorf("security group ID %q: %w", id, ErrInvalidGroupID)
		}
	}
	var groups []types.SecurityGroup
	if len(sel.IDs) > 0 {
		ids := slices.Clone(sel.IDs)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		got, err := c.describeGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: ids})
		if err != nil {
			return nil, fmt.Errorf("describe security groups %s: %w", strings.Join(ids, ", "), err)
		}
		for _, id := range ids {
			if !slices.ContainsFunc(got, func(g types.SecurityGroup) bool { return aws.ToString(g.GroupId) == id }) {
				return nil, fmt.Errorf("security group %s: %w", id, groupNotFound(id))
			}
		}
		groups = append(groups, got...)
	}
	if sel.TagKey != "" {
		got, err := c.describeGroups(ctx, &ec2.DescribeSecurityGroupsInput{
			Filters: []types.Filter{{Name: aws.String("tag:" + sel.TagKey), Values: []string{sel.TagValue}}},
		})
		if err != nil {
			return nil, fmt.Errorf("describe security groups tagged %s=%s: %w", sel.TagKey, sel.TagValue, err)
		}
		groups = append(groups, got...)
	}

	var ids, foreign []string
	for _, g := range groups {
		id := aws.ToString(g.GroupId)
		ids = append(ids, id)
		if cluster, ok := groupCluster(g); ok && cluster != c.owner.Cluster {
			foreign = append(foreign, fmt.Sprintf("%s (%s=%q)", id, GroupTagCluster, cluster))
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(foreign) > 0 {
		slices.Sort(foreign)
		foreign = slices.Compact(foreign)
		return nil, fmt.Errorf("cluster %q: refusing security groups tagged for another cluster: %s: %w",
			c.owner.Cluster, strings.Join(foreign, ", "), ErrForeignGroup)
	}
	if len(ids) == 0 {
		if sel.TagKey != "" {
			return nil, fmt.Errorf("no security group tagged %s=%s: %w", sel.TagKey, sel.TagValue, ErrNoGroups)
		}
		return nil, ErrNoGroups
	}
	return ids, nil
}

// describeGroups reads every page of one DescribeSecurityGroups listing.
func (c *Client) describeGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput) ([]types.SecurityGroup, error) {
	var out []types.SecurityGroup
	pages := ec2.NewDescribeSecurityGroupsPaginator(c.api, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.SecurityGroups...)
	}
	return out, nil
}

// groupCluster returns the value of g's GroupTagCluster tag, and whether it has one.
func groupCluster(g types.SecurityGroup) (string, bool) {
	for _, t := range g.Tags {
		if aws.ToString(t.Key) == GroupTagCluster {
			return aws.ToString(t.Value), true
		}
	}
	return "", false
}
