package awsclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/targetsync/targetsync/pkg/metrics"
)

// MaxAttempts is how often the SDK tries one request before it gives up.
const MaxAttempts = 5

// Options configures Load.
type Options struct {
	// Region is used when neither the environment nor the shared config names one.
	Region string
	// AppID goes into the user agent, e.g. "targetsync/v1.2.3".
	AppID string
	// Metrics receives a count and a duration for every request attempt; nil turns that off.
	Metrics *metrics.Metrics
	// Throttle overrides DefaultThrottle when not nil.
	Throttle Throttle
	// Rules come before Throttle: the first that matches an operation limits it.
	Rules []ThrottleRule
}

// Load builds the shared aws.Config. It honours AWS_REGION, AWS_PROFILE, the default credential
// chain (environment, shared files, web identity for IRSA, IMDS) and AWS_ENDPOINT_URL with its
// per-service variants (AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2, AWS_ENDPOINT_URL_EC2).
func Load(ctx context.Context, o Options) (aws.Config, error) {
	throttle := o.Throttle
	if throttle == nil {
		throttle = DefaultThrottle()
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = MaxAttempts
				so.MaxBackoff = 20 * time.Second
			})
		}),
		config.WithAppID(o.AppID),
		config.WithAPIOptions([]func(*middleware.Stack) error{
			limits{rules: o.Rules, throttle: throttle}.middleware,
			observe(o.Metrics),
		}),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = o.Region
	}
	return cfg, nil
}

// observe counts and times every attempt. It sits after the retry middleware, so each retry is
// one more call, and throttling shows up as its own code.
func observe(m *metrics.Metrics) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		if m == nil {
			return nil
		}
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("targetsyncMetrics",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				start := time.Now()
				out, md, err := next.HandleFinalize(ctx, in)
				service, op := serviceLabel(awsmiddleware.GetServiceID(ctx)), awsmiddleware.GetOperationName(ctx)
				m.AWSAPICalls.WithLabelValues(service, op, Code(err)).Inc()
				m.AWSAPICallDuration.WithLabelValues(service, op).Observe(time.Since(start).Seconds())
				return out, md, err
			}), middleware.After)
	}
}

// serviceLabel turns the SDK's service ID ("Elastic Load Balancing v2") into a label value
// ("elasticloadbalancingv2"), the same as the SDK's package name.
func serviceLabel(id string) string {
	return strings.ToLower(strings.ReplaceAll(id, " ", ""))
}

// Code is the metrics code of an AWS call's outcome: OK, the API error code, or a class.
func Code(err error) string {
	if err == nil {
		return "OK"
	}
	var apiErr smithy.APIError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.ErrorCode()
	case errors.Is(err, context.Canceled):
		return "Canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "Timeout"
	default:
		return "ClientError"
	}
}
