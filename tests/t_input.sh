#!/bin/sh
# The bad-input corpus (issue 11): every case must exit 2 with exactly one line on stderr
# that contains its expected text, and leave every file as it was (names, types, sizes,
# modes, mtimes and contents of every file in the scratch directory and the corpus,
# checked per case; a directory's own mtime may change: run and repair take and release
# FILE.lock before they can tell that FILE is not theirs).
#   job files: tests/jobs/bad/*.ini and tests/input/jobs/*.ini, first line "# expect: TEXT";
#              each is given to `plan` and to `task --id 0` (no MPI), the message must start
#              "lazysweep: FILE:" and contain TEXT.
#   command lines: tests/input/cli.txt, one case a line: 'TEXT' ARGS... (shell words, run
#              in the scratch directory that setup_fixtures fills).
# LAZYSWEEP=path/to/lazysweep selects the binary (the sanitizer build in make check).
top=$(pwd)
bin=${LAZYSWEEP:-$top/build/lazysweep}
case "$bin" in /*) ;; *) bin=$top/$bin ;; esac
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
pass=0; fail=0; cases=0
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
scratch=$work/s
mkdir "$scratch"

# the state of every file a case could touch
tree_sum() {
    set -- "$scratch" "$top/tests/input" "$top/tests/jobs/bad"
    { find "$@" \( -type d -printf '%p d\n' \) -o -printf '%p %y %s %m %T@\n'
      find "$@" -type f -exec md5sum {} +; } | LC_ALL=C sort | md5sum
}

# one case: want-text prefix-or-empty command...
check() {
    want=$1; prefix=$2; shift 2
    cases=$((cases + 1))
    before=$(tree_sum)
    (cd "$scratch" && "$@" >"$work/out" 2>"$work/err"); st=$?
    lines=$(wc -l <"$work/err")
    msg=$(cat "$work/err")
    after=$(tree_sum)
    what="lazysweep $(printf '%s' "$*" | sed "s|$bin ||; s|$top/||g" | tr '\n\r' '??')"
    if [ "$st" -ne 2 ]; then bad "$what: exit $st, want 2: $msg"; return; fi
    if [ "$lines" -ne 1 ] || [ -n "$(tail -c 1 "$work/err")" ]; then
        bad "$what: $lines lines on stderr, want exactly 1: $msg"; return
    fi
    if [ -n "$prefix" ]; then
        case "$msg" in "$prefix"*) ;; *) bad "$what: want the message to start '$prefix': $msg"; return ;; esac
    fi
    case "$msg" in *"$want"*) ;; *) bad "$what: want '$want' in: $msg"; return ;; esac
    if [ "$before" != "$after" ]; then
        bad "$what: files created or changed"
        (cd "$scratch" && ls -la) | sed 's/^/    /'
        return
    fi
    pass=$((pass + 1))
}

setup_fixtures() {
    cd "$scratch" || exit 1
    printf '[sweep]\nname = ok\nseed = 3\nreplicates = 2\n[grid]\nd = 4\nN = 1, 2\nregime = null\n' >ok.ini
    sed 's/seed = 3/seed = 4/' ok.ini >other.ini
    printf '[grid]\nd = forty\n' >bad.ini
    cp ok.ini c.h5.journal                  # a job file named like run's journal of c.h5
    cp ok.ini l.h5.lock
    mkdir dir d.h5.creating
    echo "just text" >text.txt
    "$bin" run ok.ini -o res.h5 --quiet >/dev/null 2>&1 || echo "setup: run ok.ini failed"
    "$bin" aggregate res.h5 --csv res.csv >/dev/null 2>&1 || echo "setup: aggregate failed"
    head -c 4000 res.h5 >trunc.h5           # HDF5 signature, truncated
    ln -s ok.ini link.h5                    # a link to the job file
    cd "$top" || exit 1
}
setup_fixtures

for f in "$top"/tests/jobs/bad/*.ini "$top"/tests/input/jobs/*.ini; do
    want=$(sed -n '1s/^# expect: //p' "$f")
    [ -n "$want" ] || { bad "$f: first line must be '# expect: TEXT'"; continue; }
    check "$want" "lazysweep: $f:" "$bin" plan "$f"
    check "$want" "lazysweep: $f:" "$bin" task "$f" --id 0
done

while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    eval "set -- $line"
    want=$1; shift
    check "$want" "lazysweep: " "$bin" "$@"
done <"$top/tests/input/cli.txt"

echo "input: $cases cases (job files under plan and task, command lines)"
echo "input: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
