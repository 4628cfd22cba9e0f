# syntax=docker/dockerfile:1
# Heartbeat Monitor: one static binary on Alpine, running as an unprivileged user, with
# its data (SQLite files, backups) in the /pb_data volume.
#
#   docker build -t heartbeat-monitor .
#   docker run -d --name heartbeat -p 8090:8090 -v heartbeat-data:/pb_data heartbeat-monitor
#   docker exec heartbeat heartbeat-monitor superuser upsert you@example.com 'a-long-password' --dir /pb_data

FROM golang:1.27-alpine AS build
WORKDIR /src
# go.mod asks for an exact Go (1.27.3); the image's GOTOOLCHAIN=local would refuse an
# older 1.27.x instead of fetching that one.
ENV GOTOOLCHAIN=auto
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/heartbeat-monitor .

FROM alpine:3.22
# ca-certificates: outgoing HTTPS (SMTP, S3 backups, alert webhooks); tzdata: cron in
# local time if TZ is set. busybox's wget serves the health check.
RUN apk add --no-cache ca-certificates tzdata \
    && addgroup -S -g 10001 heartbeat \
    && adduser -S -D -H -u 10001 -G heartbeat -h /pb_data -s /bin/sh heartbeat \
    && mkdir -p /pb_data && chown heartbeat:heartbeat /pb_data
COPY --from=build /out/heartbeat-monitor /usr/local/bin/heartbeat-monitor

# A numeric user, so that Kubernetes' runAsNonRoot can check it, and Fly.io mounts the
# volume owned by it.
USER 10001:10001
# The binary's default data dir is ./pb_data when it is run by name, as in `docker exec
# ... heartbeat-monitor superuser ...`: from / that is the volume.
WORKDIR /
VOLUME ["/pb_data"]
EXPOSE 8090
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD wget -q -O /dev/null http://127.0.0.1:8090/api/health || exit 1
ENTRYPOINT ["/usr/local/bin/heartbeat-monitor"]
# PB_ENCRYPTION_KEY, when set (32 characters), encrypts the settings stored in the
# database (SMTP and S3 passwords); unset, they are stored as they are.
CMD ["serve", "--http", "0.0.0.0:8090", "--dir", "/pb_data", "--encryptionEnv", "PB_ENCRYPTION_KEY"]
