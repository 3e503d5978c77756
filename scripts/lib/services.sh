# Shared by the scripts: install and start what the tests and benchmarks need.

step() { printf '\n== %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq || return 1; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

# Starts the Debian PostgreSQL cluster (installing it if missing) and makes the current user a
# superuser, so tests can connect over the socket and create a database each.
start_postgres() {
  if ! command -v pg_ctlcluster >/dev/null; then
    apt_install postgresql || return 1
  fi
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1)
  [ -n "$version" ] || return 1
  as_root pg_ctlcluster "$version" main start 2>/dev/null || true
  for _ in $(seq 1 30); do
    as_root su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
    sleep 1
  done
  as_root su postgres -c "psql -qtAc \"select 1 from pg_roles where rolname='$(id -un)'\"" | grep -q 1 \
    || as_root su postgres -c "createuser -s $(id -un)"
}
