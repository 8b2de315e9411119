package sg

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Source kinds, as written in configuration.
const (
	// SourceVPCCIDR is every IPv4 CIDR block associated with the VPC, secondary blocks included.
	SourceVPCCIDR = "vpc-cidr"
	// SourceNLBPrivateIPs is the private IPv4 address of each of the load balancer's network
	// interfaces, as a /32. Health checks always come from these, and so does traffic when
	// client IP preservation is off.
	SourceNLBPrivateIPs = "nlb-private-ips"
	// SourceCIDR is one literal CIDR, written "cidr:10.0.0.0/16".
	SourceCIDR = "cidr"
)

// Source is one place the load balancer's traffic may come from.
type Source struct {
	Kind string
	// CIDR is set for SourceCIDR only.
	CIDR netip.Prefix
}

// ParseSource reads "vpc-cidr", "nlb-private-ips" or "cidr:<a.b.c.d/n>".
func ParseSource(s string) (Source, error) {
	switch {
	case s == SourceVPCCIDR || s == SourceNLBPrivateIPs:
		return Source{Kind: s}, nil
	case strings.HasPrefix(s, SourceCIDR+":"):
		p, err := netip.ParsePrefix(strings.TrimPrefix(s, SourceCIDR+":"))
		if err != nil {
			return Source{}, fmt.Errorf("source %q: %w: %v", s, ErrInvalidSource, err)
		}
		return Source{Kind: SourceCIDR, CIDR: p.Masked()}, nil
	}
	return Source{}, fmt.Errorf("source %q: want %s, %s or %s:<cidr>: %w", s, SourceVPCCIDR, SourceNLBPrivateIPs, SourceCIDR, ErrInvalidSource)
}

// String renders the source as ParseSource reads it.
func (s Source) String() string {
	if s.Kind == SourceCIDR {
		return SourceCIDR + ":" + s.CIDR.String()
	}
	return s.Kind
}

// Scope is what the sources are relative to: the target group's VPC and its load balancer.
type Scope struct {
	VPCID           string
	LoadBalancerARN string
}

// ResolveSources turns sources into CIDRs, sorted and without duplicates. Every source must
// resolve to at least one CIDR: a source that comes back empty is an error wrapping
// ErrNoSources, so that a load balancer still being provisioned delays the reconcile instead of
// shrinking the rules.
func (c *Client) ResolveSources(ctx context.Context, sources []Source, scope Scope) ([]netip.Prefix, error) {
	if len(sources) == 0 {
		return nil, ErrNoSources
	}
	var out []netip.Prefix
	for _, s := range sources {
		var got []netip.Prefix
		var err error
		switch s.Kind {
		case SourceVPCCIDR:
			got, err = c.VPCCIDRs(ctx, scope.VPCID)
		case SourceNLBPrivateIPs:
			got, err = c.LoadBalancerIPs(ctx, scope.LoadBalancerARN)
		case SourceCIDR:
			if !s.CIDR.IsValid() {
				return nil, fmt.Errorf("source %s: %w", s, ErrInvalidSource)
			}
			got = []netip.Prefix{s.CIDR.Masked()}
		default:
			return nil, fmt.Errorf("source kind %q: %w", s.Kind, ErrInvalidSource)
		}
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", s, err)
		}
		if len(got) == 0 {
			return nil, fmt.Errorf("source %s: %w", s, ErrNoSources)
		}
		out = append(out, got...)
	}
	slices.SortFunc(out, netip.Prefix.Compare)
	return slices.Compact(out), nil
}

// VPCCIDRs returns the VPC's primary IPv4 block and every secondary block in state
// associated; blocks being associated or disassociated are left out until they settle.
func (c *Client) VPCCIDRs(ctx context.Context, vpcID string) ([]netip.Prefix, error) {
	if vpcID == "" {
		return nil, fmt.Errorf("no VPC ID: %w", ErrInvalidSource)
	}
	out, err := c.api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpcID}})
	if err != nil {
		return nil, fmt.Errorf("describe VPC %s: %w", vpcID, err)
	}
	if len(out.Vpcs) != 1 {
		return nil, fmt.Errorf("describe VPC %s: %d VPCs returned", vpcID, len(out.Vpcs))
	}
	vpc := out.Vpcs[0]
	var cidrs []netip.Prefix
	add := func(s string) {
		if p, err := netip.ParsePrefix(s); err == nil {
			cidrs = append(cidrs, p.Masked())
		}
	}
	add(aws.ToString(vpc.CidrBlock))
	for _, a := range vpc.CidrBlockAssociationSet {
		if a.CidrBlockState != nil && a.CidrBlockState.State == types.VpcCidrBlockStateCodeAssociated {
			add(aws.ToString(a.CidrBlock))
		}
	}
	slices.SortFunc(cidrs, netip.Prefix.Compare)
	return slices.Compact(cidrs), nil
}

// LoadBalancerIPs returns the private IPv4 addresses of the network load balancer arn as /32s.
// AWS gives each of the load balancer's network interfaces the description
// "ELB net/<name>/<id>", which is how they are found.
func (c *Client) LoadBalancerIPs(ctx context.Context, arn string) ([]netip.Prefix, error) {
	desc, err := ENIDescription(arn)
	if err != nil {
		return nil, err
	}
	pages := ec2.NewDescribeNetworkInterfacesPaginator(c.api, &ec2.DescribeNetworkInterfacesInput{
		Filters: []types.Filter{{Name: aws.String("description"), Values: []string{desc}}},
	})
	var out []netip.Prefix
	add := func(s string) {
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
			out = append(out, netip.PrefixFrom(a, 32))
		}
	}
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe network interfaces %q: %w", desc, err)
		}
		for _, eni := range page.NetworkInterfaces {
			add(aws.ToString(eni.PrivateIpAddress))
			for _, ip := range eni.PrivateIpAddresses {
				add(aws.ToString(ip.PrivateIpAddress))
			}
		}
	}
	slices.SortFunc(out, netip.Prefix.Compare)
	return slices.Compact(out), nil
}

// ENIDescription derives the description AWS gives a network load balancer's network
// interfaces, "ELB net/<name>/<id>", from the load balancer's ARN,
// arn:<partition>:elasticloadbalancing:<region>:<account>:loadbalancer/net/<name>/<id>.
func ENIDescription(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "elasticloadbalancing" {
		return "", fmt.Errorf("load balancer %q: %w", arn, ErrInvalidARN)
	}
	res := strings.Split(parts[5], "/")
	if len(res) != 4 || res[0] != "loadbalancer" || res[1] != "net" || res[2] == "" || res[3] == "" {
		return "", fmt.Errorf("load balancer %q: %w", arn, ErrInvalidARN)
	}
	return "ELB net/" + res[2] + "/" + res[3], nil
}
