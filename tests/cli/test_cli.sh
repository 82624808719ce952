#!/usr/bin/env bash
# The reclaim command-line tool: run a real program under the drop-in heap.
# usage: test_cli.sh RECLAIM_BINARY LIBRECLAIM_MALLOC
set -u
cli=$1 lib=$2
fail() { echo "FAIL: $*"; exit 1; }
export RECLAIM_MALLOC_LIB=$lib
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$cli" version | grep -q '^reclaim [0-9]' || fail "version"

# sort allocates with malloc: its output must not change, and --stats prints the heap at exit
printf 'pear\napple\nfig\n' > "$tmp/in"
"$cli" run --stats -- sort "$tmp/in" > "$tmp/out" 2> "$tmp/err" || fail "run exited non-zero"
[ "$(cat "$tmp/out")" = "$(sort "$tmp/in")" ] || fail "output differs under reclaim run"
grep -q 'Total bytes mapped' "$tmp/err" || fail "--stats printed no statistics: $(cat "$tmp/err")"

# the program really ran with the heap: its LD_PRELOAD names the library
env_line=$("$cli" run -- env | grep '^LD_PRELOAD=')
case "$env_line" in *libreclaim-malloc.so*) ;; *) fail "LD_PRELOAD not set: $env_line";; esac
[ "$("$cli" run --debug -- env | grep '^RECLAIM_MALLOC=')" = "RECLAIM_MALLOC=debug" ] || fail "--debug"
[ "$("$cli" run --system -- env | grep '^RECLAIM_MALLOC=')" = "RECLAIM_MALLOC=malloc" ] || fail "--system"

# the exit status is the program's
"$cli" run -- sh -c 'exit 7'; [ $? -eq 7 ] || fail "exit status not passed through"

# bad use is a clear error with status 2
"$cli" run --bogus true 2> "$tmp/err"; [ $? -eq 2 ] || fail "unknown option status"
grep -q "unknown option '--bogus'" "$tmp/err" || fail "unknown option message"
"$cli" run 2> "$tmp/err"; [ $? -eq 2 ] || fail "missing command status"
grep -q "no command given" "$tmp/err" || fail "missing command message"
RECLAIM_MALLOC_LIB=/nonexistent/lib.so "$cli" run -- true 2> "$tmp/err"; [ $? -eq 2 ] || fail "missing library status"
grep -q "cannot find" "$tmp/err" || fail "missing library message"
"$cli" run -- /nonexistent/program 2> "$tmp/err"; [ $? -eq 127 ] || fail "missing program status"
# tracing a real program no one here wrote: sqlite3 running a SQL script;
# the snapshot at exit loads, and a snapshot taken on SIGUSR2 mid-run has
# sqlite's own allocation sites at the top
if command -v sqlite3 >/dev/null; then
    cat > "$tmp/q.sql" <<'SQL'
create table t(a integer primary key, b text);
with recursive n(i) as (select 1 union all select i + 1 from n where i < 50000)
  insert into t select i, printf('row-%08d', i) from n;
create index tb on t(b);
select count(*) from t;
SQL
    "$cli" run --trace 8 -o "$tmp/sq.rcsnap" -- sqlite3 "$tmp/db" ".read $tmp/q.sql" > "$tmp/out" 2> "$tmp/err" \
        || fail "sqlite3 under --trace: $(cat "$tmp/err")"
    [ "$(cat "$tmp/out")" = "50000" ] || fail "sqlite3 output under --trace: $(cat "$tmp/out")"
    head -1 "$tmp/sq.rcsnap" | grep -q '^reclaim-snapshot 1$' || fail "--trace wrote no snapshot"
    "$cli" top "$tmp/sq.rcsnap" > "$tmp/top" || fail "top of the sqlite3 snapshot"
    # mid-run: a snapshot on SIGUSR2 while the database is open and full
    cat > "$tmp/slow.sql" <<'SQL'
create table u(a integer primary key, b text);
with recursive n(i) as (select 1 union all select i + 1 from n where i < 100000)
  insert into u select i, printf('row-%08d', i) from n;
select count(*) from u;
SQL
    ( "$cli" run --trace 16 -o "$tmp/mid.rcsnap" -- sqlite3 "$tmp/db2" ".read $tmp/slow.sql" ".shell kill -USR2 \$PPID" ".shell sleep 1" > /dev/null 2>&1 )
    [ -s "$tmp/mid.rcsnap.1" ] || fail "no snapshot on SIGUSR2"
    "$cli" top "$tmp/mid.rcsnap.1" --by function -n 5 > "$tmp/top" || fail "top of the SIGUSR2 snapshot"
    grep -q 'sqlite3' "$tmp/top" || fail "sqlite3's own functions are not among the top sites: $(cat "$tmp/top")"
fi

# --trace errors
"$cli" run --trace 0 -- true 2> "$tmp/err"; [ $? -eq 2 ] || fail "--trace 0 status"
grep -q "number of frames from 1 to 64" "$tmp/err" || fail "--trace 0 message"
"$cli" run -o x -- true 2> "$tmp/err"; [ $? -eq 2 ] || fail "-o without --trace status"
echo "cli: all checks passed"
