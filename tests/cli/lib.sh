# lib.sh — what the CLI tests that count their failures share. Sourced
# (after set -u) by test_snapshots.sh and test_heap_cli.sh; each ends with
# its own summary on $fails.
#   fail MESSAGE            prints it and counts a failure
#   $tmp                    a scratch directory, removed at exit
#   expect NAME EXPECTED COMMAND...
#                           COMMAND exits 0, writes nothing on stderr and
#                           prints EXPECTED exactly
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

expect() {
  local name=$1 want=$2; shift 2
  local got
  got=$("$@" 2> "$tmp/stderr"); local rc=$?
  [ $rc -eq 0 ] || { fail "$name: exit status $rc ($(cat "$tmp/stderr"))"; return; }
  [ -s "$tmp/stderr" ] && fail "$name: wrote to stderr: $(cat "$tmp/stderr")"
  [ "$got" = "$want" ] || fail "$name: output differs:
--- expected
$want
--- got
$got"
}
