# Stand-in for matrixdotorg/synapse where no registry is reachable: Synapse from
# PyPI (the version the tests pin) in a venv, started the way the official image
# is in "run" mode: the config at $SYNAPSE_CONFIG_PATH, data under /data, uid 991.
ARG BASE=pursuance-local/debian:bookworm
FROM ${BASE}
RUN apt-get update -qq && apt-get install -y -qq python3 python3-venv curl && rm -rf /var/lib/apt/lists/*
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt PATH=/opt/synapse/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
RUN python3 -m venv /opt/synapse && /opt/synapse/bin/pip install -q --disable-pip-version-check -r /tmp/requirements.txt
COPY synapse-start.sh /start.sh
RUN groupadd --gid 991 synapse && useradd --uid 991 --gid synapse --no-create-home synapse && mkdir -p /data && chown synapse:synapse /data
VOLUME /data
EXPOSE 8008
HEALTHCHECK --interval=5s --timeout=5s --retries=30 CMD curl -fsS http://localhost:8008/health || exit 1
ENTRYPOINT ["/start.sh"]
