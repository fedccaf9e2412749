# Tor publishing the relay as an onion service. BASE is overridable so the stack
# builds where no registry is reachable (docker-compose.local.yml).
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN apt-get update -qq && apt-get install -y -qq tor && rm -rf /var/lib/apt/lists/*
COPY tor-start.sh /start.sh
USER debian-tor
ENTRYPOINT ["/start.sh"]
