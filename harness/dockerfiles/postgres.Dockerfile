# PostgreSQL on the locally built Debian base; the cluster is initialised at build
# time so a container is ready in well under a second.
ARG BASE
FROM ${BASE}
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
COPY postgres-init.sh /usr/local/bin/postgres-init
RUN chmod 0755 /usr/local/bin/postgres-init \
 && mkdir -p "$PGDATA" /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
 && su postgres -c 'postgres-init app app app'
USER postgres
# SIGINT is PostgreSQL's fast shutdown; SIGTERM (smart) would wait for every client.
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres", "-c", "listen_addresses=*"]
