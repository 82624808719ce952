#!/usr/bin/env bash
# sqlite3.sh SO [VAR=VALUE...] — the sqlite3 shell running workload.sql
# (100k rows via recursive CTEs, indexes, joins, group by, window functions,
# updates, VACUUM) on a database file, with and without libreclaim-malloc.so.
# See lib.sh.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/preload/lib.sh
. "$here/lib.sh"
need sqlite3

workload() {
    sqlite3 -batch -bail test.db <"$here/workload.sql"
    # a second process reopens the database
    sqlite3 -batch test.db 'SELECT count(*), sum(qty) FROM orders; PRAGMA integrity_check;'
}

compare_runs workload
