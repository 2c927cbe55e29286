/* lock: see include/lock.h. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char lock_squeue[256] = "squeue";

void lock_set_squeue(const char *prog) { snprintf(lock_squeue, sizeof lock_squeue, "%s", prog); }

/* The fields of /proc/PID/stat after the command name (which may contain spaces) into
 * buf; NULL when the process does not exist. */
static const char *lock_proc_stat(long pid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p + 2 : NULL;
}

/* Start time of a process (clock ticks since boot, /proc/PID/stat field 22); 0 = unknown. */
static unsigned long long lock_pid_start(long pid)
{
    char buf[1024];
    const char *p = lock_proc_stat(pid, buf, sizeof buf);
    unsigned long long start = 0;
    if (p && sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
                       "%*d %*d %*d %llu", &start) != 1)
        start = 0;
    return start;
}

static void lock_self(Lock *lk, const char *results_path, const char *command)
{
    memset(lk, 0, sizeof *lk);
    snprintf(lk->path, sizeof lk->path, "%s.lock", results_path);
    gethostname(lk->host, sizeof lk->host - 1);
    lk->pid = (long)getpid();
    lk->pid_start = lock_pid_start(lk->pid);
    const char *job = getenv("SLURM_JOB_ID"), *rc = getenv("SLURM_RESTART_COUNT");
    snprintf(lk->slurm_job_id, sizeof lk->slurm_job_id, "%s", job ? job : "");
    lk->slurm_restart_count = job ? (rc ? atoi(rc) : 0) : -1;
    lk->start = (long)time(NULL);
    snprintf(lk->command, sizeof lk->command, "%s", command ? command : "");
}

static int lock_format(const Lock *lk, char *buf, size_t len)
{
    return snprintf(buf, len,
                    "host=%s\npid=%ld\npid_start=%llu\nslurm_job_id=%s\n"
                    "slurm_restart_count=%d\nstart=%ld\ncommand=%s\n",
                    lk->host, lk->pid, lk->pid_start, lk->slurm_job_id,
                    lk->slurm_restart_count, lk->start, lk->command);
}

int lock_read(const char *lock_path, Lock *lk)
{
    char line[1024];
    int seen = 0;
    FILE *f = fopen(lock_path, "r");
    if (!f)
        return -1;
    memset(lk, 0, sizeof *lk);
    snprintf(lk->path, sizeof lk->path, "%s", lock_path);
    lk->slurm_restart_count = -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *k = line, *v = eq + 1;
        if (!strcmp(k, "host"))
            seen |= 1, snprintf(lk->host, sizeof lk->host, "%s", v);
        else if (!strcmp(k, "pid"))
            seen |= 2, lk->pid = atol(v);
        else if (!strcmp(k, "pid_start"))
            lk->pid_start = strtoull(v, NULL, 10);
        else if (!strcmp(k, "slurm_job_id"))
            snprintf(lk->slurm_job_id, sizeof lk->slurm_job_id, "%s", v);
        else if (!strcmp(k, "slurm_restart_count"))
            lk->slurm_restart_count = atoi(v);
        else if (!strcmp(k, "start"))
            lk->start = atol(v);
        else if (!strcmp(k, "command"))
            snprintf(lk->command, sizeof lk->command, "%s", v);
    }
    fclose(f);
    return seen == 3 && lk->pid > 0 ? 0 : -1;
}

/* Creates lk->path with lk's content, atomically. 0 created, 1 exists, -1 error. */
static int lock_create(const Lock *lk)
{
    char tmp[4400], buf[2048];
    int len = lock_format(lk, buf, sizeof buf);
    snprintf(tmp, sizeof tmp, "%s.%s.%ld.tmp", lk->path, lk->host, lk->pid);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    int ok = write(fd, buf, (size_t)len) == len && fsync(fd) == 0;
    close(fd);
    int rc = -1;
    if (ok && link(tmp, lk->path) == 0)
        rc = 0;
    else if (ok && errno == EEXIST)
        rc = 1;
    else if (ok && (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP || errno == ENOSYS)) {
        /* No hard links here: O_EXCL create (a reader may briefly see it empty). */
        fd = open(lk->path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0)
            rc = errno == EEXIST ? 1 : -1;
        else {
            rc = write(fd, buf, (size_t)len) == len && fsync(fd) == 0 ? 0 : -1;
            close(fd);
        }
    }
    unlink(tmp);
    return rc;
}

/* squeue's verdict on a SLURM job: 1 gone, 0 alive, -1 cannot tell. */
static int lock_slurm_gone(const char *job)
{
    if (!job[0] || strspn(job, "0123456789_") != strlen(job))
        return -1;
    char cmd[512], out[512] = "";
    snprintf(cmd, sizeof cmd, "%s -h -j %s -o %%T 2>&1", lock_squeue, job);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) == 127)
        return -1; /* no squeue here */
    if (WEXITSTATUS(st) != 0)
        return strstr(out, "Invalid job id") ? 1 : -1;
    static const char *const done[] = {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT",
                                       "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY",
                                       "BOOT_FAIL", "DEADLINE", NULL};
    if (out[strspn(out, " \t\n")] == '\0')
        return 1; /* no longer listed */
    for (int i = 0; done[i]; i++)
        if (strncmp(out + strspn(out, " \t\n"), done[i], strlen(done[i])) == 0)
            return 1;
    return 0;
}

