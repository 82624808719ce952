#!/usr/bin/env bash
# run.sh MODE BUILD_DIR CMAKE C_COMPILER LIBDIR VERSION MALLOC_LIB
#
# Installs the build in BUILD_DIR with `cmake --install --prefix` into a
# fresh temporary prefix, checks the installed files, then builds main.c
# against that prefix and runs it:
#   MODE cmake      this directory as an outside CMake project:
#                   find_package(reclaim CONFIG REQUIRED), one executable
#                   linked to reclaim::reclaim, one to reclaim::reclaim_static
#   MODE pkgconfig  `C_COMPILER main.c $(pkg-config --cflags --libs reclaim)`
#                   with PKG_CONFIG_PATH=<prefix>/LIBDIR/pkgconfig, run with
#                   LD_LIBRARY_PATH=<prefix>/LIBDIR
# LIBDIR is the build's CMAKE_INSTALL_LIBDIR, VERSION the project version,
# MALLOC_LIB 1 when libreclaim-malloc.so is built (and must be installed).
# Exit status: 0 pass, 1 fail, 77 skip (pkg-config not installed).
set -uo pipefail

if [ $# -ne 7 ]; then
    echo "usage: $0 cmake|pkgconfig BUILD_DIR CMAKE C_COMPILER LIBDIR VERSION MALLOC_LIB" >&2
    exit 2
fi
mode=$1 build=$2 cmake=$3 cc=$4 libdir=$5 version=$6 malloc_lib=$7
here=$(cd "$(dirname "$0")" && pwd)

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
skip() {
    echo "SKIP: $*"
    exit 77
}
step() { echo "== $*"; }

if [ "$mode" = pkgconfig ] && ! command -v pkg-config >/dev/null 2>&1; then
    skip "pkg-config is not installed (Debian package: pkg-config)"
fi
case $mode in cmake | pkgconfig) ;; *) fail "unknown mode '$mode'" ;; esac

T=$(mktemp -d "${TMPDIR:-/tmp}/reclaim-install.XXXXXX") || exit 1
trap '[ -n "${INSTALL_KEEP:-}" ] || rm -rf "$T"' EXIT
prefix=$T/prefix
lib=$prefix/$libdir

# Nothing from the environment may point at another reclaim.
unset CMAKE_PREFIX_PATH PKG_CONFIG_PATH LD_LIBRARY_PATH LD_PRELOAD reclaim_DIR CPATH LIBRARY_PATH C_INCLUDE_PATH

step "cmake --install $build --prefix $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$T/install.log" 2>&1 || {
    cat "$T/install.log" >&2
    fail "cmake --install failed"
}

step "installed files"
expect=(
    include/reclaim.h
    "$libdir/libreclaim.so"
    "$libdir/libreclaim.so.${version%%.*}"
    "$libdir/libreclaim.so.$version"
    "$libdir/libreclaim.a"
    "$libdir/cmake/reclaim/reclaimConfig.cmake"
    "$libdir/cmake/reclaim/reclaimConfigVersion.cmake"
    "$libdir/cmake/reclaim/reclaimTargets.cmake"
    "$libdir/pkgconfig/reclaim.pc"
)
[ "$malloc_lib" = 1 ] && expect+=("$libdir/libreclaim-malloc.so")
missing=0
for f in "${expect[@]}"; do
    if [ -e "$prefix/$f" ]; then echo "  $f"; else echo "  MISSING: $f" >&2; missing=1; fi
done
[ $missing = 0 ] || {
    echo "installed:" >&2
    (cd "$prefix" && find . -type f -o -type l | sort) >&2
    fail "files missing from the install"
}
cmp -s "$prefix/include/reclaim.h" "$here/../../include/reclaim.h" || fail "the installed reclaim.h differs from include/reclaim.h"
if grep -rqF "$build" "$lib/cmake/reclaim" "$lib/pkgconfig"; then
    grep -rnF "$build" "$lib/cmake/reclaim" "$lib/pkgconfig" >&2
    fail "installed package files refer to the build directory $build"
fi

