package sg

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// API is the part of the EC2 client this package uses, with the SDK's exact signatures so that
// *ec2.Client satisfies it unchanged, the SDK paginators accept it, and tests can hand in a fake.
type API interface {
	DescribeSecurityGroupRules(ctx context.Context, in *ec2.DescribeSecurityGroupRulesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error)
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
	DescribeVpcs(ctx context.Context, in *ec2.DescribeVpcsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error)
	DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
	AuthorizeSecurityGroupIngress(ctx context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error)
	RevokeSecurityGroupIngress(ctx context.Context, in *ec2.RevokeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error)
}

var _ API = (*ec2.Client)(nil)

// Client reads and changes one kind of thing: the ingress rules targetsync owns on worker
// security groups, plus the look-ups that decide what those rules should be.
type Client struct {
	api   API
	owner Owner
}

// NewClient returns a Client that talks to AWS through api and acts on the rules marked as
// owner's. It fails when owner cannot be written into a rule description, because a rule we
// cannot mark is a rule we could never safely take back.
func NewClient(api API, owner Owner) (*Client, error) {
	if err := owner.Validate(); err != nil {
		return nil, err
	}
	return &Client{api: api, owner: owner}, nil
}

// Owner returns the owner whose rules this client manages.
func (c *Client) Owner() Owner { return c.owner }
