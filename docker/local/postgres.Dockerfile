# Stand-in for postgres:16 where no registry is reachable: Debian's PostgreSQL 15
# with the official image's interface (POSTGRES_USER/PASSWORD/DB, data in
# /var/lib/postgresql/data, pg_isready for the healthcheck).
ARG BASE=pursuance-local/debian:bookworm
FROM ${BASE}
RUN apt-get update -qq && apt-get install -y -qq postgresql-15 && rm -rf /var/lib/apt/lists/*
COPY postgres-start.sh /start.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
VOLUME /var/lib/postgresql/data
EXPOSE 5432
ENTRYPOINT ["/start.sh"]
