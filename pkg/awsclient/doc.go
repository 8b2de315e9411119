// Package awsclient is the one place that builds the aws.Config every AWS client shares: the
// SDK's default credential chain and endpoint variables, the standard retryer with explicit
// attempts, a client-side throttle per operation, metrics per attempt, and the user agent.
package awsclient
