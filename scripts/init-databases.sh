#!/usr/bin/env bash
# Create the roles and databases a yiwang deployment needs on PostgreSQL; safe to run again (changes passwords
# to the ones given, creates only what is missing).
#
#   Airflow metadata:  role $AIRFLOW_DB_USER (LOGIN)  owns database $AIRFLOW_DB_NAME
#   warehouse:         role $YIWANG_DB_USER  (LOGIN CREATEROLE: `yiwang access sync` creates the department
#                      reader roles; not a superuser)  owns database $YIWANG_DB_NAME
#
# Passwords come from the environment only (AIRFLOW_DB_PASSWORD, YIWANG_DB_PASSWORD; required). The compose
# postgres service runs this file from /docker-entrypoint-initdb.d on its first start (as the superuser, over
# the local socket); elsewhere run it as a superuser with the usual PG* variables (PGHOST, PGPORT, PGUSER).
set -euo pipefail

: "${AIRFLOW_DB_PASSWORD:?set AIRFLOW_DB_PASSWORD}"
: "${YIWANG_DB_PASSWORD:?set YIWANG_DB_PASSWORD}"
AIRFLOW_DB_USER=${AIRFLOW_DB_USER:-airflow}
AIRFLOW_DB_NAME=${AIRFLOW_DB_NAME:-airflow}
YIWANG_DB_USER=${YIWANG_DB_USER:-yiwang}
YIWANG_DB_NAME=${YIWANG_DB_NAME:-yiwang}

# the postgres image's entrypoint exports POSTGRES_USER; outside it PGUSER (or the login name) applies
psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet)
[ -n "${POSTGRES_USER:-}" ] && psql+=(--username "$POSTGRES_USER")

# Values reach SQL as psql variables (:'x' quotes a literal, :"x" an identifier), never spliced into the text.
"${psql[@]}" --dbname "${PGDATABASE:-postgres}" \
  -v airflow_user="$AIRFLOW_DB_USER" -v airflow_db="$AIRFLOW_DB_NAME" -v airflow_pw="$AIRFLOW_DB_PASSWORD" \
  -v yiwang_user="$YIWANG_DB_USER" -v yiwang_db="$YIWANG_DB_NAME" -v yiwang_pw="$YIWANG_DB_PASSWORD" <<'SQL'
select format('create role %I login', :'airflow_user')
 where not exists (select from pg_roles where rolname = :'airflow_user') \gexec
alter role :"airflow_user" with login nosuperuser nocreatedb nocreaterole password :'airflow_pw';

select format('create role %I login', :'yiwang_user')
 where not exists (select from pg_roles where rolname = :'yiwang_user') \gexec
alter role :"yiwang_user" with login nosuperuser nocreatedb createrole nobypassrls password :'yiwang_pw';

select format('create database %I owner %I encoding %L template template0', :'airflow_db', :'airflow_user', 'UTF8')
 where not exists (select from pg_database where datname = :'airflow_db') \gexec
select format('create database %I owner %I encoding %L template template0', :'yiwang_db', :'yiwang_user', 'UTF8')
 where not exists (select from pg_database where datname = :'yiwang_db') \gexec

-- Airflow's metadata: its owner only. The warehouse keeps PUBLIC's CONNECT (the department reader roles log in
-- there); `yiwang access sync` revokes CREATE/TEMPORARY from PUBLIC itself.
select format('revoke all on database %I from public', :'airflow_db') \gexec
SQL

# PostgreSQL 15+: the public schema of a new database belongs to pg_database_owner already; older servers
# need the owner to be able to create in it.
for pair in "$AIRFLOW_DB_NAME:$AIRFLOW_DB_USER" "$YIWANG_DB_NAME:$YIWANG_DB_USER"; do
  db=${pair%%:*} owner=${pair#*:}
  "${psql[@]}" --dbname "$db" -v owner="$owner" <<<'alter schema public owner to :"owner";' >/dev/null
done
echo "init-databases: roles $AIRFLOW_DB_USER, $YIWANG_DB_USER; databases $AIRFLOW_DB_NAME, $YIWANG_DB_NAME"
