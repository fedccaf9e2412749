# One image for the relay, the bridge and the CLI: `pursuance <command>`.
# NODE_IMAGE: the official image by default; docker-compose.local.yml swaps in a local one.
ARG NODE_IMAGE=node:20-bookworm-slim
FROM ${NODE_IMAGE}
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY tsconfig.json config.sample.yaml ./
USER node
ENTRYPOINT ["node", "/app/bin/pursuance.js"]
CMD ["--help"]
