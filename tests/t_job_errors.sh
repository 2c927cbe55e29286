#!/bin/sh
# Every malformed job file in tests/jobs/bad/ must make `lazysweep plan` exit 2 with
# one line "lazysweep: FILE:LINE: ..." containing the text after "# expect:" on the
# file's first line, and create no file (checked in the working directory and next
# to the job file). Also the CLI's own usage errors.
top=$(pwd)
bin=$top/build/lazysweep
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
before=$(ls -la "$top/tests/jobs/bad" | md5sum)
for f in "$top"/tests/jobs/bad/*.ini; do
    want=$(sed -n '1s/^# expect: //p' "$f")
    (cd "$work" && "$bin" plan "$f" >out.txt 2>err.txt); st=$?
    msg=$(cat "$work/err.txt"); lines=$(wc -l <"$work/err.txt")
    rm -f "$work/out.txt" "$work/err.txt"
    [ "$st" -eq 2 ] || { bad "$f: exit $st, want 2 ($msg)"; continue; }
    [ "$lines" -eq 1 ] || { bad "$f: $lines lines of error, want 1: $msg"; continue; }
    case "$msg" in
        "lazysweep: $f:"*) ;;
        *) bad "$f: message does not start with 'lazysweep: FILE:': $msg"; continue ;;
    esac
    case "$msg" in
        *"$want"*) ok ;;
        *) bad "$f: want '$want' in: $msg" ;;
    esac
    [ -z "$(ls -A "$work")" ] && ok || bad "$f: files created: $(ls -A "$work")"
done
[ "$(ls -la "$top/tests/jobs/bad" | md5sum)" = "$before" ] && ok || bad "files appeared in tests/jobs/bad"

# usage errors: exit 2, one line, names the problem
expect_usage() { # want-substring args...
    want=$1; shift
    (cd "$work" && "$bin" "$@" >/dev/null 2>err.txt); st=$?
    msg=$(cat "$work/err.txt"); rm -f "$work/err.txt"
    if [ "$st" -eq 2 ] && case "$msg" in *"$want"*) true ;; *) false ;; esac; then ok
    else bad "lazysweep $*: exit $st, message: $msg (want '$want')"; fi
}
expect_usage "unknown command 'frobnicate'" frobnicate
expect_usage "plan: missing JOB" plan
expect_usage "unknown option '--bogus'" plan jobs/demo.ini --bogus
expect_usage "--mem-per-rank: expected a size like 4G or 500M (at most 1024T), got 'lots'" plan jobs/demo.ini --mem-per-rank lots
expect_usage "cannot open job file" plan /nonexistent/x.ini
expect_usage "unexpected argument 'extra'" plan jobs/demo.ini extra
"$bin" --help >/dev/null && ok || bad "--help exit $?"
"$bin" --version | grep -q '^lazysweep ' && ok || bad "--version"
"$bin" help job | grep -q 'nn_lr_drops' && ok || bad "help job lists nn_lr_drops"
# the README documents every key that `help job` prints
for key in $("$bin" help job | awk '/^  [a-z_A-Z]+ / { print $1 }'); do
    case "$key" in rho|N) want="\`rho\` / \`N\`" ;; *) want="\`$key\`" ;; esac
    grep -qF "$want" README.md && ok || bad "README.md does not document job key $key"
done
echo "job_errors: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
