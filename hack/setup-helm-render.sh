#!/usr/bin/env bash
# Builds hack/helm-render, a `helm template` made of Helm's Go SDK, into
# bin/helm-render/<helm version>/ and prints the binary's path:
#
#   HELM_RENDER="$(hack/setup-helm-render.sh)"
#   "$HELM_RENDER" targetsync deploy/helm/targetsync -n targetsync --set clusterName=my-cluster
#
# test/deploy renders deploy/helm/targetsync with it, and `make manifests` regenerates
# deploy/manifests with it. hack/helm-render is a module of its own (go.mod, go.sum), so the
# project's go.mod never depends on Helm and its dependencies. Measured on a clean machine:
# this build takes about 225 s of CPU, once per machine (the binary is reused); requiring
# helm.sh/helm/v3 from the project's test code instead cost only about 30 s more CPU for the test
# binary, but added 124 modules to the project's graph (go.sum 198 -> 466 lines, about 260 MB
# more for every go mod download, the Dockerfile's included) and would tie the project's
# Kubernetes modules to Helm's releases. No helm release binary is
# downloaded: the modules come from the Go module proxy. The stamp file holds the Helm version,
# the Go version and a hash of the renderer's files, so a change to any of them rebuilds it;
# later calls reuse the binary.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${root}/hack/helm-render"
helm_version="$(awk '{ for (i = 1; i < NF; i++) if ($i == "helm.sh/helm/v3") { print $(i + 1); exit } }' "${src}/go.mod")"
[[ -n "${helm_version}" ]] || { echo "setup-helm-render: ${src}/go.mod requires no helm.sh/helm/v3" >&2; exit 1; }
out="${root}/bin/helm-render/${helm_version}"
bin="${out}/helm-render"
stamp="${out}/.version"

log() { echo "setup-helm-render: $*" >&2; }
command -v go >/dev/null || { log "go is not on PATH"; exit 1; }
want="${helm_version} $(go env GOVERSION) $(cat "${src}/go.mod" "${src}/go.sum" "${src}/main.go" | sha256sum | cut -c1-16)"

if [[ -x "${bin}" && -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then
  echo "${bin}"
  exit 0
fi

mkdir -p "${out}"
rm -f "${stamp}"
log "building helm-render with helm.sh/helm/v3 ${helm_version} (first build takes minutes)"
(cd "${src}" && GOFLAGS=-mod=readonly GOWORK=off CGO_ENABLED=0 go build -trimpath -o "${bin}" .) >&2
echo "${want}" > "${stamp}"
log "done: ${bin}"
echo "${bin}"