# resolves_into EXE: every libreclaim the executable loads comes from $lib.
resolves_into() {
    local exe=$1 out
    out=$(ldd "$exe") || fail "ldd $exe failed"
    if ! grep -q 'libreclaim\.so' <<<"$out"; then
        echo "$out" >&2
        fail "$exe does not load libreclaim.so"
    fi
    if grep 'libreclaim' <<<"$out" | grep -vqF "=> $lib/"; then
        echo "$out" >&2
        fail "$exe loads a libreclaim that is not the one installed in $lib"
    fi
}

run_exe() { # exe, env...
    local exe=$1 out
    shift
    out=$(env "$@" "$exe" 2>"$T/run.err") || {
        echo "$out"
        cat "$T/run.err" >&2
        fail "$exe failed"
    }
    echo "  $out"
    [ -s "$T/run.err" ] && {
        cat "$T/run.err" >&2
        fail "$exe wrote to stderr"
    }
    grep -q "^reclaim $version (.*): ok\$" <<<"$out" || fail "unexpected output from $exe"
}

if [ "$mode" = cmake ]; then
    step "configure tests/install against $prefix"
    "$cmake" -S "$here" -B "$T/build" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix" \
        -DRECLAIM_EXPECTED_PREFIX="$prefix" \
        -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
        >"$T/configure.log" 2>&1 || {
        cat "$T/configure.log" >&2
        fail "configuring the outside project failed"
    }
    grep 'found reclaim' "$T/configure.log"
    step "build"
    "$cmake" --build "$T/build" >"$T/build.log" 2>&1 || {
        cat "$T/build.log" >&2
        fail "building the outside project failed"
    }
    shared=$(find "$T/build" -type f -name consumer_shared -perm -u+x | head -n 1)
    static=$(find "$T/build" -type f -name consumer_static -perm -u+x | head -n 1)
    if [ -z "$shared" ] || [ -z "$static" ]; then fail "the executables were not built"; fi

    step "run consumer_shared (reclaim::reclaim, found through its RUNPATH)"
    resolves_into "$shared"
    run_exe "$shared"
    step "run consumer_static (reclaim::reclaim_static)"
    if ldd "$static" | grep -q libreclaim; then
        ldd "$static" >&2
        fail "consumer_static loads libreclaim.so, it should hold libreclaim.a's code"
    fi
    run_exe "$static"
else
    export PKG_CONFIG_PATH=$lib/pkgconfig
    step "pkg-config (PKG_CONFIG_PATH=$PKG_CONFIG_PATH)"
    pkg-config --exists --print-errors reclaim || fail "pkg-config cannot find reclaim"
    pcver=$(pkg-config --modversion reclaim)
    [ "$pcver" = "$version" ] || fail "pkg-config --modversion reclaim gives '$pcver', not $version"
    cflags=$(pkg-config --cflags reclaim) || fail "pkg-config --cflags failed"
    libs=$(pkg-config --libs reclaim) || fail "pkg-config --libs failed"
    echo "  version $pcver, cflags: $cflags, libs: $libs"
    # The .pc file must describe the prefix it was installed to.
    for var in includedir libdir; do
        val=$(pkg-config --variable=$var reclaim)
        case $val in
        "$prefix"/*) ;;
        *) fail "reclaim.pc installed with --prefix $prefix says $var=$val: the file is not relocatable (it keeps the configure-time CMAKE_INSTALL_PREFIX; e.g. prefix=\${pcfiledir}/../.. would follow the install)" ;;
        esac
    done
    step "$cc main.c \$(pkg-config --cflags --libs reclaim)"
    # shellcheck disable=SC2086 # word splitting of the flags is intended
    "$cc" -std=c11 -Wall -Wextra -Werror -o "$T/consumer_pc" "$here/main.c" \
        -DRECLAIM_EXPECTED_VERSION="\"$pcver\"" -DLINK_KIND='"pkg-config"' \
        $cflags $libs >"$T/cc.log" 2>&1 || {
        cat "$T/cc.log" >&2
        fail "compiling main.c with pkg-config's flags failed"
    }
    step "run consumer_pc (LD_LIBRARY_PATH=$lib)"
    LD_LIBRARY_PATH=$lib resolves_into "$T/consumer_pc"
    run_exe "$T/consumer_pc" LD_LIBRARY_PATH="$lib"
fi
echo "PASS"
