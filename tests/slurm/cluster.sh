# A private single-node SLURM cluster for tests (POSIX sh, to be sourced).
# Follows notes/local-slurm.md: Debian's munge, slurmctld and slurmd, no systemd, no
# cgroups; everything (config, key copy, sockets, state, logs, pid files) under one
# private directory, with its own ports and munge socket, so the machine's own SLURM or
# munge (if any) and other test runs are left alone. Only processes started here are
# stopped, by the pids in their pid files.
#
#   . tests/slurm/cluster.sh
#   slurm_cluster_start DIR [CPUS] || skip   # exports SLURM_CONF; SLURM_CLUSTER_WHY on failure
#   ... sbatch / squeue / scancel ...
#   slurm_cluster_stop                        # idempotent; call it from trap EXIT
#
# Sets SLURM_CLUSTER_DIR, SLURM_CONF, SLURM_CLUSTER_CPUS.

slurm_cluster_here=$(cd "$(dirname "${SLURM_CLUSTER_SH:-tests/slurm/cluster.sh}")" && pwd)

# Packages the cluster needs; installs them when missing and we are root with apt-get.
# Returns 1 (reason in SLURM_CLUSTER_WHY) when they are missing and cannot be installed.
slurm_cluster_deps() {
    missing=""
    for p in slurmctld slurmd sbatch srun squeue scancel scontrol sinfo munged munge unmunge; do
        command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "slurm: missing:$missing -> apt-get install slurmctld slurmd slurm-client munge"
        export DEBIAN_FRONTEND=noninteractive
        if apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge \
                >/dev/null 2>&1 ||
           { apt-get update -qq >/dev/null 2>&1 &&
             apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge \
                >/dev/null 2>&1; }; then
            return 0
        fi
        SLURM_CLUSTER_WHY="apt-get install slurmctld slurmd slurm-client munge failed"
        return 1
    fi
    SLURM_CLUSTER_WHY="SLURM/munge not installed (missing:$missing) and cannot install (needs root and apt-get)"
    return 1
}

slurm_cluster_port() { # a TCP port nobody listens on, from a range keyed by our pid
    p=$(( 20000 + ($$ * 7 + $1) % 20000 ))
    while ss -ltn 2>/dev/null | awk '{print $4}' | grep -q ":$p\$"; do p=$((p + 1)); done
    echo "$p"
}

