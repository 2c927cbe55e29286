#!/bin/sh
# Faults on one rank, one line per case (STYLE point 13): every create/open/flush/close
# path, a worker's row write and the journal write fail on purpose (LAZYSWEEP_FAULT, see
# include/fault.h) and the job must stop together — bounded wall time (timeout: a hang
# fails the case), the right exit status, one line naming the cause — then resume to a
# file bitwise equal to an undisturbed run, nothing finished lost or rerun. Also: ranks
# in different directories; a task that kills its rank (counted, then `crashed`); the
# shared done predicate; hand-edited and empty files refused byte-identical with exit 2;
# damaged, foreign and garbage journals; --time-limit passing over tasks that do not fit;
# the disk filling up during the create step and during the run (tmpfs, as root).
# Logs: build/tests/logs/faults/.
top=$(pwd)
bin=$top/build/lazysweep
py=/usr/bin/python3
job=$top/tests/jobs/faults.ini
logs=$top/build/tests/logs/faults
mkdir -p "$logs"
work=$(mktemp -d /tmp/lazysweep-faults.XXXXXX)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export LAZYSWEEP_COLLECTIVE_TIMEOUT=5 LAZYSWEEP_VISIBLE_SECONDS=1 LAZYSWEEP_FAULT= LAZYSWEEP_FAULT_TASK=
pass=0; fail=0; case_no=0
mnt=""
cleanup() {
    [ -n "$mnt" ] && umount "$mnt" 2>/dev/null
    for p in $(pgrep -f "$work/" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# RUN NP EXPECTED_STATUS ARGS...: lazysweep under mpirun with NP ranks (0: without mpirun),
# killed after 60 s (a hang fails); checks the exit status, prints the command on failure.
RUN() {
    np=$1; want=$2; shift 2
    case_no=$((case_no + 1))
    log=$logs/case$case_no.log
    if [ "$np" = 0 ]; then set -- "$bin" "$@"
    else set -- mpirun -np "$np" -x LAZYSWEEP_FAULT -x LAZYSWEEP_FAULT_TASK -x LAZYSWEEP_COLLECTIVE_TIMEOUT "$bin" "$@"; fi
    timeout -k 5 60 "$@" >"$log" 2>&1; st=$?
    if [ "$st" = 124 ] || [ "$st" = 137 ]; then bad "HANG (killed after 60 s): $* (log $log)"
    elif [ "$st" = "$want" ]; then ok
    else bad "exit $st, want $want: LAZYSWEEP_FAULT=${LAZYSWEEP_FAULT:-} $* (log $log)"; tail -n 5 "$log"; fi
    return 0
}
SAYS() { # the last case's log contains the text
    grep -q -- "$1" "$logs/case$case_no.log" && ok || { bad "case $case_no: no '$1' (log $logs/case$case_no.log)"; tail -n 4 "$logs/case$case_no.log"; }
}
SAME() { # FILE [--except IDS]: bitwise equal in science to the reference
    if "$py" "$top/tests/h5compare.py" "$work/ref.h5" "$@" >"$logs/compare.log" 2>&1; then ok
    else bad "results differ: $*"; cat "$logs/compare.log"; fi
}
ATTEMPTS1() { # every task of FILE ran exactly once (none lost and rerun)
    n=$("$py" -c "import h5py,sys; r=h5py.File(sys.argv[1],'r',locking=False)['results']['attempts']; print(int((r!=1).sum()))" "$1" 2>&1)
    [ "$n" = 0 ] && ok || bad "$1: $n tasks ran more than once (or never)"
}
sum() { md5sum "$1" | cut -d' ' -f1; }
done_count() { "$bin" status "$1" --json 2>/dev/null | "$py" -c "import json,sys; print(json.load(sys.stdin)['done'])"; }
fresh() { rm -f "$work/$1" "$work/$1".*; }

RUN 0 0 run "$job" -o "$work/ref.h5" -q

# ---- every fault point: stop together, exit 1, resume bitwise, nothing rerun ----------
export LAZYSWEEP_FAULT=create@0
fresh c.h5; RUN 3 1 run "$job" -o "$work/c.h5" -q
SAYS "cannot create dataset /results: No space left on device"
[ ! -e "$work/c.h5" ] && [ ! -e "$work/c.h5.creating" ] && [ ! -e "$work/c.h5.lock" ] && ok || bad "create failure left files"
RUN 0 1 run "$job" -o "$work/c.h5" -q
export LAZYSWEEP_FAULT=visible@2
fresh v.h5; RUN 3 1 run "$job" -o "$work/v.h5" -q
SAYS "rank 2 does not see the results file"
export LAZYSWEEP_FAULT=open@1
RUN 3 1 run "$job" -o "$work/v.h5" -q
SAYS "could not open the results file together"
export LAZYSWEEP_FAULT=
RUN 3 0 run "$job" -o "$work/v.h5" -q
SAME "$work/v.h5"
for f in row@2 row@1#3 journal@0#3 flush@1 close@2; do
    export LAZYSWEEP_FAULT=$f
    fresh f.h5; RUN 3 1 run "$job" -o "$work/f.h5" -q --sync-every 0.05
    export LAZYSWEEP_FAULT=
    "$bin" status "$work/f.h5" >/dev/null 2>&1; st=$?
    [ "$st" = 0 ] || [ "$st" = 3 ] && ok || bad "$f: the file is unreadable afterwards (status exit $st)"
    RUN 3 0 run "$job" -o "$work/f.h5" -q
    SAME "$work/f.h5"
    ATTEMPTS1 "$work/f.h5"
done
export LAZYSWEEP_FAULT=journal@0#2
fresh j1.h5; RUN 0 1 run "$job" -o "$work/j1.h5" -q      # one rank: never exit 0 with a short journal
SAYS "cannot write the journal: No space left on device"
export LAZYSWEEP_FAULT=
RUN 0 0 run "$job" -o "$work/j1.h5" -q
SAME "$work/j1.h5"
# a rank that leaves a collective step (an HDF5-internal error): the watchdog ends the job
export LAZYSWEEP_FAULT=flush-skip@1
fresh w.h5; t0=$(date +%s); RUN 3 1 run "$job" -o "$work/w.h5" -q --sync-every 0.05; t1=$(date +%s)
SAYS "the collective step 'flush' did not finish within 5 s"
[ $((t1 - t0)) -le 30 ] && ok || bad "watchdog took $((t1 - t0)) s"
export LAZYSWEEP_FAULT=
for p in $(pgrep -f "$work/w.h5"); do kill -9 "$p" 2>/dev/null; done; sleep 0.2
RUN 3 0 run "$job" -o "$work/w.h5" -q
SAME "$work/w.h5"

# ---- ranks started in different directories (what NFS caches do to a fresh file) ----
mkdir -p "$work/A" "$work/B"
case_no=$((case_no + 1)); log=$logs/case$case_no.log
( cd "$work" && timeout -k 5 60 mpirun -np 1 --wdir "$work/A" "$bin" run "$job" -o rel.h5 -q : \
      -np 2 --wdir "$work/B" "$bin" run "$job" -o rel.h5 -q ) >"$log" 2>&1
st=$?; [ "$st" = 0 ] && ok || bad "ranks in different directories: exit $st (log $log)"
[ -e "$work/A/rel.h5" ] && [ ! -e "$work/B/rel.h5" ] && ok || bad "the file is not where rank 0 put it"
cp "$work/A/rel.h5" "$work/rel.h5" && SAME "$work/rel.h5"

# ---- a task that kills its rank: attempts counted, last in the queue, then crashed ----
export LAZYSWEEP_FAULT_TASK=3907    # an RF task (N = 20, replicate 7)
fresh k.h5
for i in 1 2 3; do
    case_no=$((case_no + 1)); log=$logs/case$case_no.log
    timeout -k 5 60 mpirun -np 3 -x LAZYSWEEP_FAULT_TASK "$bin" run "$job" -o "$work/k.h5" -q >"$log" 2>&1
    st=$?; [ "$st" != 0 ] && [ "$st" != 124 ] && ok || bad "run $i with a rank-killing task: exit $st"
    for p in $(pgrep -f "$work/k.h5"); do kill -9 "$p" 2>/dev/null; done; sleep 0.3
done
grep -q "were running when a rank died; they run last, each on its own" "$logs/case$((case_no - 1)).log" && ok || bad "suspect not reported"
RUN 3 4 run "$job" -o "$work/k.h5" -q
SAYS "dispatched 3 times without a result"
RUN 0 4 status "$work/k.h5"
SAYS "failed (crashed): 1"
n=$("$py" -c "import h5py,sys; r=h5py.File(sys.argv[1],'r',locking=False)['results'][3907]; print(r['attempts'], r['cause'])" "$work/k.h5")
[ "$n" = "3 6" ] && ok || bad "crashed task: attempts and cause '$n', want '3 6'"
SAME "$work/k.h5" --except 3907
export LAZYSWEEP_FAULT_TASK=
RUN 3 0 run "$job" -o "$work/k.h5" -q --retry-failed
SAME "$work/k.h5"

# ---- a workspace that cannot be allocated fails its task (nomem), never the job -----------
RUN 0 4 run "$top/tests/jobs/nomem.ini" -o "$work/nm.h5" -q --mem-per-rank 1T
RUN 0 4 status "$work/nm.h5"
SAYS "failed (nomem): 1"

# ---- one definition of done: a marker without its row is pending everywhere -----------
cp "$work/ref.h5" "$work/m.h5"
"$py" - "$work/m.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r+")
r = f["results"][5:6]
r["attempts"] = 0; r["risk_pop"] = np.nan
f["results"][5:6] = r          # row gone, marker left DONE
f.close()
PY
RUN 0 3 status "$work/m.h5"
pyd=$(PYTHONPATH=$top/analysis "$py" -c "import lazysweep, sys; print(int(lazysweep.load(sys.argv[1])['done'].sum()))" "$work/m.h5" 2>&1)
[ "$pyd" = "$(done_count "$work/m.h5")" ] && [ "$pyd" = 7999 ] && ok || bad "analysis done $pyd, status $(done_count "$work/m.h5"), want 7999"
RUN 0 0 run "$job" -o "$work/m.h5" -q
SAYS "this run: 1 done"
SAME "$work/m.h5"

# ---- refusals: exit 2, one line, the file byte-identical --------------------------------
edit() { # NAME PYTHON: a copy of the reference, edited
    cp "$work/ref.h5" "$work/$1.h5"; rm -f "$work/$1.h5.journal"
    "$py" -c "import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r+')
$2
f.close()" "$work/$1.h5"
}
edit tc1 "f.attrs.modify('task_count', np.int64(-1))"
edit tc2 "f.attrs.modify('task_count', np.int64(10**12))"
edit slen "del f['status']; f.create_dataset('status', data=np.zeros(10, np.uint8))"
edit styp "s = f['status'][()]; del f['status']; f.create_dataset('status', data=s.astype(np.float64))"
edit natt "r = f['results'][()]; names = [n for n in r.dtype.names if n != 'attempts']
del f['results']; f.create_dataset('results', data=r[names])"
: >"$work/zero.h5"
echo "not hdf5" >"$work/text.h5"
for name in tc1 tc2 slen styp natt zero text; do
    b=$(sum "$work/$name.h5")
    for cmd in status aggregate repair; do
        RUN 0 2 $cmd "$work/$name.h5"
        [ "$(grep -c . "$logs/case$case_no.log")" = 1 ] && ok || bad "$cmd $name: not one line: $(cat "$logs/case$case_no.log")"
    done
    RUN 0 2 run "$job" -o "$work/$name.h5" -q
    [ "$(sum "$work/$name.h5")" = "$b" ] && ok || bad "$name: refused file changed"
done
grep -h . "$logs"/case*.log | grep -q "task_count is -1" && ok || bad "no message naming task_count"
edit old "r = f['results'][()]; names = [n for n in r.dtype.names if n not in ('restarts', 'error_floor')]
del f['results']; f.create_dataset('results', data=r[names])"
RUN 0 0 status "$work/old.h5"                  # an older file without the newer members
RUN 0 0 run "$job" -o "$work/old.h5" -q        # stays resumable

# ---- journals: damaged, empty, foreign or garbage never take DONE away ------------------
cp "$work/ref.h5" "$work/r.h5"; : >"$work/r.h5.journal"
b=$(sum "$work/r.h5")
RUN 0 0 repair "$work/r.h5"                    # empty journal: nothing to add, nothing reset
[ "$(sum "$work/r.h5")" = "$b" ] && ok || bad "repair with an empty journal changed the file"
printf '# lazysweep-journal 2 job=0123456789abcdef\n' >"$work/r.h5.journal"
RUN 0 2 repair "$work/r.h5"
SAYS "the journal of another job"
[ "$(sum "$work/r.h5")" = "$b" ] && ok || bad "repair with a foreign journal changed the file"
"$py" -c "import h5py,sys; f=h5py.File(sys.argv[1],'r+'); f['status'][100:200]=0" "$work/r.h5"
head -c 3000 "$work/ref.h5.journal" >"$work/r.h5.journal"   # truncated mid-line
RUN 0 0 repair "$work/r.h5"
RUN 0 3 status "$work/r.h5"                    # still pending where the journal knew nothing
RUN 0 0 run "$job" -o "$work/r.h5" -q
SAME "$work/r.h5"
echo "garbage, not a journal" >"$work/r.h5.journal"
RUN 0 0 run "$job" -o "$work/r.h5" -q
SAYS "moved to"
[ -s "$work/r.h5.journal.1" ] && head -n 1 "$work/r.h5.journal" | grep -q "^# lazysweep-journal" && ok \
    || bad "garbage journal not moved aside and replaced"

# ---- --time-limit passes over tasks that cannot finish in time, runs those that can ----
RUN 0 3 run "$top/tests/jobs/timelimit.ini" -o "$work/tl.h5" -q --time-limit 30
"$bin" status "$work/tl.h5" --json | grep -q '"regime": "rf", "done": 20, "failed": 0, "pending": 0}' && ok \
    || bad "time limit: the small tasks did not run ($("$bin" status "$work/tl.h5" --json))"

# ---- the disk fills up (a small tmpfs; root only) -----------------------------------------
if [ "$(id -u)" = 0 ] && mkdir -p "$work/mnt" && mount -t tmpfs -o size=3m tmpfs "$work/mnt" 2>/dev/null; then
    mnt=$work/mnt
    sed 's/^curve_points = .*/curve_points = 2000/' "$top/tests/jobs/engine.ini" >"$work/big.ini"
    RUN 3 1 run "$work/big.ini" -o "$mnt/big.h5" -q          # the create step does not fit
    SAYS "No space left on device"
    [ ! -e "$mnt/big.h5" ] && [ ! -e "$mnt/big.h5.creating" ] && ok || bad "disk full at create left a file"
    rm -f "$mnt"/*
    size=$(stat -c %s "$work/ref.h5")
    # leave room for the file and a part of its journal
    head -c $((3 * 1024 * 1024 - size - 400 * 1024)) /dev/zero >"$mnt/ballast" 2>/dev/null
    RUN 3 1 run "$job" -o "$mnt/d.h5" -q                      # the journal fills the disk
    SAYS "cannot write the journal: No space left on device"
    done0=$(done_count "$mnt/d.h5")
    RUN 0 0 repair "$mnt/d.h5"                               # on the full disk: adds, never resets
    done1=$(done_count "$mnt/d.h5")
    [ -n "$done0" ] && [ "${done1:-0}" -ge "$done0" ] && [ "$done0" -gt 0 ] && ok || bad "repair on a full disk: done $done0 -> $done1"
    cp "$mnt/d.h5" "$mnt/d.h5.journal" "$work/"
    RUN 3 0 run "$job" -o "$work/d.h5" -q                     # resumed where there is room
    SAME "$work/d.h5"
    ATTEMPTS1 "$work/d.h5"
    umount "$mnt" && mnt=""
else
    echo "SKIP faults/disk-full: needs root and tmpfs"
fi

# ---- the test runner: a skipped group is reported as skipped; as root SLURM must run ------
mkdir -p "$work/runner/tests"   # (its own runs: RUN_SH_ONLY, when this test was picked by it, is cleared)
printf 'echo "SKIP slurm: no slurmd"\necho "slurm: 0 passed, 0 failed"\n' >"$work/runner/tests/t_slurm.sh"
printf 'echo "x: 3 passed, 0 failed"\n' >"$work/runner/tests/t_x.sh"
( cd "$work/runner" && RUN_SH_ONLY= LAZYSWEEP_ALLOW_SKIP=1 sh "$top/tests/run.sh" ) >"$logs/runner1.log" 2>&1; st=$?
[ "$st" = 0 ] && grep -q "^skip   t_slurm" "$logs/runner1.log" && grep -q "3 passed, 0 failed, 1 skipped" "$logs/runner1.log" \
    && ok || bad "runner: a skip is not reported as skipped ($(cat "$logs/runner1.log"))"
if [ "$(id -u)" = 0 ]; then
    ( cd "$work/runner" && RUN_SH_ONLY= LAZYSWEEP_ALLOW_SKIP= sh "$top/tests/run.sh" ) >"$logs/runner2.log" 2>&1
    [ $? != 0 ] && grep -q "skipped while running as root" "$logs/runner2.log" && ok \
        || bad "runner: as root a skipped SLURM group does not fail the run"
fi

echo "faults: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
