#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# pg-cluster.sh: a throwaway PostgreSQL server for the tests of the postgres
# store (tests/unit/test_store_postgres.c, tests/integration/test_postgres_*.py).
#
#   pg-cluster.sh start [DIR]   create (first time) and start a cluster in DIR
#                               (default: a new temp dir) and print its
#                               connection info as shell assignments
#   pg-cluster.sh env DIR       print the connection info of a running cluster
#   pg-cluster.sh stop DIR      fast shutdown (the data stays)
#   pg-cluster.sh kill DIR      immediate shutdown, like a crash
#   pg-cluster.sh restart DIR   stop then start on the same port
#   pg-cluster.sh destroy DIR   stop and remove DIR
#
# What `start` prints, one per line, for `eval` or a line parser:
#   PG_DIR=/tmp/bc-pg-XXXX  PG_PORT=54321  PG_HOST=127.0.0.1
#   PG_USER=broadcast  PG_PASSWORD=...  PG_DB=broadcast  PG_SOCKET_DIR=...
#   PG_CONNINFO='host=127.0.0.1 port=54321 dbname=broadcast user=broadcast password=...'
#   PG_STOP='/path/pg-cluster.sh destroy /tmp/bc-pg-XXXX'
#
# The server runs as a non-root user (PostgreSQL refuses root): as root, the
# `postgres` user of Debian's package (created when missing); otherwise the
# calling user. It listens on 127.0.0.1 only, at a free port, with its Unix
# socket in DIR. TCP logins need the password (scram-sha-256), so the tests
# exercise a conninfo that holds a secret; the socket trusts local users.
# Durability shortcuts (fsync off) are fine for a throwaway cluster: they
# only matter when the machine itself crashes.
#
# Exit status: 0 done, 77 PostgreSQL cannot be installed here (tests skip),
# 1 anything else. Idempotent: `start` on a running cluster prints its info.
set -eu

me=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

die() { echo "pg-cluster: $*" >&2; exit 1; }
skip() { echo "pg-cluster: $*" >&2; exit 77; }

find_bindir() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
			echo "$d"
			return 0
		fi
	done
	if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
		dirname "$(command -v pg_ctl)"
		return 0
	fi
	return 1
}

ensure_binaries() {
	bindir=$(find_bindir) && return 0
	[ "$(id -u)" = 0 ] || skip "PostgreSQL server binaries are missing and only root may apt-get install them"
	command -v apt-get >/dev/null 2>&1 || skip "PostgreSQL server binaries are missing and there is no apt-get"
	echo "pg-cluster: installing postgresql with apt-get" >&2
	# Debian's package would start its own cluster; we only want the binaries.
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; then
		DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 ||
			skip "apt-get install postgresql failed"
	fi
	bindir=$(find_bindir) || skip "postgresql is installed but initdb/pg_ctl were not found"
}

# Run a command as the cluster's owner, from / (the caller's folder may be
# closed to that user, and initdb/pg_ctl complain about it).
as_owner() {
	if [ "$(id -u)" = 0 ]; then
		(cd / && runuser -u "$owner" -- "$@")
	else
		(cd / && "$@")
	fi
}

pick_owner() {
	if [ "$(id -u)" != 0 ]; then
		owner=$(id -un)
		return
	fi
	owner=postgres
	if ! id "$owner" >/dev/null 2>&1; then
		useradd --system --home-dir /nonexistent --no-create-home \
			--shell /usr/sbin/nologin "$owner" ||
			die "cannot create the user $owner to run PostgreSQL"
	fi
}

free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
	else
		# A random high port; server_start retries when it is taken.
		echo $((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
	fi
}

is_running() {
	[ -f "$dir/data/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

print_env() {
	port=$(cat "$dir/port")
	password=$(cat "$dir/password")
	echo "PG_DIR=$dir"
	echo "PG_PORT=$port"
	echo "PG_HOST=127.0.0.1"
	echo "PG_USER=broadcast"
	echo "PG_PASSWORD=$password"
	echo "PG_DB=broadcast"
	echo "PG_SOCKET_DIR=$dir"
	echo "PG_CONNINFO='host=127.0.0.1 port=$port dbname=broadcast user=broadcast password=$password'"
	echo "PG_STOP='$me destroy $dir'"
}

server_start() {
	port=$(cat "$dir/port")
	as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off \
		-c full_page_writes=off -c max_connections=200 -c shared_buffers=16MB \
		-c log_min_messages=warning" start >/dev/null
}

cmd_start() {
	if [ -z "$dir" ]; then
		dir=$(mktemp -d "${TMPDIR:-/tmp}/bc-pg-XXXXXX")
	fi
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	ensure_binaries
	pick_owner
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		rm -rf "$dir/data"
		chown "$owner" "$dir"
		chmod 0700 "$dir"
		head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$dir/password"
		chmod 0644 "$dir/password"
		pwfile="$dir/pwfile"
		cp "$dir/password" "$pwfile"
		chown "$owner" "$pwfile"
		as_owner "$bindir/initdb" -D "$dir/data" -U broadcast --pwfile="$pwfile" -N \
			-A scram-sha-256 --auth-local=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
		rm -f "$pwfile"
		free_port >"$dir/port"
	fi
	if ! is_running; then
		tries=0
		until server_start; do
			tries=$((tries + 1))
			[ $tries -lt 3 ] || { cat "$dir/server.log" >&2; die "the server did not start"; }
			free_port >"$dir/port" # someone took the port meanwhile
		done
		as_owner "$bindir/psql" -h "$dir" -p "$(cat "$dir/port")" -U broadcast -d postgres \
			-qAt -c "SELECT 1 FROM pg_database WHERE datname='broadcast'" | grep -q 1 ||
			as_owner "$bindir/createdb" -h "$dir" -p "$(cat "$dir/port")" -U broadcast broadcast
	fi
	print_env
}

cmd_stop() {
	mode=$1
	[ -d "$dir/data" ] || return 0
	if is_running; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m "$mode" -w -t 30 stop >/dev/null
	fi
}

action=${1:-}
dir=${2:-}
case "$action" in
start)
	cmd_start
	;;
env | stop | kill | restart | destroy)
	[ -n "$dir" ] || die "usage: $0 $action DIR"
	[ -d "$dir" ] || { [ "$action" = destroy ] && exit 0; die "$dir: no such cluster"; }
	dir=$(cd "$dir" && pwd)
	bindir=$(find_bindir) || die "PostgreSQL binaries are missing"
	pick_owner
	case "$action" in
	env) print_env ;;
	stop) cmd_stop fast ;;
	kill) cmd_stop immediate ;;
	restart)
		cmd_stop fast
		cmd_start
		;;
	destroy)
		cmd_stop immediate
		rm -rf "$dir"
		;;
	esac
	;;
*)
	echo "usage: $0 start [DIR] | env DIR | stop DIR | kill DIR | restart DIR | destroy DIR" >&2
	exit 1
	;;
esac
