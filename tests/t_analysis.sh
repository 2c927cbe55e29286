#!/bin/sh
# The Python readers and plotters (analysis/) on real results files made by the engine:
# load() columns and counts, summary() against `lazysweep aggregate --csv` (numbers to
# 1e-9 relative, empty cells <-> NaN, and the CSV text byte for byte), the Python SPEC §3
# limits against the C `theory` column for every target, a file read while partial, and
# plot.py writing non-empty PNG/PDF files headless. SKIP when /usr/bin/python3 lacks
# h5py, pandas or matplotlib. Ends with "analysis: N passed, N failed".
top=$(pwd)
bin=$top/build/lazysweep
py=${PYTHON:-/usr/bin/python3}
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
finish() { echo "analysis: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

if ! "$py" -c 'import h5py, pandas, matplotlib, numpy' 2>/dev/null; then
    echo "SKIP: $py lacks h5py, pandas or matplotlib"
    finish
fi
[ -x "$bin" ] || { bad "no $bin (run make)"; finish; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export MPLBACKEND=Agg HDF5_USE_FILE_LOCKING=FALSE

# results files: both models with learning curves; a partial file; one per target
"$bin" run tests/jobs/analysis.ini -o "$work/full.h5" -q 2>"$work/err" && ok || bad "run analysis.ini: $(cat "$work/err")"
"$bin" run tests/jobs/analysis.ini -o "$work/partial.h5" -q --max-tasks 30 2>"$work/err"
[ $? -eq 3 ] && ok || bad "run --max-tasks: want exit 3: $(cat "$work/err")"
for t in exponential wigner lowrank signed; do
    sed "s/^target *=.*/target     = $t/" tests/jobs/analysis-target.ini >"$work/job-$t.ini"
    "$bin" run "$work/job-$t.ini" -o "$work/target-$t.h5" -q 2>"$work/err" && ok || bad "run target $t: $(cat "$work/err")"
done
for f in "$work"/*.h5; do
    "$bin" aggregate "$f" --csv "${f%.h5}.csv" >/dev/null 2>"$work/err" && ok || bad "aggregate $f: $(cat "$work/err")"
done

# loader, summary, theory (Python checks; their counts join ours)
"$py" tests/test_analysis.py "$work" >"$work/py.out" 2>&1; st=$?
cat "$work/py.out"
set -- $(awk '/^python: [0-9]+ passed, [0-9]+ failed/ { print $2, $4 }' "$work/py.out")
if [ $# -eq 2 ]; then pass=$((pass + $1)); fail=$((fail + $2)); else bad "tests/test_analysis.py crashed (exit $st)"; fi
[ "$st" -eq 0 ] || [ "${2:-1}" -gt 0 ] || bad "tests/test_analysis.py exit $st"

# the script form prints the summary, and --csv matches the C program
"$py" analysis/lazysweep.py "$work/full.h5" >"$work/sum.txt" 2>&1 && grep -q "regime" "$work/sum.txt" && ok || bad "lazysweep.py FILE: $(tail -3 "$work/sum.txt")"
"$py" analysis/lazysweep.py "$work/full.h5" --csv "$work/py.csv" && cmp -s "$work/py.csv" "$work/full.csv" && ok || bad "lazysweep.py --csv differs from lazysweep aggregate --csv"

# plots: headless, non-empty, valid PNG/PDF headers
png() { # file what
    if [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -c | tr -d ' \n')" = '211PNG\r\n032\n' ]; then ok; else bad "$2: no PNG written"; fi
}
plot() { # out what args...
    out=$1; what=$2; shift 2
    "$py" analysis/plot.py "$@" -o "$out" >"$work/plot.log" 2>&1 || { bad "$what: plot.py exit $?: $(tail -3 "$work/plot.log")"; return 1; }
}
plot "$work/width.png" "width figure (quadratic + mixture)" "$work/full.h5" --kind width && png "$work/width.png" "width figure"
plot "$work/learn.png" "learning curves" "$work/full.h5" && png "$work/learn.png" "learning curves (auto)"
grep -q "(learning)" "$work/plot.log" && ok || bad "auto kind did not choose learning curves for several finite n"
plot "$work/curves.png" "NN training curves" "$work/full.h5" --kind curves && png "$work/curves.png" "training curves"
plot "$work/part.png" "partial file" "$work/partial.h5" --kind width && png "$work/part.png" "partial file"
plot "$work/target.png" "single-panel quadratic" "$work/target-signed.h5" && png "$work/target.png" "single panel"
plot "$work/fig.pdf" "PDF output" "$work/target-exponential.h5" && [ "$(head -c 4 "$work/fig.pdf")" = "%PDF" ] && ok || bad "PDF output"
# usage errors
"$py" analysis/plot.py "$work/full.h5" >/dev/null 2>&1 && bad "plot.py without -o succeeded" || ok
finish
