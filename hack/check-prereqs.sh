#!/usr/bin/env bash
# Checks the tools a make target needs before it builds anything, and prints how to get each
# missing one. The Makefile runs it when it reads the goals, so `make lint test` stops at once,
# never half-way through a build.
#
#   hack/check-prereqs.sh go          # make unit, lint, build, ...: Go only
#   hack/check-prereqs.sh go gcc moto # make test, demo, integration, deploy-test: also gcc and moto
#
#   go    the Go that go.mod names, or newer (no toolchain download: GOTOOLCHAIN=local)
#   gcc   a C compiler, which `go test -race` needs (cgo)
#   moto  moto_server on PATH: the AWS side of the tests. It is not built or downloaded here.
set -uo pipefail

# The moto release the tests are run against.
MOTO_VERSION="5.2.1"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
missing=0
fail() { echo "check-prereqs: $*" >&2; missing=1; }

check_go() {
  local want have
  want="$(awk '$1 == "go" { print $2; exit }' "${root}/go.mod")"
  if ! command -v go >/dev/null; then
    fail "go is not on PATH; install Go ${want} or newer: https://go.dev/doc/install"
    return
  fi
  have="$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null)"
  have="${have#go}"
  have="${have%%[!0-9.]*}" # go1.27rc1 -> 1.27
  if [[ "$(printf '%s\n%s\n' "${want}" "${have}" | sort -V | head -1)" != "${want}" ]]; then
    fail "go ${have:-unknown} is older than go.mod's go ${want}; install Go ${want} or newer: https://go.dev/doc/install"
  fi
}

check_gcc() {
  local cc
  cc="$(go env CC 2>/dev/null)"
  cc="${cc:-gcc}"
  command -v "${cc%% *}" >/dev/null ||
    fail "no C compiler (${cc}): go test -race needs cgo; install it: apt-get install gcc"
}

check_moto() {
  command -v moto_server >/dev/null ||
    fail "moto_server is not on PATH: the moto-backed tests need it; install it: pip install 'moto[server]==${MOTO_VERSION}'"
}

[[ $# -gt 0 ]] || set -- go
for what in "$@"; do
  case "${what}" in
    go) check_go ;;
    gcc) check_gcc ;;
    moto) check_moto ;;
    *) echo "check-prereqs: unknown check ${what} (go, gcc, moto)" >&2; exit 2 ;;
  esac
done
exit "${missing}"
