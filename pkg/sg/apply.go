package sg

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// MaxRulesPerCall bounds one AuthorizeSecurityGroupIngress or RevokeSecurityGroupIngress
// request. AWS accepts more, but a bounded request keeps a failure small and the retry cheap.
const MaxRulesPerCall = 20

// maxFilterValues is the most values EC2 accepts in one filter.
const maxFilterValues = 200

// Describe reads the ingress rules of the security groups ids, in one paginated
// DescribeSecurityGroupRules listing for all of them. The groups come back in the order of ids,
// each with its rules sorted; a group AWS reports no rules for comes back empty.
func (c *Client) Describe(ctx context.Context, ids ...string) ([]Group, error) {
	byID := make(map[string]*Group, len(ids))
	groups := make([]Group, len(ids))
	for i, id := range ids {
		groups[i].ID = id
		byID[id] = &groups[i]
	}
	for start := 0; start < len(ids); start += maxFilterValues {
		batch := ids[start:min(start+maxFilterValues, len(ids))]
		pages := ec2.NewDescribeSecurityGroupRulesPaginator(c.api, &ec2.DescribeSecurityGroupRulesInput{
			Filters:    []types.Filter{{Name: aws.String("group-id"), Values: batch}},
			MaxResults: aws.Int32(1000),
		})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describe security group rules of %v: %w", batch, err)
			}
			for _, r := range page.SecurityGroupRules {
				g, ok := byID[aws.ToString(r.GroupId)]
				if !ok || aws.ToBool(r.IsEgress) {
					continue
				}
				g.Rules = append(g.Rules, c.observe(r))
			}
		}
	}
	for i := range groups {
		slices.SortFunc(groups[i].Rules, Observed.Compare)
	}
	return groups, nil
}

// observe converts one SDK rule into an Observed, deciding ownership on the way. Rules whose
// source is not a CIDR keep a zero CIDR and are never owned: we never write such rules.
func (c *Client) observe(r types.SecurityGroupRule) Observed {
	o := Observed{
		Rule: Rule{
			Protocol: normalizeProtocol(aws.ToString(r.IpProtocol)),
			FromPort: aws.ToInt32(r.FromPort),
			ToPort:   aws.ToInt32(r.ToPort),
		},
		ID:          aws.ToString(r.SecurityGroupRuleId),
		Description: aws.ToString(r.Description),
	}
	cidr := aws.ToString(r.CidrIpv4)
	if cidr == "" {
		cidr = aws.ToString(r.CidrIpv6)
	}
	if p, err := netip.ParsePrefix(cidr); err == nil {
		o.CIDR = p.Masked()
	}
	tags := make(map[string]string, len(r.Tags))
	for _, t := range r.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	o.Owned = o.CIDR.IsValid() && c.owner.Owns(o.Description, tags)
	return o
}

// Result says what Apply changed, for metrics, logs and Outcome.After. Rules that turned out to
// exist already, or to be gone already, are neither counted nor listed: this call did not
// change them, and the next read shows them as they are.
type Result struct {
	Authorized int
	Revoked    int
	// RevokedFirst is set when the group was full and stale rules were revoked to make room.
	RevokedFirst bool
	// AuthorizedRules are the rules this call added, in the order added; Authorized counts them.
	AuthorizedRules []Rule
	// RevokedRules are the rules this call removed, in the order removed; Revoked counts them.
	RevokedRules []Observed
}

// Empty reports whether nothing was changed.
func (r Result) Empty() bool { return r.Authorized == 0 && r.Revoked == 0 }

func (r *Result) added(rules ...Rule) {
	r.Authorized += len(rules)
	r.AuthorizedRules = append(r.AuthorizedRules, rules...)
}

func (r *Result) removed(rules ...Observed) {
	r.Revoked += len(rules)
	r.RevokedRules = append(r.RevokedRules, rules...)
}

