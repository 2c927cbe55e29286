#!/bin/sh
# The distributed engine end to end, one line per case (STYLE point 13):
# rank-count and normal-kernel independence, refusal of a foreign file and of a held lock, SIGTERM and
# resume, kill -9 at random moments (whole job and one worker) then resume, early stops
# (--max-tasks, --time-limit), status/aggregate on live and finished files.
# Every comparison is bitwise on /tasks, /status and the science fields of /results
# (tests/h5compare.py). Logs: build/tests/logs/engine/.
top=$(pwd)
bin=$top/build/lazysweep
py=/usr/bin/python3
job=$top/tests/jobs/engine.ini
other=$top/jobs/demo.ini
logs=$top/build/tests/logs/engine
mkdir -p "$logs"
work=$(mktemp -d /tmp/lazysweep-engine.XXXXXX)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export LAZYSWEEP_PROGRESS_SECONDS=1
pass=0; fail=0; case_no=0
cleanup() { pkill -9 -f "$work/" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# RUN NP EXPECTED_STATUS ARGS...: runs lazysweep under mpirun with NP ranks (NP = 0:
# without mpirun) and checks the exit status; prints the exact command on failure.
RUN() {
    np=$1; want=$2; shift 2
    case_no=$((case_no + 1))
    log=$logs/case$case_no.log
    if [ "$np" = 0 ]; then set -- "$bin" "$@"; else set -- mpirun -np "$np" "$bin" "$@"; fi
    "$@" >"$log" 2>&1; st=$?
    if [ "$st" = "$want" ]; then ok; else bad "exit $st, want $want: $* (log $log)"; tail -n 5 "$log"; fi
    return 0
}
SAME() { # two results files are bitwise equal in their science
    if "$py" "$top/tests/h5compare.py" "$1" "$2" >"$logs/compare.log" 2>&1; then ok
    else bad "results differ: $1 vs $2"; cat "$logs/compare.log"; fi
}
sum() { md5sum "$1" | cut -d' ' -f1; }

# ---- reference and rank-count independence ----------------------------------------
RUN 0 0 run "$job" -o "$work/ref.h5" -q
RUN 2 0 run "$job" -o "$work/np2.h5" -q
RUN 3 0 run "$job" -o "$work/np3.h5" -q
SAME "$work/ref.h5" "$work/np2.h5"
SAME "$work/ref.h5" "$work/np3.h5"
# the scalar normal kernel gives the bits of the vector one this CPU picks (src/rng_simd.c)
export LAZYSWEEP_RNG_ISA=scalar
RUN 0 0 --version
grep -q "normals: scalar kernel" "$logs/case$case_no.log" && ok || bad "LAZYSWEEP_RNG_ISA=scalar not taken"
RUN 2 0 run "$job" -o "$work/scalar.h5" -q
unset LAZYSWEEP_RNG_ISA
SAME "$work/ref.h5" "$work/scalar.h5"
RUN 0 0 status "$work/np3.h5"
RUN 0 2 aggregate "$work/np3.h5" --csv "$work/np3.h5"   # never overwrites the results
RUN 3 0 run "$job" -o "$work/np3.h5" -q          # resuming a complete file does nothing
grep -q "0 done, 0 failed" "$logs/case$case_no.log" && ok || bad "rerun of a complete file ran tasks"
[ ! -e "$work/ref.h5.lock" ] && [ ! -e "$work/np3.h5.lock" ] && ok || bad "lock left behind"
[ -s "$work/np3.h5.journal" ] && ok || bad "no journal"

# ---- a damaged /status is rebuilt from the journal -------------------------------------
cp "$work/np3.h5" "$work/rep.h5"; cp "$work/np3.h5.journal" "$work/rep.h5.journal"
"$py" -c "import h5py,sys; f=h5py.File(sys.argv[1],'r+'); f['status'][10:90]=0; f.close()" "$work/rep.h5"
RUN 0 3 status "$work/rep.h5"
grep -q "journal: 80 results are in" "$logs/case$case_no.log" && ok || bad "status does not read the journal"
RUN 0 0 repair "$work/rep.h5"
grep -q "80 tasks changed" "$logs/case$case_no.log" && ok || bad "repair did not restore 80 tasks"
SAME "$work/ref.h5" "$work/rep.h5"

# ---- a foreign file is refused and left byte-identical ------------------------------
before=$(sum "$work/np3.h5"); jbefore=$(sum "$work/np3.h5.journal")
RUN 2 2 run "$other" -o "$work/np3.h5"
grep -q "made from a different job" "$logs/case$case_no.log" && ok || bad "no 'different job' message"
[ "$(sum "$work/np3.h5")" = "$before" ] && ok || bad "foreign-job run changed the file"
[ "$(sum "$work/np3.h5.journal")" = "$jbefore" ] && ok || bad "foreign-job run changed the journal"
[ ! -e "$work/np3.h5.lock" ] && ok || bad "refused run left its lock"
echo "not hdf5" >"$work/foreign.h5"
RUN 0 2 run "$job" -o "$work/foreign.h5"
[ "$(cat "$work/foreign.h5")" = "not hdf5" ] && ok || bad "a non-results file was touched"
RUN 0 2 status "$work/foreign.h5"
chmod a-w "$work/np2.h5"; b2=$(sum "$work/np2.h5")
if [ "$(id -u)" != 0 ]; then   # root writes anyway: checked only for other users
    RUN 0 2 run "$job" -o "$work/np2.h5"
    [ "$(sum "$work/np2.h5")" = "$b2" ] && ok || bad "read-only results file changed"
fi
chmod u+w "$work/np2.h5"
RUN 0 2 run "$top/tests/jobs/bad/bad_n.ini" -o "$work/never.h5"
[ ! -e "$work/never.h5" ] && [ ! -e "$work/never.h5.lock" ] && ok || bad "bad job created files"

# ---- failed tasks: recorded with a cause, exit 4, rerun only with --retry-failed ----------
fj=$top/tests/jobs/failing.ini
RUN 2 4 run "$fj" -o "$work/fail.h5" -q
RUN 0 4 status "$work/fail.h5"
grep -q "failed (nonfinite): 4" "$logs/case$case_no.log" && ok || bad "status does not show 4 nonfinite failures"
RUN 2 4 run "$fj" -o "$work/fail.h5" -q
grep -q "0 done, 0 failed" "$logs/case$case_no.log" && ok || bad "failed tasks rerun without --retry-failed"
RUN 2 4 run "$fj" -o "$work/fail.h5" -q --retry-failed
"$bin" status "$work/fail.h5" --json | grep -q '"max_attempts": 2' && ok || bad "attempts not counted on retry"

# ---- save_weights: targets and per-task weights land in the file --------------------
RUN 2 0 run "$top/tests/jobs/weights.ini" -o "$work/w.h5" -q
if "$py" - "$work/w.h5" >"$logs/weights.log" 2>&1 <<'PY'
import sys
import h5py, numpy as np
f = h5py.File(sys.argv[1], "r", locking=False)
t = f["tasks"][()]
B, U = f["targets/d6/B"][()], f["targets/d6/U"][()]
assert np.abs(B).max() > 0 and np.allclose(B, B.transpose(0, 2, 1)), "B stored, symmetric"
assert np.abs(U[0].T @ U[0] - np.eye(2)).max() < 1e-12, "U orthonormal"
for i in range(len(t)):
    W0 = f["weights/task_%d/W0" % i][()]
    same = [j for j in range(len(t)) if t["replicate"][j] == t["replicate"][i] and t["N"][j] == 6]
    assert np.array_equal(W0, f["weights/task_%d/W0" % same[0]][()][:len(W0)]), "W0 prefix"
    if t["model"][i] == 0 and t["N"][i] == 6 and t["regime"][i] == 1:   # NT, N = d, n = inf
        err = np.abs(f["weights/task_%d/M" % i][()] - B[t["replicate"][i]]).max()
        assert err < 1e-12, "NT at N = d reproduces B exactly (%g)" % err
print("weights ok")
PY
then ok; else bad "save_weights contents (log $logs/weights.log)"; cat "$logs/weights.log"; fi

# ---- early stops and resume ----------------------------------------------------------
RUN 3 3 run "$job" -o "$work/max.h5" -q --max-tasks 20
RUN 0 3 status "$work/max.h5"
RUN 3 0 run "$job" -o "$work/max.h5" -q
SAME "$work/ref.h5" "$work/max.h5"
RUN 2 3 run "$job" -o "$work/tl.h5" -q --time-limit 1
RUN 2 0 run "$job" -o "$work/tl.h5" -q
SAME "$work/ref.h5" "$work/tl.h5"

# ---- a second run on a file whose lock is held by a live run is refused ----------------
mpirun -np 3 "$bin" run "$job" -o "$work/live.h5" -q --sync-every 0.5 >"$logs/live.log" 2>&1 &
live=$!
for i in $(seq 1 50); do [ -e "$work/live.h5" ] && break; sleep 0.1; done
sleep 0.5
RUN 0 2 run "$job" -o "$work/live.h5"
grep -q "live.h5.lock" "$logs/case$case_no.log" && ok || bad "refusal does not name the lock"
RUN 0 3 status "$work/live.h5"                     # readable while the job writes
RUN 0 0 aggregate "$work/live.h5" --csv "$work/live.csv"
wait $live; st=$?
[ "$st" = 0 ] && ok || bad "the live run exited $st"
RUN 0 0 status "$work/live.h5"
SAME "$work/ref.h5" "$work/live.h5"

# ---- signals: exit 3 within a bounded time, then resume --------------------------------
# SIGTERM as srun and scancel deliver it (to every rank); SIGUSR1 to mpirun, which
# forwards it (mpirun itself answers SIGTERM by killing the job).
ranks_of() { for q in $(pgrep -f "lazysweep run $job -o $1"); do
    [ "$(cat /proc/$q/comm 2>/dev/null)" = lazysweep ] && echo $q; done; }
for how in TERM-ranks USR1-mpirun; do
    f=$work/sig-$how.h5
    mpirun -np 3 "$bin" run "$job" -o "$f" >"$logs/sig-$how.log" 2>&1 &
    pid=$!
    sleep 1.5
    t0=$(date +%s)
    if [ $how = TERM-ranks ]; then kill -TERM $(ranks_of "$f"); else kill -USR1 $pid; fi
    wait $pid; st=$?
    t1=$(date +%s)
    [ "$st" = 3 ] && ok || bad "SIG$how: exit $st, want 3 (log $logs/sig-$how.log)"
    [ $((t1 - t0)) -le 10 ] && ok || bad "SIG$how: took $((t1 - t0)) s to stop"
    RUN 0 3 status "$f"
    RUN 3 0 run "$job" -o "$f" -q
    SAME "$work/ref.h5" "$f"
done

# ---- kill -9 of the whole job at random moments, then resume ----------------------------
# mpirun and every rank (they are in their own process groups); moments from 0 (inside
# the create step) to 2.5 s, with collective flushes every 0.2 s.
kills=0; opened=0; trials=0
for delay in 0 0.1 0.2 0.25 0.3 0.35 0.45 0.6 0.8 1.0 1.3; do
    mpirun -np 3 "$bin" run "$job" -o "$work/kill.h5" -q --sync-every 0.2 >>"$logs/kill.log" 2>&1 &
    sleep "$delay"
    trials=$((trials + 1))
    # a kill counts only when it hit a live run (pkill found processes)
    pkill -9 -f "run $job -o $work/kill.h5" 2>/dev/null && kills=$((kills + 1))
    wait 2>/dev/null
    if [ -e "$work/kill.h5" ]; then
        "$bin" status "$work/kill.h5" >/dev/null 2>&1; st=$?
        if [ "$st" = 0 ] || [ "$st" = 3 ]; then opened=$((opened + 1)); else bad "after kill -9 at ${delay}s: status exit $st"; fi
    fi
done
[ "$kills" -ge 9 ] && ok || bad "only $kills of $trials kills hit a running job"
echo "kill -9 trials: $trials, $kills hit a live run, file present and readable after $opened of them" >>"$logs/kill.log"
RUN 3 0 run "$job" -o "$work/kill.h5" -q
SAME "$work/ref.h5" "$work/kill.h5"

# ---- kill -9 of one worker rank --------------------------------------------------------
mpirun -np 3 "$bin" run "$job" -o "$work/worker.h5" -q >"$logs/worker.log" 2>&1 &
pid=$!
sleep 1.2
victim=$(ranks_of "$work/worker.h5" | tail -n 1)
[ -n "$victim" ] && kill -9 "$victim"
wait $pid; st=$?
[ "$st" != 0 ] && ok || bad "killing a worker did not stop the job (exit $st)"
pkill -9 -f "$work/worker.h5" 2>/dev/null
sleep 0.2
RUN 0 3 status "$work/worker.h5"
RUN 3 0 run "$job" -o "$work/worker.h5" -q
SAME "$work/ref.h5" "$work/worker.h5"
grep -q "taken over\|stale" "$logs/case$case_no.log" && ok || bad "stale lock not reported on resume"

echo "engine: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