/* A killed process whose parent is gone stays a zombie where PID 1 does not reap
 * (containers): kill(pid, 0) still succeeds, but it holds nothing. */
static int lock_pid_zombie(long pid)
{
    char buf[1024];
    const char *p = lock_proc_stat(pid, buf, sizeof buf);
    return p && *p == 'Z';
}

/* 1 when `other` is provably stale from `self`'s point of view (reason in why). */
static int lock_is_stale(const Lock *other, const Lock *self, char *why, size_t len)
{
    if (strcmp(other->host, self->host) == 0) {
        if ((kill((pid_t)other->pid, 0) != 0 && errno == ESRCH) || lock_pid_zombie(other->pid)) {
            snprintf(why, len, "process %ld no longer exists on %.200s", other->pid, other->host);
            return 1;
        }
        unsigned long long now = lock_pid_start(other->pid);
        if (other->pid_start && now && now != other->pid_start) {
            snprintf(why, len, "pid %ld on %.200s is now another process", other->pid, other->host);
            return 1;
        }
        /* The owner is alive here: never stale, whatever SLURM says. After scancel or a
         * requeue the job leaves squeue while its ranks still drain and write. */
        return 0;
    }
    if (other->slurm_job_id[0] && strcmp(other->slurm_job_id, self->slurm_job_id) == 0
        && other->slurm_restart_count < self->slurm_restart_count) {
        snprintf(why, len, "it is from restart %d of this SLURM job (now restart %d)",
                 other->slurm_restart_count, self->slurm_restart_count);
        return 1;
    }
    if (other->slurm_job_id[0] && strcmp(other->slurm_job_id, self->slurm_job_id) != 0
        && lock_slurm_gone(other->slurm_job_id) == 1) {
        snprintf(why, len, "SLURM job %s is no longer running", other->slurm_job_id);
        return 1;
    }
    return 0;
}

static int lock_same_owner(const Lock *a, const Lock *b)
{
    return strcmp(a->host, b->host) == 0 && a->pid == b->pid && a->pid_start == b->pid_start
           && a->start == b->start;
}

static void lock_held_msg(const Lock *o, char *msg, size_t len)
{
    char when[32] = "?";
    time_t t = (time_t)o->start;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&t));
    snprintf(msg, len,
             "%s is held by host %s pid %ld%s%s since %s; if that job is certainly gone, "
             "remove it: rm %s",
             o->path, o->host, o->pid, o->slurm_job_id[0] ? ", SLURM job " : "",
             o->slurm_job_id, when, o->path);
}

/* Moves the stale lock aside and checks it is the one judged stale (not a newer lock
 * some other process made meanwhile). 0 moved, -1 it was not ours to move. */
static int lock_move_aside(const Lock *stale, const Lock *self)
{
    char aside[4400];
    Lock again;
    snprintf(aside, sizeof aside, "%s.stale.%s.%ld", self->path, self->host, self->pid);
    if (rename(self->path, aside) != 0)
        return -1;
    if (lock_read(aside, &again) == 0 && lock_same_owner(&again, stale)) {
        unlink(aside);
        return 0;
    }
    if (link(aside, self->path) == 0) /* put the newer lock back (never overwrites) */
        unlink(aside);
    return -1;
}

int lock_acquire(const char *results_path, const char *command, Lock *lk, char *msg,
                 size_t msglen)
{
    Lock other;
    char why[256] = "";
    lock_self(lk, results_path, command);
    msg[0] = '\0';
    for (int tries = 0; tries < 3; tries++) {
        int c = lock_create(lk);
        if (c < 0) {
            snprintf(msg, msglen, "cannot create %s: %s", lk->path, strerror(errno));
            return LOCK_ERR;
        }
        if (c == 0) {
            lk->ours = 1;
            return tries && why[0] ? LOCK_TAKEN_OVER : LOCK_ACQUIRED;
        }
        why[0] = '\0';
        if (lock_read(lk->path, &other) != 0) {
            if (access(lk->path, F_OK) != 0)
                continue; /* released meanwhile: try again */
            snprintf(msg, msglen, "%s exists but cannot be parsed; check it, then: rm %s",
                     lk->path, lk->path);
            return LOCK_HELD;
        }
        if (!lock_is_stale(&other, lk, why, sizeof why)) {
            lock_held_msg(&other, msg, msglen);
            return LOCK_HELD;
        }
        if (lock_move_aside(&other, lk) != 0)
            continue; /* changed under us: look again */
        snprintf(msg, msglen, "taking over stale lock %s of host %s pid %ld%s%s: %s", lk->path,
                 other.host, other.pid, other.slurm_job_id[0] ? " SLURM job " : "",
                 other.slurm_job_id, why);
    }
    if (lock_read(lk->path, &other) == 0)
        lock_held_msg(&other, msg, msglen);
    else
        snprintf(msg, msglen, "%s keeps changing; another job is starting on this file", lk->path);
    return LOCK_HELD;
}

int lock_release(Lock *lk)
{
    Lock cur;
    if (!lk || !lk->ours)
        return 0;
    lk->ours = 0;
    if (lock_read(lk->path, &cur) != 0 || !lock_same_owner(&cur, lk))
        return -1; /* not ours any more: leave it */
    return unlink(lk->path) == 0 ? 0 : -1;
}
