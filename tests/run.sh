#!/bin/sh
# Runs every test program and shell test, keeps logs in build/tests/logs, prints
# the exact command of each failure and one closing line "N passed, N failed, N skipped".
# A group that prints a line starting with "SKIP" and checks nothing is reported as
# skipped, not as passed. As root (CI, `make check` on a build machine) the SLURM and
# analysis groups must run: their skipping fails the run (LAZYSWEEP_ALLOW_SKIP=1 allows it).
# Usage: tests/run.sh TEST_BINARIES...   (shell tests: tests/t_*.sh, or $SHELL_TESTS;
# RUN_SH_ONLY=t_a,t_b restricts them to those; logs in $LOGS (or $TEST_LOGS) if set: the
# sanitizer pass of make check keeps its own)
logs=${LOGS:-${TEST_LOGS:-build/tests/logs}}
mkdir -p "$logs"
total_p=0
total_f=0
total_s=0
must_run="t_slurm t_analysis"
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
    skip=$(grep -m 1 '^SKIP' "$logs/$name.log")
    if [ -n "$skip" ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        total_s=$((total_s + 1))
        case " $must_run " in
            *" $name "*)
                if [ "$(id -u)" = 0 ] && [ -z "$LAZYSWEEP_ALLOW_SKIP" ]; then
                    total_f=$((total_f + 1))
                    echo "FAILED $name: skipped while running as root ($skip); as root (CI) it must run"
                    return
                fi ;;
        esac
        echo "skip   $name: $skip"
        return
    fi
    total_p=$((total_p + p)); total_f=$((total_f + f))
    if [ "$f" -ne 0 ]; then
        echo "FAILED $name (${secs}s, exit $st): $cmd"
        grep -E '^(FAIL|not ok)' "$logs/$name.log" | head -n 20
        tail -n 5 "$logs/$name.log"
    elif [ -n "$skip" ]; then
        echo "ok     $name: $p checks (${secs}s; $skip)"
    else
        echo "ok     $name: $p checks (${secs}s)"
    fi
}
for t in "$@"; do
    run_one "$(basename "$t")" "$t"
done
for t in ${SHELL_TESTS:-tests/t_*.sh}; do
    [ -e "$t" ] || continue
    n=$(basename "$t" .sh)
    if [ -n "$RUN_SH_ONLY" ]; then
        case ",$RUN_SH_ONLY," in *",$n,"*) ;; *) continue ;; esac
    fi
    run_one "$n" sh "$t"
done
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" -eq 0 ]
