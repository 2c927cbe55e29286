/* test_lock: acquire; a second acquire refused with a message naming the owner; stale
 * locks (dead pid on this host, reused pid, gone SLURM job, earlier restart of our own
 * job) taken over with a warning; another host's lock never assumed stale without
 * squeue; release only of our own lock. squeue is replaced by small scripts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "lock.h"

static char dir[] = "/tmp/test_lock.XXXXXX";
static char results[256], lockp[300], msg[1024];

static void write_lock(const char *host, long pid, const char *start, const char *job, int restart)
{
    FILE *f = fopen(lockp, "w");
    fprintf(f, "host=%s\npid=%ld\npid_start=%s\nslurm_job_id=%s\nslurm_restart_count=%d\n"
               "start=1700000000\ncommand=lazysweep run x.ini\n", host, pid, start, job, restart);
    fclose(f);
}

static void fake_squeue(const char *name, const char *body)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    chmod(p, 0755);
    lock_set_squeue(p);
}

static int acquire(Lock *lk) { return lock_acquire(results, "test_lock", lk, msg, sizeof msg); }

int main(void)
{
    Lock a, b, c;
    char host[256] = "";
    if (!mkdtemp(dir))
        return 1;
    gethostname(host, sizeof host - 1);
    snprintf(results, sizeof results, "%s/r.h5", dir);
    snprintf(lockp, sizeof lockp, "%s.lock", results);
    unsetenv("SLURM_JOB_ID");
    unsetenv("SLURM_RESTART_COUNT");

    GROUP("basic");
    CHECK(acquire(&a) == LOCK_ACQUIRED, "first acquire: %s", msg);
    CHECK(lock_read(lockp, &c) == 0 && c.pid == (long)getpid() && strcmp(c.host, host) == 0
              && c.pid_start > 0 && strcmp(c.command, "test_lock") == 0, "lock content");
    pid_t kid = fork();
    if (kid == 0) { /* another live process on this host */
        Lock k;
        char m[1024];
        int rc = lock_acquire(results, "kid", &k, m, sizeof m);
        printf("child: %s\n", m);
        fflush(stdout);
        _exit(rc == LOCK_HELD && strstr(m, "rm ") && strstr(m, lockp) ? 0 : 1);
    }
    int st;
    waitpid(kid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "second acquire (live owner) refused, message names rm PATH.lock");
    CHECK(acquire(&b) == LOCK_HELD && strstr(msg, host) && strstr(msg, "pid"), "held: %s", msg);
    CHECK(lock_release(&a) == 0 && access(lockp, F_OK) != 0, "release removes it");
    CHECK(lock_release(&a) == 0, "second release is a no-op");

    GROUP("stale");
    kid = fork();
    if (kid == 0) { /* takes the lock and dies without releasing it */
        Lock k;
        char m[1024];
        lock_acquire(results, "dies", &k, m, sizeof m);
        _exit(0);
    }
    waitpid(kid, &st, 0);
    CHECK(lock_read(lockp, &c) == 0 && c.pid == (long)kid, "dead child's lock left behind");
    CHECK(acquire(&a) == LOCK_TAKEN_OVER && strstr(msg, "no longer exists"), "dead pid: %s", msg);
    CHECK(lock_read(lockp, &c) == 0 && c.pid == (long)getpid(), "now ours");
    lock_release(&a);
    write_lock(host, (long)getppid(), "1", "", -1); /* a live pid that started at another time */
    CHECK(acquire(&a) == LOCK_TAKEN_OVER && strstr(msg, "another process"), "reused pid: %s", msg);
    lock_release(&a);

    GROUP("other host");
    lock_set_squeue("/nonexistent/squeue");
    write_lock("elsewhere-node", 1234, "0", "", -1);
    CHECK(acquire(&a) == LOCK_HELD && strstr(msg, "elsewhere-node") && strstr(msg, "1234"), "no SLURM: held: %s", msg);
    write_lock("elsewhere-node", 1234, "0", "4242", 0);
    CHECK(acquire(&a) == LOCK_HELD && strstr(msg, "4242"), "no squeue: not assumed stale: %s", msg);
    fake_squeue("sq_running", "echo RUNNING");
    CHECK(acquire(&a) == LOCK_HELD, "squeue RUNNING: held");
    fake_squeue("sq_empty", "exit 0");
    CHECK(acquire(&a) == LOCK_TAKEN_OVER && strstr(msg, "4242"), "squeue lists nothing: %s", msg);
    lock_release(&a);
    write_lock("elsewhere-node", 1234, "0", "4242", 0);
    fake_squeue("sq_invalid", "echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1");
    CHECK(acquire(&a) == LOCK_TAKEN_OVER, "squeue: invalid job id: %s", msg);
    lock_release(&a);
    write_lock("elsewhere-node", 1234, "0", "4242", 0);
    fake_squeue("sq_down", "echo 'slurm_load_jobs error: Unable to contact slurm controller' >&2; exit 1");
    CHECK(acquire(&a) == LOCK_HELD, "squeue cannot reach the controller: held");
    fake_squeue("sq_done", "echo COMPLETED");
    CHECK(acquire(&a) == LOCK_TAKEN_OVER, "squeue COMPLETED: taken over");
    lock_release(&a);

    GROUP("requeue");
    lock_set_squeue("/nonexistent/squeue");
    write_lock("elsewhere-node", 99, "0", "777", 0);
    setenv("SLURM_JOB_ID", "777", 1);
    setenv("SLURM_RESTART_COUNT", "1", 1);
    CHECK(acquire(&a) == LOCK_TAKEN_OVER && strstr(msg, "restart 0"), "earlier restart of our job: %s", msg);
    CHECK(lock_read(lockp, &c) == 0 && strcmp(c.slurm_job_id, "777") == 0 && c.slurm_restart_count == 1,
          "lock records job id and restart count");
    lock_release(&a);
    unsetenv("SLURM_JOB_ID");
    unsetenv("SLURM_RESTART_COUNT");

    GROUP("release");
    CHECK(acquire(&a) == LOCK_ACQUIRED, "acquire");
    write_lock("elsewhere-node", 5, "0", "", -1); /* someone replaced it */
    CHECK(lock_release(&a) == -1 && access(lockp, F_OK) == 0, "release leaves a lock that is not ours");
    FILE *f = fopen(lockp, "w");
    fputs("garbage\n", f);
    fclose(f);
    CHECK(acquire(&a) == LOCK_HELD && strstr(msg, "cannot be parsed"), "unparsable: %s", msg);
    unlink(lockp);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return th_finish("test_lock");
}
