package sg

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// counting wraps an API and counts calls per operation, to prove what a reconcile costs. It
// also records the order of the mutating calls, to prove authorize comes before revoke.
type counting struct {
	API
	mu        sync.Mutex
	calls     map[string]int
	mutations []string
}

func (c *counting) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
	if op == authorize || op == revoke {
		c.mutations = append(c.mutations, op)
	}
}

// take returns the counts and the mutating calls so far and starts again from zero.
func (c *counting) take() (map[string]int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls, muts := c.calls, c.mutations
	c.calls, c.mutations = map[string]int{}, nil
	return calls, muts
}

func (c *counting) DescribeSecurityGroupRules(ctx context.Context, in *ec2.DescribeSecurityGroupRulesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupRulesOutput, error) {
	c.count("DescribeSecurityGroupRules")
	return c.API.DescribeSecurityGroupRules(ctx, in, optFns...)
}

func (c *counting) DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	c.count("DescribeSecurityGroups")
	return c.API.DescribeSecurityGroups(ctx, in, optFns...)
}

func (c *counting) DescribeVpcs(ctx context.Context, in *ec2.DescribeVpcsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	c.count("DescribeVpcs")
	return c.API.DescribeVpcs(ctx, in, optFns...)
}

func (c *counting) DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	c.count("DescribeNetworkInterfaces")
	return c.API.DescribeNetworkInterfaces(ctx, in, optFns...)
}

func (c *counting) AuthorizeSecurityGroupIngress(ctx context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
	c.count(authorize)
	return c.API.AuthorizeSecurityGroupIngress(ctx, in, optFns...)
}

func (c *counting) RevokeSecurityGroupIngress(ctx context.Context, in *ec2.RevokeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error) {
	c.count(revoke)
	return c.API.RevokeSecurityGroupIngress(ctx, in, optFns...)
}