slurm_cluster_start() { # DIR [CPUS]
    SLURM_CLUSTER_DIR=$1
    SLURM_CLUSTER_WHY=""
    sbin=/usr/sbin
    [ "$(id -u)" = 0 ] || { SLURM_CLUSTER_WHY="not root (slurmd and munged need root)"; return 1; }
    slurm_cluster_deps || return 1
    id munge >/dev/null 2>&1 || { SLURM_CLUSTER_WHY="no munge user"; return 1; }
    d=$SLURM_CLUSTER_DIR
    mkdir -p "$d/munge" "$d/state" "$d/spool" "$d/log" || return 1
    chmod 711 "$d"
    # munge: a private daemon on a private socket, with a copy of the machine's key
    # (or a fresh one), run as the munge user (as root it refuses the key).
    chown munge:munge "$d/munge" && chmod 700 "$d/munge"
    if [ -r /etc/munge/munge.key ]; then
        cp /etc/munge/munge.key "$d/munge/munge.key"
    else
        mungekey --create --keyfile="$d/munge/munge.key" >/dev/null 2>&1 ||
            dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 2>/dev/null
    fi
    chown munge:munge "$d/munge/munge.key" && chmod 400 "$d/munge/munge.key"
    sock=$d/munge/munge.socket
    runuser -u munge -- "$sbin/munged" --socket="$sock" --key-file="$d/munge/munge.key" \
        --log-file="$d/munge/munged.log" --pid-file="$d/munge/munged.pid" \
        --seed-file="$d/munge/munged.seed" --force >"$d/log/munged.out" 2>&1 || {
        SLURM_CLUSTER_WHY="munged did not start: $(tail -n 2 "$d/log/munged.out" "$d/munge/munged.log" 2>/dev/null | tr '\n' ' ')"
        return 1; }
    i=0
    until munge -n --socket="$sock" 2>/dev/null | unmunge --socket="$sock" >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -gt 50 ] && { SLURM_CLUSTER_WHY="munged not answering"; return 1; }
        sleep 0.1
    done
    # slurm.conf from the template, with this machine's sockets/cores/memory (slurmd -C).
    hw=$("$sbin/slurmd" -C 2>/dev/null | head -n 1)
    val() { echo "$hw" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    cpus=$(val CPUs); sockets=$(val SocketsPerBoard); cores=$(val CoresPerSocket)
    threads=$(val ThreadsPerCore); mem=$(val RealMemory)
    [ -n "$cpus" ] && [ -n "$mem" ] || { SLURM_CLUSTER_WHY="slurmd -C failed: $hw"; return 1; }
    # CPUs claimed may exceed the real ones (config_overrides): the tests oversubscribe
    # small jobs on small CI machines. Cores = CPUs, one thread each.
    want=${2:-$cpus}
    [ "$want" -ge "$cpus" ] || want=$cpus
    SLURM_CLUSTER_CPUS=$want
    sed -e "s|@DIR@|$d|g" -e "s|@CPUS@|$want|g" -e "s|@MEM@|$((mem * 95 / 100))|g" \
        -e "s|@CTLD_PORT@|$(slurm_cluster_port 1)|g" -e "s|@SLURMD_PORT@|$(slurm_cluster_port 2)|g" \
        -e "s|@MUNGE_SOCKET@|$sock|g" \
        "$slurm_cluster_here/slurm.conf.in" >"$d/slurm.conf" || return 1
    export SLURM_CONF=$d/slurm.conf
    "$sbin/slurmctld" -f "$SLURM_CONF" >"$d/log/slurmctld.out" 2>&1 || {
        SLURM_CLUSTER_WHY="slurmctld did not start: $(tail -n 3 "$d/log/slurmctld.log" 2>/dev/null | tr '\n' ' ')"
        return 1; }
    "$sbin/slurmd" -f "$SLURM_CONF" -N localhost >"$d/log/slurmd.out" 2>&1 || {
        SLURM_CLUSTER_WHY="slurmd did not start: $(tail -n 3 "$d/log/slurmd.log" 2>/dev/null | tr '\n' ' ')"
        return 1; }
    i=0
    while :; do
        st=$(sinfo -h -n localhost -o %T 2>/dev/null)
        case "$st" in
            idle*) break ;;
            down*|drain*) scontrol update NodeName=localhost State=RESUME >/dev/null 2>&1 ;;
        esac
        i=$((i + 1))
        [ $i -gt 150 ] && { SLURM_CLUSTER_WHY="node not idle after 15 s (state '$st'): $(tail -n 3 "$d/log/slurmd.log" | tr '\n' ' ')"; return 1; }
        sleep 0.1
    done
    return 0
}

slurm_cluster_pidstop() { # pidfile: TERM, then KILL after 10 s
    [ -s "$1" ] || return 0
    pid=$(cat "$1")
    kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    return 0
}

slurm_cluster_stop() {
    [ -n "$SLURM_CLUSTER_DIR" ] && [ -d "$SLURM_CLUSTER_DIR" ] || return 0
    d=$SLURM_CLUSTER_DIR
    if [ -s "$d/slurmctld.pid" ] && kill -0 "$(cat "$d/slurmctld.pid")" 2>/dev/null; then
        ids=$(squeue -h -o %i 2>/dev/null)
        [ -n "$ids" ] && scancel $ids 2>/dev/null
    fi
    # slurmd kills the job processes it tracks (KillWait later with SIGKILL); MPI ranks
    # that outlive their job are the caller's to stop, by pid (tests/t_slurm.sh: the
    # pids in the results files' locks).
    slurm_cluster_pidstop "$d/slurmd.pid"
    slurm_cluster_pidstop "$d/slurmctld.pid"
    slurm_cluster_pidstop "$d/munge/munged.pid"
    SLURM_CLUSTER_DIR=""
}
