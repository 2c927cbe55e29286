#!/bin/sh
# SLURM, for real: starts a private single-node cluster (tests/slurm/cluster.sh: munge,
# slurmctld, slurmd from Debian, no systemd, no cgroups) and runs sweeps through
# slurm/submit and slurm/lazysweep.sbatch:
#   (a) a sweep interrupted by USR1 (as from --signal=B:USR1@LEAD) in two allocations
#       finishes unattended in a third, bitwise equal to a direct mpirun run;
#   (b) scancel mid-run stops the chain; submitting again completes the file;
#   (c) two submissions on one file never run at once (singleton; the lock refuses a
#       third writer), the chain by resubmission works, the result is complete and equal.
# Needs root (slurmd, munged); installs the SLURM packages when missing and it can,
# otherwise prints SKIP and why. Everything it starts is stopped on exit, by pid.
top=$(pwd)
bin=$top/build/lazysweep
job=$top/tests/jobs/slurm.ini
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { # description command...
    d=$1; shift
    if "$@"; then ok "$d"; else bad "$d: $*"; fi
}
skip() {
    echo "SKIP slurm: $*"
    echo "slurm: 0 passed, 0 failed"
    exit 0
}
[ "$(id -u)" = 0 ] || skip "not root (slurmd and munged must run as root); run make check as root"
command -v mpirun >/dev/null 2>&1 || skip "no mpirun"
[ -x "$bin" ] || { echo "FAIL $bin missing: run make"; echo "slurm: 0 passed, 1 failed"; exit 1; }

SLURM_CLUSTER_SH=$top/tests/slurm/cluster.sh
. "$SLURM_CLUSTER_SH"
work=$(mktemp -d /tmp/lazysweep-slurm.XXXXXX)
chmod 711 "$work"   # munged runs as the munge user under it
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

