# syntax=docker/dockerfile:1
# targetsync image: a static binary on distroless, run as the nonroot user.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t targetsync .

FROM golang:1.26 AS build
WORKDIR /src

# Modules first, in their own layer: it is rebuilt only when go.mod or go.sum change, not on every
# source edit.
COPY go.mod go.sum ./
RUN go mod download

COPY cmd/ cmd/
COPY pkg/ pkg/
ARG VERSION=dev
# Static (no libc in the final image), reproducible paths, no symbol tables, version stamped for
# `targetsync version` and the AWS user agent.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/targetsync ./cmd/targetsync

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/targetsync /targetsync
# The nonroot user (65532); the Deployment's runAsUser matches it.
USER nonroot
ENTRYPOINT ["/targetsync"]
CMD ["run"]
