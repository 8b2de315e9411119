// Package deploy checks what targetsync ships for running it: the kustomize manifests against a
// real kube-apiserver, the alerting rules with promtool, the Grafana dashboard, the IAM policy
// against the AWS calls the code makes, and the Dockerfile's build. Each check runs the real tool
// (kubectl, kube-apiserver, promtool, go build); a missing tool fails the test, it never skips.
package deploy
