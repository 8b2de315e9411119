#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, etcd, kubectl) from the Go module proxy into
# bin/k8s/<version>/ and prints that directory, ready for KUBEBUILDER_ASSETS:
#
#   export KUBEBUILDER_ASSETS="$(hack/setup-envtest.sh)"
#
# No release tarballs are downloaded. A throwaway wrapper module (outside the project's go.mod)
# requires k8s.io/kubernetes at K8S_VERSION and pins each k8s.io/* staging module, which
# kubernetes' own go.mod requires at v0.0.0, to the matching v0.MINOR.PATCH. etcd is built at
# the version kubernetes requires. Binaries already built for the version are reused.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${root}/bin/k8s/${K8S_VERSION}"
stamp="${out}/.version"

if [[ -x "${out}/kube-apiserver" && -x "${out}/etcd" && -x "${out}/kubectl" && -f "${stamp}" \
      && "$(cat "${stamp}")" == "${K8S_VERSION}" ]]; then
  echo "${out}"
  exit 0
fi

log() { echo "setup-envtest: $*" >&2; }
command -v go >/dev/null || { log "go is not on PATH"; exit 1; }

staging_version="v0.${K8S_VERSION#*.}"
work="${root}/bin/.envtest-build/${K8S_VERSION}"
mkdir -p "${work}" "${out}"
cd "${work}"

export GOFLAGS="-mod=mod"
export GOWORK=off
kmod="$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[[ -f "${kmod}" ]] || { log "could not download k8s.io/kubernetes@v${K8S_VERSION}"; exit 1; }
etcd_version="$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' "${kmod}")"
[[ -n "${etcd_version}" ]] || { log "k8s.io/kubernetes@v${K8S_VERSION} names no etcd server version"; exit 1; }

{
  echo "module targetsync.local/envtest-build"
  echo
  echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')"
  echo
  echo "require k8s.io/kubernetes v${K8S_VERSION}"
  echo
  # Every k8s.io/* module that kubernetes requires at v0.0.0 is a staging module: pin it.
  awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "${kmod}" | sort -u |
    while read -r m; do echo "replace ${m} => ${m} ${staging_version}"; done
} > go.mod

log "building kube-apiserver and kubectl v${K8S_VERSION}, etcd ${etcd_version} (first build takes minutes)"
go get "k8s.io/kubernetes/cmd/kube-apiserver@v${K8S_VERSION}" "k8s.io/kubernetes/cmd/kubectl@v${K8S_VERSION}" \
  "go.etcd.io/etcd/server/v3@${etcd_version}" >&2
go build -trimpath -o "${out}/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
go build -trimpath -o "${out}/kubectl" k8s.io/kubernetes/cmd/kubectl >&2
go build -trimpath -o "${out}/etcd" go.etcd.io/etcd/server/v3 >&2
echo "${K8S_VERSION}" > "${stamp}"
log "done: ${out}"
echo "${out}"
