#!/bin/sh
# Start PostgreSQL with the role and database the target asks for (POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB, as the official image reads them). The cluster baked
# into the image has app/app/app; other credentials are added on the first start only,
# so a restarted container starts as fast as ever.
set -eu
user="${POSTGRES_USER:-app}"
password="${POSTGRES_PASSWORD:-app}"
db="${POSTGRES_DB:-$user}"
marker="$PGDATA/.harness-credentials"
if [ "$user/$password/$db" != "app/app/app" ] && [ ! -f "$marker" ]; then
    quoted_password=$(printf "%s" "$password" | sed "s/'/''/g")
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
    if psql -U postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$user'" | grep -q 1; then
        psql -v ON_ERROR_STOP=1 -U postgres -c "ALTER ROLE \"$user\" LOGIN PASSWORD '$quoted_password'" >/dev/null
    else
        psql -v ON_ERROR_STOP=1 -U postgres -c "CREATE ROLE \"$user\" LOGIN PASSWORD '$quoted_password'" >/dev/null
    fi
    psql -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
        || createdb -U postgres -O "$user" "$db"
    pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
    touch "$marker"
fi
exec "$@"
