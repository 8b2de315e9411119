# syntax=docker/dockerfile:1
# targetsync image: a static binary on distroless, run as the nonroot user, for amd64 and arm64.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t targetsync .
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=$(git describe --tags --always --dirty) -t <registry>/targetsync:<tag> --push .
#
# The build stage runs on the build machine's platform and cross-compiles for the target's
# (Go needs no emulation for that); only the final stage is per platform.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src

# Modules first, in their own layer: it is rebuilt only when go.mod or go.sum change, not on every
# source edit.
COPY go.mod go.sum ./
RUN go mod download

COPY cmd/ cmd/
COPY pkg/ pkg/
ARG VERSION=dev
# Set by BuildKit from --platform: the OS and architecture the binary is built for.
ARG TARGETOS TARGETARCH
# Static (no libc in the final image), reproducible paths, no symbol tables, version stamped for
# `targetsync version` and the AWS user agent.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/targetsync ./cmd/targetsync

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/targetsync /targetsync
# The nonroot user (65532); the Deployment's runAsUser matches it.
USER nonroot
ENTRYPOINT ["/targetsync"]
CMD ["run"]
