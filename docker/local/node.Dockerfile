# Stand-in for node:20-bookworm-slim where no registry is reachable: the host's
# Node 20 and npm on a debootstrapped Debian (scripts/compose-local-images.sh).
ARG BASE=pursuance-local/debian:bookworm
FROM ${BASE}
# Node's own CA list does not hold a proxy's CA; the system bundle does.
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
CMD ["node"]
