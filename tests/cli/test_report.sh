#!/usr/bin/env bash
# `reclaim report` (docs/report.md): one self-contained HTML page from a
# snapshot, two heap dumps and an mprof run of report_inputs (a service
# with a planted leak, tests/cli/report_inputs.c), checked twice:
#   - in the file: the figures of the known heap (growth, unreachable
#     objects, roots, the "why" chain of the leaked session, retained
#     sizes, the top allocation line, the collector's pauses), nothing
#     from outside the page, the note of each section whose input is
#     absent, and every error of the command (exit 2, one line, no page);
#   - in headless Chromium: every section marked data-rendered="1" by the
#     page's script, no message on the console, the flame graph's zoom and
#     a table's sort working, and a screenshot BUILD_DIR/report.png
#     (the page beside it as BUILD_DIR/report.html). Two broken copies of
#     the page (a script error; the page script failing) must be caught,
#     so the console and DOM checks cannot pass blindly.
# Without Chromium (Debian's chromium package; scripts/test.sh installs
# it) the browser part is skipped with exit status 77 (CTest's SKIPPED)
# after the file checks.
#
# usage: test_report.sh RECLAIM_BINARY REPORT_INPUTS_BINARY BUILD_DIR
set -u
cli=$1 inputs=$2 build=$3
src=$(cd "$(dirname "$0")" && pwd)/report_inputs.c
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

# ---- the inputs ------------------------------------------------------------
"$cli" mprof run -o run.mprof -- "$inputs" "$tmp" > facts 2> err || fail "mprof run of report_inputs: $(cat err)"
. ./facts
[ -n "${listeners:-}" ] && [ -n "${leaked:-}" ] && [ -n "${registry:-}" ] || fail "report_inputs facts: $(cat facts)"
for f in run.mprof before.rcheap app.rcsnap after.rcheap; do [ -s "$f" ] || fail "no $f"; done

# ---- the page ----------------------------------------------------------------
"$cli" report -o report.html run.mprof before.rcheap app.rcsnap after.rcheap 2> err || fail "report: $(cat err)"
[ ! -s err ] || fail "report printed on stderr: $(cat err)"
page=report.html
has() { grep -qF -- "$1" "$page" || fail "$2 (no '$1' in the page)"; }
head -1 "$page" | grep -qx '<!DOCTYPE html>' || fail "not an HTML page: $(head -1 "$page")"
for id in memory sites flame types retained leaks pauses; do
    has "<section id=\"$id\" data-input=\"present\">" "section $id"
done
grep -c '<section ' "$page" | grep -qx 7 || fail "want exactly 7 sections"
# self-contained: nothing fetched from elsewhere
grep -Eiq '(src|href)="(https?:|//|file:)|<link |@import|url\(' "$page" && fail "the page refers to something outside it"
grep -Eiq '<script[^>]* src=' "$page" && fail "the page loads an outside script"
# growth between the dumps: exactly what report_inputs made
has 'data-type="record" data-count-diff="100"' "growth of record"
has 'data-type="session" data-count-diff="1"' "growth of session"
has 'data-type="list" data-count-diff="2"' "growth of list"
has 'data-type="node" data-count-diff="2"' "growth of node"
has 'data-type="record" data-count="150"' "records in the last dump"
# leaks: the cycle, the roots, and why the leaked session is alive
has 'id="unreachable-count" data-v="2"' "2 unreachable objects (the cycle)"
has 'id="root-count" data-v="2"' "2 roots (registry and the leaked listener list)"
chain=$(tr '\n' ' ' < "$page" | grep -o '<ol class="chain" id="why-chain"[^>]*>.*</ol>' | grep -o 'li data-address="[^"]*"' | cut -d'"' -f2 | tr '\n' ' ')
[ "$chain" = "$listeners $leaked " ] || fail "why chain: '$chain', want '$listeners $leaked '"
has 'id="why-chain" data-length="2"' "chain length"
has "root: 1 reference from outside the heap" "the chain's root and its forgotten reference"
# retained: the leaked list retains itself (40), the session (32), its list (40) and 100 records of 256 bytes
first_retained=$(grep -o '<tr data-address="[^"]*" data-retained="[^"]*"' "$page" | head -1)
[ "$first_retained" = "<tr data-address=\"$listeners\" data-retained=\"25712\"" ] ||
    fail "biggest retained object: $first_retained"
