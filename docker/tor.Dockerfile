# Tor publishing the relay as an onion service. BASE is overridable so the stack
# builds where no registry is reachable (docker-compose.local.yml).
# The start script runs as root to put the onion key from deploy/tor in place;
# Tor itself runs as debian-tor (User in its torrc).
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN apt-get update -qq && apt-get install -y -qq tor && rm -rf /var/lib/apt/lists/*
COPY tor-start.sh /start.sh
ENTRYPOINT ["/start.sh"]
