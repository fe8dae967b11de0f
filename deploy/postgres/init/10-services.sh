#!/usr/bin/env bash
# The service databases, for the postgres image: it runs this once, when it initialises an empty
# data volume (/docker-entrypoint-initdb.d), as the superuser over the local socket.
#
# The same result as `provision` in devstack/postgres.py (keep the two in step): for each service
# a role `<svc>_owner` that owns the database and its schema and runs the migrations, a role
# `<svc>` the running service logs in as (data only), passwords from the environment (the install's
# `.env`: INSUREOPS_DB_<SVC>_PASSWORD, INSUREOPS_DB_<SVC>_OWNER_PASSWORD), CONNECT for the
# runtime role alone, pg_trgm, and default privileges so tables and sequences the owner creates
# later are usable by the runtime role (a migration narrows this where a table is append-only).
# Safe to run again by hand: every step is idempotent.
set -euo pipefail

SERVICES="${INSUREOPS_DB_SERVICES:-identity clients pipeline tasks contracts audit notifications documents privacy}"

for svc in $SERVICES; do
    echo "insureops: provisioning database and roles of ${svc}"
    svc_pw_var="INSUREOPS_DB_${svc^^}_PASSWORD"
    owner_pw_var="INSUREOPS_DB_${svc^^}_OWNER_PASSWORD"
    if [ -z "${!svc_pw_var:-}" ] || [ -z "${!owner_pw_var:-}" ]; then
        echo "insureops: ${svc_pw_var} and ${owner_pw_var} must be set (see .env.example)" >&2
        exit 1
    fi
    psql --no-psqlrc -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
        -v svc="${svc}" -v owner="${svc}_owner" \
        -v svc_pw="${!svc_pw_var}" -v owner_pw="${!owner_pw_var}" <<'SQL'
SELECT format('CREATE ROLE %I', r)
  FROM unnest(ARRAY[:'owner', :'svc']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \gexec
ALTER ROLE :"owner" LOGIN PASSWORD :'owner_pw';
ALTER ROLE :"svc" LOGIN PASSWORD :'svc_pw';

SELECT format('CREATE DATABASE %I OWNER %I', :'svc', :'owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'svc') \gexec

\connect :"svc"
REVOKE ALL ON DATABASE :"svc" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"svc" TO :"svc";
GRANT USAGE ON SCHEMA public TO :"svc";
ALTER SCHEMA public OWNER TO :"owner";
CREATE EXTENSION IF NOT EXISTS pg_trgm;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"svc";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"svc";
SQL
done