# top allocation line, as tracemalloc prints it
line=$(grep -n 'record \*r = rc_new(&record_type)' "$src" | cut -d: -f1)
grep -Eq "report_inputs\.c:$line: size=37\.5 KiB, count=150, average=256 B" "$page" || fail "top line of new_record"
# the collector: the three collections asked for, and rc_shutdown's
has 'id="pause-count" data-v="4"' "4 collections"
grep -q '"pauses":\[\[' "$page" || fail "no pause data"
# the flame graph inline, with the snapshot's frames
has '<svg version="1.1" xmlns="http://www.w3.org/2000/svg"' "flame svg"
has 'class="flame" data-idp="flame-"' "embedded flame graph"
has 'data-n="new_record"' "flame box of new_record"
grep -q '<?xml' "$page" && fail "an XML declaration inside the page"

# names from the inputs are escaped: a snapshot whose file and function are markup
printf '%s\n' 'reclaim-snapshot 1' 'traced 100 100' 'strings 2' 's <img src=x onerror=alert(1)>.c' \
    's </script><b>fn&amp' 'frames 1' 'f 0 1 7' 'rows 1' 'r 100 1 1 0' 'end' > odd.rcsnap
"$cli" report -o odd.html odd.rcsnap 2> err || fail "report of odd names: $(cat err)"
grep -q '<img src=x' odd.html && fail "odd names: a file name went into the page as markup"
grep -q '</script><b>' odd.html && fail "odd names: a function name went into the page as markup"
grep -q '&lt;img src=x onerror=alert(1)&gt;.c:7: size=100 B, count=1, average=100 B' odd.html ||
    fail "odd names: the escaped tracemalloc line"
grep -q '&lt;/script&gt;&lt;b&gt;fn&amp;amp' odd.html || fail "odd names: the escaped function"

# ---- absent inputs: each section still written, naming what fills it -----------
"$cli" report -o only.html app.rcsnap 2> err || fail "report of a snapshot alone: $(cat err)"
for id in memory types retained leaks pauses; do
    grep -q "<section id=\"$id\" data-input=\"absent\">" only.html || fail "absent $id"
done
[ "$(grep -c '<p class="missing">' only.html)" = 5 ] || fail "want 5 missing notes"
grep -q 'reclaim mprof run -o run.mprof -- CMD' only.html || fail "memory note names the mprof file"
grep -q 'rc_heap_dump' only.html || fail "dump note names rc_heap_dump"
"$cli" report -o one.html after.rcheap 2> err || fail "report of one dump: $(cat err)"
grep -q 'One heap dump given' one.html || fail "one dump: no note about growth"
"$cli" report -o - run.mprof | grep -q '<section id="sites" data-input="absent">' || fail "-o - and an mprof file alone"
(mkdir d && cd d && "$cli" report ../app.rcsnap && [ -s report.html ]) || fail "default output report.html"

# ---- errors: exit 2, one line on stderr, no page ---------------------------------
error() { # name, pattern, command...
    local name=$1 pattern=$2; shift 2
    rm -f out.html
    "$@" > /dev/null 2> err
    local rc=$?
    [ $rc -eq 2 ] || fail "$name: exit status $rc, want 2"
    [ "$(wc -l < err)" -eq 1 ] || fail "$name: want one line on stderr: $(cat err)"
    grep -q "^reclaim report: .*$pattern" err || fail "$name: message '$(cat err)'"
    [ -e out.html ] && fail "$name: a page was written"
    return 0
}
printf 'GIF89a\n' > foreign.gif
: > empty
head -n -1 app.rcsnap > cut.rcsnap
head -n -1 after.rcheap > cut.rcheap
head -n -1 run.mprof > cut.mprof
error "no input" "no input given" "$cli" report -o out.html
error "missing file" "cannot read 'nosuch.rcsnap'" "$cli" report -o out.html app.rcsnap nosuch.rcsnap
error "unknown kind" "'foreign.gif' is of an unknown kind" "$cli" report -o out.html foreign.gif
error "empty file" "'empty' is empty" "$cli" report -o out.html empty
error "a directory" "cannot read '.': Is a directory" "$cli" report -o out.html app.rcsnap .
error "truncated snapshot" "cut.rcsnap" "$cli" report -o out.html cut.rcsnap
error "truncated heap dump" "cut.rcheap" "$cli" report -o out.html cut.rcheap
error "truncated mprof file" "cut.mprof" "$cli" report -o out.html cut.mprof
error "unknown option" "unknown option '--bogus'" "$cli" report --bogus -o out.html app.rcsnap
error "-o without a value" "-o needs a value" "$cli" report app.rcsnap -o
error "unwritable output" "cannot write 'no/dir/out.html'" "$cli" report -o no/dir/out.html app.rcsnap

# ---- headless Chromium ------------------------------------------------------------
chrome=
for c in chromium chromium-browser google-chrome; do command -v "$c" > /dev/null && { chrome=$c; break; }; done
if [ -z "$chrome" ]; then
    echo "SKIP: the page was checked, but not in a browser: chromium is not installed (bash scripts/deps.sh chromium)"
    exit 77
