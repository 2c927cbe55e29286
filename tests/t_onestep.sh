#!/bin/sh
# The onestep regime end to end (SPEC §7): `lazysweep run` of tests/jobs/onestep.ini on 1
# and 3 ranks (bitwise equal, also W1 and the onestep fields), an independent NumPy check
# of the step, the readout and eta~ = 0 = RF (tests/onestep_check.py), `plan` stating the
# conventions (also of jobs/one-step*.ini), and the one-step figure (plot.py auto-detects
# it). SKIP of the Python parts when /usr/bin/python3 lacks h5py, pandas or matplotlib.
# Ends with "onestep: N passed, N failed".
top=$(pwd)
bin=$top/build/lazysweep
py=${PYTHON:-/usr/bin/python3}
job=tests/jobs/onestep.ini
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
finish() { echo "onestep: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
[ -x "$bin" ] || { bad "no $bin (run make)"; finish; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export MPLBACKEND=Agg HDF5_USE_FILE_LOCKING=FALSE

"$bin" plan "$job" >"$work/plan" 2>&1 && grep -q "^onestep: a0 = 1/N for every neuron, c0 = the optimal offset" "$work/plan" \
    && ok || bad "$bin plan $job: conventions not printed: $(tail -3 "$work/plan")"
for j in jobs/one-step.ini jobs/one-step-lowrank.ini jobs/one-step-lowrank-a0.ini; do
    "$bin" plan "$j" >"$work/plan" 2>&1 && grep -q "^onestep: a0 = " "$work/plan" && ok || bad "$bin plan $j: $(tail -3 "$work/plan")"
done
"$bin" run "$job" -o "$work/np1.h5" -q 2>"$work/err" && ok || bad "$bin run $job -o np1.h5: $(cat "$work/err")"
mpirun -np 3 "$bin" run "$job" -o "$work/np3.h5" -q 2>"$work/err" && ok || bad "mpirun -np 3 $bin run $job -o np3.h5: $(cat "$work/err")"
"$py" tests/h5compare.py "$work/np1.h5" "$work/np3.h5" >"$work/cmp" 2>&1 && ok || bad "tests/h5compare.py np1.h5 np3.h5: $(head -5 "$work/cmp")"

if ! "$py" -c 'import h5py, pandas, matplotlib, numpy' 2>/dev/null; then
    echo "SKIP: $py lacks h5py, pandas or matplotlib"
    finish
fi
"$py" tests/onestep_check.py "$work/np1.h5" --compare "$work/np3.h5" >"$work/py.out" 2>&1; st=$?
cat "$work/py.out"
set -- $(awk '/^onestep: [0-9]+ passed, [0-9]+ failed/ { print $2, $4 }' "$work/py.out")
if [ $# -eq 2 ]; then pass=$((pass + $1)); fail=$((fail + $2)); else bad "tests/onestep_check.py crashed (exit $st)"; fi

# the step from n0 = 20d samples (its own stream): 1 and 3 ranks agree, the readout checks
sed 's/^onestep_a0 = 1\/N$/onestep_a0 = 1\/N\nonestep_n0 = 20d/' "$job" >"$work/n0.ini"
grep -q "^onestep_n0 = 20d" "$work/n0.ini" && ok || bad "could not make the n0 = 20d job"
"$bin" run "$work/n0.ini" -o "$work/n0-np1.h5" -q 2>"$work/err" && ok || bad "$bin run n0.ini: $(cat "$work/err")"
mpirun -np 3 "$bin" run "$work/n0.ini" -o "$work/n0-np3.h5" -q 2>"$work/err" && ok || bad "mpirun -np 3 $bin run n0.ini: $(cat "$work/err")"
"$py" tests/onestep_check.py "$work/n0-np1.h5" --compare "$work/n0-np3.h5" >"$work/py.out" 2>&1; st=$?
cat "$work/py.out"
set -- $(awk '/^onestep: [0-9]+ passed, [0-9]+ failed/ { print $2, $4 }' "$work/py.out")
if [ $# -eq 2 ]; then pass=$((pass + $1)); fail=$((fail + $2)); else bad "tests/onestep_check.py (n0 = 20d) crashed (exit $st)"; fi

"$py" analysis/plot.py "$work/np1.h5" -o "$work/fig.png" >"$work/plot.log" 2>&1 && [ -s "$work/fig.png" ] \
    && grep -q "(onestep)" "$work/plot.log" && ok || bad "analysis/plot.py np1.h5 (auto = onestep): $(tail -3 "$work/plot.log")"
"$py" analysis/plot_onestep.py "$work/np1.h5" "$work/np3.h5" -o "$work/fig2.png" >"$work/plot.log" 2>&1 && [ -s "$work/fig2.png" ] \
    && ok || bad "analysis/plot_onestep.py np1.h5 np3.h5: $(tail -3 "$work/plot.log")"
finish
