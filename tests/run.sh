#!/bin/sh
# Runs every test program and shell test, keeps logs in build/tests/logs, prints
# the exact command of each failure and one closing line "N passed, N failed".
# Usage: tests/run.sh TEST_BINARIES...   (shell tests: tests/t_*.sh, or $SHELL_TESTS;
# logs in $LOGS if set: the sanitizer pass of make check keeps its own)
logs=${LOGS:-build/tests/logs}
mkdir -p "$logs"
total_p=0
total_f=0
run_one() { # name, command...
    name=$1; shift
    cmd="$*"
    start=$(date +%s)
    if "$@" >"$logs/$name.log" 2>&1; then st=0; else st=$?; fi
    secs=$(( $(date +%s) - start ))
    # the last "N passed, N failed" line (optionally "name: " before it)
    set -- $(awk '/[0-9]+ passed, [0-9]+ failed/ { for (i = 2; i <= NF; i++) if ($i == "passed,") { p = $(i-1); f = $(i+1) } }
                  END { print (p == "" ? 0 : p), (f == "" ? 0 : f) }' "$logs/$name.log")
    p=$1; f=$2
    [ -n "$p" ] || p=0
    [ -n "$f" ] || f=0
    if [ "$st" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    total_p=$((total_p + p)); total_f=$((total_f + f))
    if [ "$f" -ne 0 ]; then
        echo "FAILED $name (${secs}s, exit $st): $cmd"
        grep -E '^(FAIL|not ok)' "$logs/$name.log" | head -n 20
        tail -n 5 "$logs/$name.log"
    else
        echo "ok     $name: $p checks (${secs}s)"
    fi
}
for t in "$@"; do
    run_one "$(basename "$t")" "$t"
done
for t in ${SHELL_TESTS:-tests/t_*.sh}; do
    [ -e "$t" ] || continue
    run_one "$(basename "$t" .sh)" sh "$t"
done
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