fi
# browse PAGE [extra flags]: the DOM after the page's scripts ran in dom.html,
# the console messages in console.txt
browse() {
    local page=$1; shift
    rm -rf profile
    timeout 60 "$chrome" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$tmp/profile" \
        --enable-logging=stderr --v=0 "$@" --dump-dom "file://$tmp/$page" > dom.html 2> chrome.err
    local rc=$?
    grep ':CONSOLE' chrome.err > console.txt
    return $rc
}
# every section rendered by the script, nothing on the console: 0, else 1 with why in problem.txt
page_ok() {
    : > problem.txt
    [ -s console.txt ] && { echo "console: $(cat console.txt)" >> problem.txt; }
    for id in memory sites flame types retained leaks pauses; do
        grep -Eq "<section id=\"$id\" [^>]*data-rendered=\"1\"" dom.html || echo "section $id not rendered" >> problem.txt
    done
    grep -q 'data-sections-rendered="7"' dom.html || echo "not every section was rendered by the script" >> problem.txt
    [ ! -s problem.txt ]
}
printf '<!DOCTYPE html><p id="x">wait</p><script>document.getElementById("x").textContent = "ran";</script>\n' > probe.html
if ! browse probe.html || ! grep -q '>ran<' dom.html; then
    echo "SKIP: $chrome is installed but cannot run here: $(grep -v dbus chrome.err | tail -3)"
    exit 77
fi

browse report.html || fail "chromium failed on the page: $(tail -5 chrome.err)"
page_ok || fail "in Chromium: $(cat problem.txt)"
[ "$(grep -o 'class="pause"' dom.html | wc -l)" = 4 ] || fail "want 4 pause bars"
cp report.html "$build/report.html"
rm -f "$build/report.png"
timeout 60 "$chrome" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$tmp/profile2" \
    --hide-scrollbars --screenshot="$build/report.png" --window-size=1280,4000 "file://$tmp/report.html" \
    > /dev/null 2>&1 || fail "screenshot failed"
[ "$(head -c 8 "$build/report.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "no PNG screenshot"
[ "$(stat -c %s "$build/report.png")" -gt 20000 ] || fail "the screenshot is nearly empty"

# the pages with absent inputs render too
browse only.html && page_ok || fail "page of a snapshot alone, in Chromium: $(cat problem.txt)"
browse odd.html && page_ok || fail "page of odd names, in Chromium: $(cat problem.txt)"

# interaction: a click on a flame box zooms it to the full width (the embedded
# script found its own <svg> and ids); a click on a heading sorts the table
# inject FILE < page > page: the lines of FILE go just before </body>
inject() { awk -v f="$1" '/<\/body>/ { while ((getline l < f) > 0) print l } { print }'; }
cat > click.js <<'JS'
<script>(function () {
  var g = document.querySelectorAll("svg.flame g.f"), deep = g[g.length - 1];
  deep.dispatchEvent(new MouseEvent("click", {bubbles: true}));
  document.body.setAttribute("data-zoom", deep.querySelector("rect").getAttribute("width"));
  document.body.setAttribute("data-reset", document.getElementById("flame-reset").style.opacity);
  var th = document.querySelector("#types-table th:nth-child(2)");
  th.click(); th.click();
  document.body.setAttribute("data-first", document.querySelector("#types-table tbody tr").getAttribute("data-type"));
})();</script>
JS
inject click.js < report.html > click.html
browse click.html && page_ok || fail "interaction page: $(cat problem.txt)"
grep -q 'data-zoom="1180.00"' dom.html || fail "flame zoom: $(grep -o 'data-zoom="[^"]*"' dom.html)"
grep -q 'data-reset="1"' dom.html || fail "flame zoom did not light the reset button"
grep -q 'data-first="node"' dom.html || fail "ascending sort by count: $(grep -o 'data-first="[^"]*"' dom.html)"

# the checks see a broken page: an uncaught error, and the page script failing
echo '<script>no_such_function();</script>' > broken.js
inject broken.js < report.html > broken1.html
browse broken1.html
page_ok && fail "an uncaught script error went unnoticed"
grep -q 'Uncaught ReferenceError' console.txt || fail "the console did not show the error: $(cat console.txt)"
sed "s#'use strict';#'use strict'; null.x;#" report.html > broken2.html
cmp -s report.html broken2.html && fail "could not break the page script"
browse broken2.html
page_ok && fail "a failing page script went unnoticed"
grep -q 'not rendered' problem.txt || fail "the sections were marked rendered by a failing script"

echo "report: all checks passed (screenshot $build/report.png)"