cleanup() {
    slurm_cluster_stop
    # ranks that outlived their job: the pids in the lock files (rank 0 of our runs)
    for l in "$work"/*.lock; do
        [ -e "$l" ] || continue
        p=$(sed -n 's/^pid=//p' "$l")
        [ -n "$p" ] && kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
    done
    if [ "$fail" -ne 0 ]; then
        echo "logs kept in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

echo "starting a SLURM cluster under $work/cluster"
t_start=$(date +%s)
slurm_cluster_start "$work/cluster" 4 || skip "cannot start a SLURM cluster: $SLURM_CLUSTER_WHY (logs: $work/cluster/log)"
echo "cluster up ($SLURM_CLUSTER_CPUS CPUs) in $(( $(date +%s) - t_start )) s"

submit() { "$top/slurm/submit" "$@" --ntasks 3 --lazysweep "$bin"; }
jobid() { sed -n 's/^submitted job \([0-9]*\) .*/\1/p' "$1"; }
state() { squeue -h -t all -j "$1" -o %T 2>/dev/null | head -n 1; }
exitcode() { scontrol show job "$1" 2>/dev/null | sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p' | head -n 1; }
lock_restart() { # results file -> restart count in its lock, or empty
    sed -n 's/^slurm_restart_count=//p' "$1.lock" 2>/dev/null
}
wait_lock() { # results file, SLURM job, restart count, timeout: until that allocation holds the lock
    i=0
    while [ $i -lt $(($4 * 10)) ]; do
        if [ "$(sed -n 's/^slurm_job_id=//p' "$1.lock" 2>/dev/null)" = "$2" ] &&
           [ "$(lock_restart "$1")" = "$3" ]; then return 0; fi
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
results() { n=$(grep -c '^R ' "$1.journal" 2>/dev/null); echo "${n:-0}"; } # result lines of a journal
wait_journal() { # results file, results, timeout: until that many tasks are journaled
    i=0
    while [ $i -lt $(($3 * 10)) ]; do
        [ "$(results "$1")" -ge "$2" ] && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
wait_gone() { # job, timeout: until the job has left the running/pending states
    i=0
    while [ $i -lt $(($2 * 5)) ]; do
        case "$(state "$1")" in PENDING|RUNNING|REQUEUED|REQUEUE_HOLD|REQUEUE_FED|COMPLETING|CONFIGURING|SUSPENDED) ;; *) return 0 ;; esac
        sleep 0.2; i=$((i + 1))
    done
    return 1
}
equal() { /usr/bin/python3 "$top/tests/h5compare.py" "$1" "$2" >"$work/cmp.log" 2>&1; }

# ---- reference: the same job straight through mpirun --------------------------------
t0=$(date +%s)
mpirun -np 3 "$bin" run "$job" -o "$work/ref.h5" >"$work/ref.log" 2>&1
check "mpirun -np 3 lazysweep run slurm.ini (reference, $(( $(date +%s) - t0 )) s)" [ $? -eq 0 ]

# ---- submit refuses a bad job: exit 2, nothing queued, no file ---------------------
"$top/slurm/submit" "$top/tests/jobs/bad/bad_int.ini" -o "$work/bad.h5" --lazysweep "$bin" >"$work/bad.out" 2>&1
st=$?
check "submit bad_int.ini: exit 2 (got $st)" [ $st -eq 2 ]
check "submit bad_int.ini: nothing queued, no file" [ -z "$(squeue -h -o %i)$(ls "$work"/bad.h5* 2>/dev/null)" ]
"$top/slurm/submit" "$job" --lazysweep "$bin" >/dev/null 2>&1
check "submit without -o: exit 2" [ $? -eq 2 ]

# ---- (a) three allocations, unattended ------------------------------------------------
# USR1 to the batch shell (what --signal=B:USR1@LEAD sends, but at a time we choose:
# SLURM's own timing is coarse) once allocations 1 and 2 have each finished 40 tasks of
# 288 (counted in the journal); the script forwards it,
# lazysweep drains and exits 3, the script requeues the job; allocation 3 finishes.
t0=$(date +%s)
submit "$job" -o "$work/a.h5" >"$work/a.submit" 2>&1
a=$(jobid "$work/a.submit")
check "(a) submit: job id printed" [ -n "$a" ]
for k in 0 1; do
    # 40 more tasks than when this allocation took the lock: independent of how many the
    # previous allocation finished while draining, and of how fast the tasks are
    if wait_lock "$work/a.h5" "$a" "$k" 90 &&
        base=$(results "$work/a.h5") &&
        wait_journal "$work/a.h5" $((base + 40)) 60; then
        scancel -b -s USR1 "$a"
    else
        bad "(a) allocation $((k + 1)) did not start or progress within 90+60 s (state $(state "$a"))"
    fi
done
wait_gone "$a" 150
secs_a=$(( $(date +%s) - t0 ))
check "(a) job $a COMPLETED exit 0:0 (state $(state "$a"), exit $(exitcode "$a"), ${secs_a} s)" \
    [ "$(state "$a") $(exitcode "$a")" = "COMPLETED 0:0" ]
"$bin" status "$work/a.h5" >"$work/a.status" 2>&1
check "(a) lazysweep status: complete (exit 0)" [ $? -eq 0 ]
allocs=$(grep -c 'allocation [0-9]* of at most' "$work/a.slurm.log")
check "(a) $allocs allocations in one appended log (want >= 3)" [ "$allocs" -ge 3 ]
runs=$(grep -c "^run [0-9]*:.*SLURM job $a" "$work/a.status")
check "(a) status shows $runs run records of SLURM job $a (want >= 3)" [ "$runs" -ge 3 ]
"$bin" status "$work/a.h5" --json >"$work/a.json"
check "(a) run records carry restart counts up to 2" grep -q '"slurm_restart_count": 2' "$work/a.json"
check "(a) ... cluster name recorded" grep -q '"slurm_cluster": "lazysweep-test"' "$work/a.json"
check "(a) requeued (not resubmitted): one job id" grep -q "requeued job $a" "$work/a.slurm.log"
check "(a) results bitwise equal to the mpirun run" equal "$work/a.h5" "$work/ref.h5"
echo "(a) $allocs allocations, ${secs_a} s from submit to COMPLETED"

# ---- (b) scancel mid-run, then submit again ------------------------------------------
t0=$(date +%s)
submit "$job" -o "$work/b.h5" >"$work/b.submit" 2>&1
b=$(jobid "$work/b.submit")
if wait_lock "$work/b.h5" "$b" 0 90 && wait_journal "$work/b.h5" 60 60; then
    scancel "$b"
else
    bad "(b) job did not start or progress"
fi
wait_gone "$b" 60
check "(b) job $b CANCELLED (state $(state "$b"))" [ "$(state "$b")" = CANCELLED ]
sleep 3
check "(b) scancel stops the chain: nothing queued" [ -z "$(squeue -h -o %i)" ]
"$bin" status "$work/b.h5" >/dev/null 2>&1
check "(b) the file is incomplete and readable (status exit 3, got $?)" [ $? -eq 3 ]
submit "$job" -o "$work/b.h5" >"$work/b2.submit" 2>&1
b2=$(jobid "$work/b2.submit")
wait_gone "$b2" 150
check "(b) resubmitted job $b2 COMPLETED exit 0:0 (state $(state "$b2"), exit $(exitcode "$b2"))" \
    [ "$(state "$b2") $(exitcode "$b2")" = "COMPLETED 0:0" ]
"$bin" status "$work/b.h5" >/dev/null 2>&1
check "(b) status: complete" [ $? -eq 0 ]
check "(b) results bitwise equal to the mpirun run" equal "$work/b.h5" "$work/ref.h5"
echo "(b) $(( $(date +%s) - t0 )) s; lock wait: $(grep -h 'waiting up to' "$work/b.slurm.log" || echo none)"

# ---- (c) two submissions on one file -------------------------------------------------
# c1 chains by resubmission (a new job behind it, singleton); c2 is submitted while c1
# runs and must wait (reason Dependency), never running beside c1 or c1's successor.
t0=$(date +%s)
submit "$job" -o "$work/c.h5" --chain resubmit >"$work/c1.submit" 2>&1
c1=$(jobid "$work/c1.submit")
wait_lock "$work/c.h5" "$c1" 0 90 || bad "(c) c1 did not start"
submit "$job" -o "$work/c.h5" >"$work/c2.submit" 2>&1
c2=$(jobid "$work/c2.submit")
name=$(sed -n 's/^submitted job [0-9]* (\(.*\)) for .*/\1/p' "$work/c1.submit")
check "(c) second submission says it waits for job $c1" grep -q "waits for job(s) $c1" "$work/c2.submit"
i=0
while [ $i -lt 25 ] && [ "$(squeue -h -j "$c2" -o '%T %r')" != "PENDING Dependency" ]; do
    sleep 0.2; i=$((i + 1))
done
check "(c) job $c2 pending on Dependency while $c1 runs ($(squeue -h -j "$c2" -o '%T %r'))" \
    [ "$(squeue -h -j "$c2" -o '%T %r')" = "PENDING Dependency" ]
# a third writer outside SLURM is refused by the lock, file untouched
mpirun -np 2 "$bin" run "$job" -o "$work/c.h5" >"$work/c3.log" 2>&1
st=$?
check "(c) direct mpirun on the same file refused: exit 2 (got $st)" [ $st -eq 2 ]
check "(c) ... naming the owner (SLURM job $c1)" grep -q "held by .*SLURM job $c1" "$work/c3.log"
scancel -b -s USR1 "$c1"
max=0 i=0
while [ $i -lt 900 ] && [ -n "$(squeue -h -n "$name" -o %i)" ]; do
    n=$(squeue -h -n "$name" -t RUNNING,COMPLETING -o %i | wc -l)
    [ "$n" -gt "$max" ] && max=$n
    sleep 0.2; i=$((i + 1))
done
check "(c) at most one job of the file running at any time (saw $max)" [ "$max" -le 1 ]
check "(c) c1 resubmitted itself" grep -q "submitted job [0-9]* (allocation 2)" "$work/c.slurm.log"
# c1 stopped early and handed over: exit 3 (resumable; SLURM calls it FAILED)
check "(c) job $c1 ended with exit 3 (state $(state "$c1"), exit $(exitcode "$c1"))" \
    [ "$(exitcode "$c1")" = 3:0 ]
for j in $(squeue -h -t all -n "$name" -o %i); do
    [ "$j" = "$c1" ] && continue
    check "(c) job $j COMPLETED exit 0:0 (state $(state "$j"), exit $(exitcode "$j"))" \
        [ "$(state "$j") $(exitcode "$j")" = "COMPLETED 0:0" ]
done
"$bin" status "$work/c.h5" >/dev/null 2>&1
check "(c) status: complete" [ $? -eq 0 ]
check "(c) results bitwise equal to the mpirun run" equal "$work/c.h5" "$work/ref.h5"
echo "(c) $(( $(date +%s) - t0 )) s"

echo "total $(( $(date +%s) - t_start )) s"
echo "slurm: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
