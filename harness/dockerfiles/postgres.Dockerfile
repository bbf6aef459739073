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
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
RUN chmod 0755 /usr/local/bin/postgres-init /usr/local/bin/postgres-entrypoint \
 && mkdir -p "$PGDATA" /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
 && su postgres -c 'postgres-init app app app'
USER postgres
# SIGINT is PostgreSQL's fast shutdown; SIGTERM (smart) would wait for every client.
STOPSIGNAL SIGINT
EXPOSE 5432
# Other credentials than app/app/app (POSTGRES_USER, ...) are set up on the first start.
ENTRYPOINT ["postgres-entrypoint"]
CMD ["postgres", "-c", "listen_addresses=*"]
