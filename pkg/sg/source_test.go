package sg

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

const testLB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/ingress/50dc6c495c0c9188"

func TestParseSource(t *testing.T) {
	tests := []struct {
		in      string
		want    Source
		wantErr bool
	}{
		{in: "vpc-cidr", want: Source{Kind: SourceVPCCIDR}},
		{in: "nlb-private-ips", want: Source{Kind: SourceNLBPrivateIPs}},
		{in: "cidr:10.0.0.0/16", want: Source{Kind: SourceCIDR, CIDR: mustPrefix("10.0.0.0/16")}},
		{in: "cidr:10.0.3.4/16", want: Source{Kind: SourceCIDR, CIDR: mustPrefix("10.0.0.0/16")}},
		{in: "cidr:10.0.0.0", wantErr: true},
		{in: "cidr:", wantErr: true},
		{in: "10.0.0.0/16", wantErr: true},
		{in: "vpc", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseSource(tt.in)
		if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrInvalidSource)) {
			t.Errorf("ParseSource(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseSource(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if err == nil && got.String() != tt.want.String() {
			t.Errorf("String() = %q", got.String())
		}
	}
}

func TestENIDescription(t *testing.T) {
	tests := []struct {
		arn, want string
	}{
		{testLB, "ELB net/ingress/50dc6c495c0c9188"},
		{"arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:loadbalancer/net/a-b/0123", "ELB net/a-b/0123"},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123", ""},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123", ""},
		{"arn:aws:ec2:us-east-1:123456789012:loadbalancer/net/web/0123", ""},
		{"net/web/0123", ""},
	}
	for _, tt := range tests {
		got, err := ENIDescription(tt.arn)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalidARN) {
				t.Errorf("ENIDescription(%q) = %q, %v; want ErrInvalidARN", tt.arn, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ENIDescription(%q) = %q, %v; want %q", tt.arn, got, err, tt.want)
		}
	}
}

func cidrState(cidr string, state types.VpcCidrBlockStateCode) types.VpcCidrBlockAssociation {
	return types.VpcCidrBlockAssociation{CidrBlock: aws.String(cidr), CidrBlockState: &types.VpcCidrBlockState{State: state}}
}

func eni(desc string, ips ...string) types.NetworkInterface {
	n := types.NetworkInterface{Description: aws.String(desc), PrivateIpAddress: aws.String(ips[0])}
	for _, ip := range ips {
		n.PrivateIpAddresses = append(n.PrivateIpAddresses, types.NetworkInterfacePrivateIpAddress{PrivateIpAddress: aws.String(ip)})
	}
	return n
}

func TestResolveSources(t *testing.T) {
	f := &fakeEC2{pageSize: 1}
	f.vpcs = []types.Vpc{{
		VpcId:     aws.String("vpc-1"),
		CidrBlock: aws.String("10.0.0.0/16"),
		CidrBlockAssociationSet: []types.VpcCidrBlockAssociation{
			cidrState("10.0.0.0/16", types.VpcCidrBlockStateCodeAssociated),
			cidrState("100.64.0.0/16", types.VpcCidrBlockStateCodeAssociated),
			cidrState("10.9.0.0/16", types.VpcCidrBlockStateCodeDisassociated),
			cidrState("10.8.0.0/16", types.VpcCidrBlockStateCodeAssociating),
		},
	}}
	f.enis = []types.NetworkInterface{
		eni("ELB net/ingress/50dc6c495c0c9188", "10.0.1.17"),
		eni("ELB net/ingress/50dc6c495c0c9188", "10.0.2.33"),
		eni("ELB net/other/0000000000000000", "10.0.3.9"),
		eni("primary interface", "10.0.1.5"),
	}
	c := newTestClient(t, f)
	ctx := context.Background()
	scope := Scope{VPCID: "vpc-1", LoadBalancerARN: testLB}
	p := mustPrefix

	tests := []struct {
		name    string
		sources []string
		scope   Scope
		want    []netip.Prefix
		wantErr error
	}{
		{name: "vpc-cidr takes associated blocks only", sources: []string{"vpc-cidr"}, scope: scope,
			want: []netip.Prefix{p("10.0.0.0/16"), p("100.64.0.0/16")}},
		{name: "nlb-private-ips across pages", sources: []string{"nlb-private-ips"}, scope: scope,
			want: []netip.Prefix{p("10.0.1.17/32"), p("10.0.2.33/32")}},
		{name: "all kinds, merged", sources: []string{"cidr:192.168.0.0/24", "nlb-private-ips", "cidr:10.0.0.0/16", "vpc-cidr"}, scope: scope,
			want: []netip.Prefix{p("10.0.0.0/16"), p("10.0.1.17/32"), p("10.0.2.33/32"), p("100.64.0.0/16"), p("192.168.0.0/24")}},
		{name: "load balancer without interfaces", sources: []string{"nlb-private-ips"},
			scope:   Scope{LoadBalancerARN: "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/new/1"},
			wantErr: ErrNoSources},
		{name: "application load balancer", sources: []string{"nlb-private-ips"},
			scope: Scope{LoadBalancerARN: "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/1"}, wantErr: ErrInvalidARN},
		{name: "no VPC", sources: []string{"vpc-cidr"}, wantErr: ErrInvalidSource},
		{name: "nothing", wantErr: ErrNoSources},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sources []Source
			for _, s := range tt.sources {
				src, err := ParseSource(s)
				if err != nil {
					t.Fatal(err)
				}
				sources = append(sources, src)
			}
			got, err := c.ResolveSources(ctx, sources, tt.scope)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ResolveSources() error = %v, want %v", err, tt.wantErr)
			}
			if d := diff(tt.want, got); d != "" {
				t.Errorf("ResolveSources() (-want +got):%s", d)
			}
		})
	}

	f.failNext("DescribeVpcs", apiError("InvalidVpcID.NotFound"))
	if _, err := c.VPCCIDRs(ctx, "vpc-1"); !IsTerminal(err) {
		t.Errorf("VPCCIDRs() of a missing VPC = %v, want a terminal error", err)
	}
}