// Apply carries out p: it authorizes first and revokes last, so that moving to a new NodePort
// opens the new port before it closes the old one.
//
// A rule that turns out to exist already, or to be gone already, is done and not an error; the
// Result counts only what this call changed.
// When the group is full, Apply revokes the plan's stale rules first and retries the remaining
// authorizations once; if the group is still full it returns a *RuleLimitError. It stops at the
// first other error; what was done is in the Result and the next reconcile plans the rest.
func (c *Client) Apply(ctx context.Context, p Plan) (Result, error) {
	var res Result
	for _, r := range p.Revoke {
		if !r.Owned || r.ID == "" {
			return res, fmt.Errorf("security group %s: rule %s: %w", p.SecurityGroupID, r, ErrNotOwned)
		}
	}
	pending, err := c.authorize(ctx, p.SecurityGroupID, p.Authorize, &res)
	if isRuleLimit(err) && len(p.Revoke) > 0 {
		if err := c.revoke(ctx, p.SecurityGroupID, p.Revoke, &res); err != nil {
			return res, err
		}
		res.RevokedFirst = true
		pending, err = c.authorize(ctx, p.SecurityGroupID, pending, &res)
	}
	if isRuleLimit(err) {
		return res, &RuleLimitError{SecurityGroupID: p.SecurityGroupID, Pending: len(pending), RevokedFirst: res.RevokedFirst, Err: err}
	}
	if err != nil || res.RevokedFirst {
		return res, err
	}
	return res, c.revoke(ctx, p.SecurityGroupID, p.Revoke, &res)
}

// authorize adds rules in bounded chunks. On error it returns the rules not yet added.
func (c *Client) authorize(ctx context.Context, group string, rules []Rule, res *Result) ([]Rule, error) {
	for start := 0; start < len(rules); start += MaxRulesPerCall {
		chunk := rules[start:min(start+MaxRulesPerCall, len(rules))]
		err := c.authorizeCall(ctx, group, chunk)
		switch {
		case err == nil:
			res.added(chunk...)
			continue
		case !isDuplicate(err):
			return rules[start:], err
		case len(chunk) == 1:
			continue
		}
		// One duplicate fails the whole request. Someone added a rule since we read the group;
		// add the chunk one rule at a time so the others still go in.
		for i, r := range chunk {
			switch err := c.authorizeCall(ctx, group, []Rule{r}); {
			case err == nil:
				res.added(r)
			case !isDuplicate(err):
				return rules[start+i:], err
			}
		}
	}
	return nil, nil
}

func (c *Client) authorizeCall(ctx context.Context, group string, rules []Rule) error {
	desc := aws.String(c.owner.Description())
	perms := make([]types.IpPermission, len(rules))
	for i, r := range rules {
		perms[i] = types.IpPermission{
			IpProtocol: aws.String(r.Protocol),
			FromPort:   aws.Int32(r.FromPort),
			ToPort:     aws.Int32(r.ToPort),
		}
		if r.CIDR.Addr().Is4() {
			perms[i].IpRanges = []types.IpRange{{CidrIp: aws.String(r.CIDR.String()), Description: desc}}
		} else {
			perms[i].Ipv6Ranges = []types.Ipv6Range{{CidrIpv6: aws.String(r.CIDR.String()), Description: desc}}
		}
	}
	_, err := c.api.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId:       aws.String(group),
		IpPermissions: perms,
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeSecurityGroupRule,
			Tags:         []types.Tag{{Key: aws.String(OwnerTagKey), Value: aws.String(c.owner.Cluster)}},
		}},
	})
	if err != nil {
		return fmt.Errorf("authorize %d rules on %s: %w", len(rules), group, err)
	}
	return nil
}

// revoke removes owned rules by ID in bounded chunks.
func (c *Client) revoke(ctx context.Context, group string, rules []Observed, res *Result) error {
	for start := 0; start < len(rules); start += MaxRulesPerCall {
		chunk := rules[start:min(start+MaxRulesPerCall, len(rules))]
		err := c.revokeCall(ctx, group, chunk)
		switch {
		case err == nil:
			res.removed(chunk...)
			continue
		case !isGone(err):
			return err
		case len(chunk) == 1:
			continue
		}
		// One missing rule fails the whole request. Someone removed a rule since we read the
		// group; revoke the chunk one rule at a time so the others still go.
		for _, r := range chunk {
			switch err := c.revokeCall(ctx, group, []Observed{r}); {
			case err == nil:
				res.removed(r)
			case !isGone(err):
				return err
			}
		}
	}
	return nil
}

func (c *Client) revokeCall(ctx context.Context, group string, rules []Observed) error {
	ids := make([]string, len(rules))
	for i, r := range rules {
		ids[i] = r.ID
	}
	if _, err := c.api.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
		GroupId:              aws.String(group),
		SecurityGroupRuleIds: ids,
	}); err != nil {
		return fmt.Errorf("revoke %d rules from %s: %w", len(rules), group, err)
	}
	return nil
}
