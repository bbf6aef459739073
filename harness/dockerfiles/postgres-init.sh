#!/bin/sh
# Initialise a cluster with one password-protected role and database: USER PASSWORD DB.
set -eu
user="$1"; password="$2"; db="$3"
# UTF-8 whatever the container's locale: SQL_ASCII would hand text back as bytes and refuse jsonb escapes.
initdb -D "$PGDATA" -U postgres --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
psql -v ON_ERROR_STOP=1 -U postgres -c "CREATE ROLE \"$user\" LOGIN PASSWORD '$password'" >/dev/null
createdb -U postgres -O "$user" "$db"
pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
