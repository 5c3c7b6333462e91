# stampd in a container: built from this source, run as a user of its own, the
# database (and its backups and ACME certificates) in the volume /data, healthy while
# GET /api/v1/status answers. CI does not build this image (see the README).
#
#   docker build -t stampd .
#   docker run -d --name stampd -v stampd-data:/data -p 8080:8080 stampd
#   docker logs stampd          # the first start prints the API token

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/stampd

FROM debian:bookworm-slim
# ca-certificates: HTTPS to Let's Encrypt, mail and wallet services; curl: the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --user-group --home-dir /data --shell /usr/sbin/nologin stampd \
    && install -d -o stampd -g stampd -m 0700 /data
COPY --from=build /src/target/release/stampd /usr/local/bin/stampd
USER stampd
WORKDIR /data
VOLUME /data
# Settings come as STAMPD_* variables (every one is documented in config.toml), e.g.
# -e STAMPD_TLS_DOMAINS=shop.example.com -e STAMPD_BIND=0.0.0.0:80
# -e STAMPD_HTTPS_BIND=0.0.0.0:443 -p 80:80 -p 443:443 for HTTPS by itself.
ENV STAMPD_DATABASE=/data/stampd.db \
    STAMPD_BIND=0.0.0.0:8080
EXPOSE 8080
# On the plain HTTP port, whichever STAMPD_BIND names (with HTTPS on it answers a
# redirect, which counts as up).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${STAMPD_BIND##*:}/api/v1/status" || exit 1
ENTRYPOINT ["stampd"]
CMD ["serve"]
