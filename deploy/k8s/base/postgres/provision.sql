-- The grants of one service database, as in deploy/postgres/init/10-services.sh (whose roles and databases
-- CloudNativePG creates here: postgres/cluster.yaml). Run by the service's migration Job as the superuser:
--   psql -v svc=<service> -v owner=<service>_owner -f provision.sql   (PGDATABASE=<service>)
-- Idempotent.
REVOKE ALL ON DATABASE :"svc" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"svc" TO :"svc";
GRANT CONNECT ON DATABASE :"svc" TO :"owner";
ALTER SCHEMA public OWNER TO :"owner";
GRANT USAGE ON SCHEMA public TO :"svc";
CREATE EXTENSION IF NOT EXISTS pg_trgm;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"svc";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"svc";
