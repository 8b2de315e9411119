#!/usr/bin/env bash
# Builds promtool, the checker and unit-test runner for the alerting rules in deploy/prometheus/,
# from the Go module proxy into bin/promtool/<version>/ and prints the binary's path:
#
#   PROMTOOL="$(hack/setup-promtool.sh)"
#
# No release tarball is downloaded. A throwaway wrapper module under bin/ (outside the project's
# go.mod, so the project never depends on Prometheus) requires github.com/prometheus/prometheus
# at PROMETHEUS_VERSION and builds its cmd/promtool. A binary already built for the version is
# reused, so only the first call pays for the build.
set -euo pipefail

PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${root}/bin/promtool/${PROMETHEUS_VERSION}"
bin="${out}/promtool"
stamp="${out}/.version"

if [[ -x "${bin}" && -f "${stamp}" && "$(cat "${stamp}")" == "${PROMETHEUS_VERSION}" ]]; then
  echo "${bin}"
  exit 0
fi

log() { echo "setup-promtool: $*" >&2; }
command -v go >/dev/null || { log "go is not on PATH"; exit 1; }

work="${root}/bin/.promtool-build/${PROMETHEUS_VERSION}"
mkdir -p "${work}" "${out}"
cd "${work}"

export GOFLAGS="-mod=mod"
export GOWORK=off
{
  echo "module targetsync.local/promtool-build"
  echo
  echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')"
  echo
  echo "require github.com/prometheus/prometheus ${PROMETHEUS_VERSION}"
} > go.mod

# The module is versioned v0.3MINOR.PATCH for the Prometheus 3.MINOR.PATCH release; stamp that
# into `promtool --version` so a bug report names the release people know.
release="$(echo "${PROMETHEUS_VERSION}" | sed -n 's/^v0\.3\([0-9][0-9]\)\.\([0-9]*\)$/3.\1.\2/p' | sed 's/^3\.0\([0-9]\)/3.\1/')"
release="${release:-${PROMETHEUS_VERSION}}"

log "building promtool from github.com/prometheus/prometheus@${PROMETHEUS_VERSION} (first build takes minutes)"
go get "github.com/prometheus/prometheus/cmd/promtool@${PROMETHEUS_VERSION}" >&2
go build -trimpath \
  -ldflags "-X github.com/prometheus/common/version.Version=${release} -X github.com/prometheus/common/version.Branch=module -X github.com/prometheus/common/version.Revision=${PROMETHEUS_VERSION}" \
  -o "${bin}" github.com/prometheus/prometheus/cmd/promtool >&2
echo "${PROMETHEUS_VERSION}" > "${stamp}"
log "done: ${bin}"
echo "${bin}"
