#!/usr/bin/env bash
# Builds promtool, the checker and unit-test runner for the alerting rules in deploy/prometheus/,
# from the Go module proxy into bin/promtool/<version>/ and prints the binary's path:
#
#   PROMTOOL="$(hack/setup-promtool.sh)"
#
# No release tarball is downloaded. A throwaway wrapper module under bin/ (outside the project's
# go.mod, so the project never depends on Prometheus) requires github.com/prometheus/prometheus
# at PROMETHEUS_VERSION and builds its cmd/promtool. A binary already built for the version and
# the build tags is reused, so only the first call pays for the build.
#
# PROMTOOL_TAGS defaults to remove_all_sd, Prometheus' own build tag that leaves out every
# service-discovery plugin (AWS, Azure, GCE, Kubernetes, ...): `check rules` and `test rules`
# use none of them, and without them the build needs a fraction of the time and memory. The
# tags are written into the stamp file, so a binary built with other tags is rebuilt.
set -euo pipefail

PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
PROMTOOL_TAGS="${PROMTOOL_TAGS-remove_all_sd}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${root}/bin/promtool/${PROMETHEUS_VERSION}"
bin="${out}/promtool"
stamp="${out}/.version"
want="${PROMETHEUS_VERSION} tags=${PROMTOOL_TAGS}"

if [[ -x "${bin}" && -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then
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

log "building promtool from github.com/prometheus/prometheus@${PROMETHEUS_VERSION}, tags '${PROMTOOL_TAGS}' (first build takes minutes)"
rm -f "${stamp}"
go get "github.com/prometheus/prometheus/cmd/promtool@${PROMETHEUS_VERSION}" >&2
go build -trimpath -tags "${PROMTOOL_TAGS}" \
  -ldflags "-X github.com/prometheus/common/version.Version=${release} -X github.com/prometheus/common/version.Branch=module -X github.com/prometheus/common/version.Revision=${PROMETHEUS_VERSION}" \
  -o "${bin}" github.com/prometheus/prometheus/cmd/promtool >&2
echo "${want}" > "${stamp}"
log "done: ${bin}"
echo "${bin}"
