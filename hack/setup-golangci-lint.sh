#!/usr/bin/env bash
# Builds golangci-lint at a pinned version from the Go module proxy into
# bin/golangci-lint/<version>/ and prints the binary's path:
#
#   GOLANGCI_LINT="$(hack/setup-golangci-lint.sh)"
#
# No release binary is downloaded: `go install module@version` builds it outside the project's
# go.mod, so the project never depends on the linters' modules. The stamp file holds the version
# and the Go it was built with: golangci-lint refuses code whose go.mod names a newer Go than
# its own build, so a Go upgrade rebuilds it. Later calls reuse the binary.
set -euo pipefail

# v2.15.0 is the newest release tested here; its go.mod needs go 1.26.0.
GOLANGCI_LINT_VERSION="${GOLANGCI_LINT_VERSION:-v2.15.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${root}/bin/golangci-lint/${GOLANGCI_LINT_VERSION}"
bin="${out}/golangci-lint"
stamp="${out}/.version"

log() { echo "setup-golangci-lint: $*" >&2; }
command -v go >/dev/null || { log "go is not on PATH"; exit 1; }
want="${GOLANGCI_LINT_VERSION} $(go env GOVERSION)"

if [[ -x "${bin}" && -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then
  echo "${bin}"
  exit 0
fi

mkdir -p "${out}"
rm -f "${stamp}"
log "building golangci-lint ${GOLANGCI_LINT_VERSION} (first build takes minutes)"
# go install pkg@version ignores the current module; GOFLAGS from the project would not apply.
GOBIN="${out}" GOFLAGS= GOWORK=off CGO_ENABLED=0 \
  go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@${GOLANGCI_LINT_VERSION}" >&2
echo "${want}" > "${stamp}"
log "done: ${bin}"
echo "${bin}"
