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
echo "cli: all checks passed"
