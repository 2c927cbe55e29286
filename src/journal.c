/* journal: see include/journal.h. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "timer.h"

#define JOURNAL_MAGIC "# lazysweep-journal 1 job="

struct Journal {
    int fd;
    double last_sync; /* monotonic seconds of the last fsync */
};

/* An fsync per line costs milliseconds: it capped small-task sweeps at ~300 tasks/s.
 * A write() already survives the death of the process (the page cache keeps it);
 * fsync only adds survival of a node crash, which the HDF5 rows only get at the next
 * collective flush anyway. So lines are fsync'ed at most this often, and at close. */
#define JOURNAL_SYNC_SECONDS 1.0

static uint32_t journal_fnv(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* Writes all of buf with one write() (a short write is an error). */
static int journal_write_line(int fd, const char *buf, size_t len)
{
    ssize_t w = write(fd, buf, len);
    if (w != (ssize_t)len)
        return JOURNAL_ERR;
    return fsync(fd) == 0 ? JOURNAL_OK : JOURNAL_ERR;
}

/* Reads the first line of fd (from offset 0) into buf; returns its length, 0 if empty. */
static ssize_t journal_first_line(int fd, char *buf, size_t len)
{
    ssize_t n = pread(fd, buf, len - 1, 0);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
    return (ssize_t)strlen(buf);
}

/* After a crash the last line may be torn: end it, so the next entry starts a line. */
static int journal_end_line(int fd, const char *path)
{
    char last = '\n';
    int rfd = open(path, O_RDONLY);
    off_t end = rfd >= 0 ? lseek(rfd, 0, SEEK_END) : -1;
    if (end > 0 && pread(rfd, &last, 1, end - 1) != 1)
        last = '\n';
    if (rfd >= 0)
        close(rfd);
    if (end < 0)
        return JOURNAL_ERR;
    return last == '\n' ? JOURNAL_OK : journal_write_line(fd, "\n", 1);
}

static int journal_header_matches(const char *line, const char *job_hash)
{
    size_t m = strlen(JOURNAL_MAGIC);
    return strncmp(line, JOURNAL_MAGIC, m) == 0 && strcmp(line + m, job_hash) == 0;
}

int journal_open(const char *path, const char *job_hash, int fresh, Journal **out)
{
    char line[JOURNAL_LINE_MAX + 128];
    *out = NULL;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | (fresh ? O_TRUNC : 0), 0644);
    if (fd < 0)
        return JOURNAL_ERR;
    int rfd = open(path, O_RDONLY);
    ssize_t n = rfd >= 0 ? journal_first_line(rfd, line, sizeof line) : -1;
    if (rfd >= 0)
        close(rfd);
    int rc = JOURNAL_OK;
    if (n < 0) {
        rc = JOURNAL_ERR;
    } else if (n == 0) {
        /* Empty: write the header. Two openers racing may both write one; the reader
         * accepts any number of identical header lines. */
        int len = snprintf(line, sizeof line, "%s%s\n", JOURNAL_MAGIC, job_hash);
        if (len <= 0 || (size_t)len >= sizeof line || journal_write_line(fd, line, (size_t)len) < 0)
            rc = JOURNAL_ERR;
    } else if (!journal_header_matches(line, job_hash)) {
        rc = JOURNAL_EJOB;
    } else if (journal_end_line(fd, path) < 0) {
        rc = JOURNAL_ERR;
    }
    if (rc != JOURNAL_OK) {
        close(fd);
        return rc;
    }
    Journal *j = malloc(sizeof *j);
    if (!j) {
        close(fd);
        return JOURNAL_ERR;
    }
    j->fd = fd;
    *out = j;
    return JOURNAL_OK;
}

int journal_format(const JournalEntry *e, char *buf, size_t len)
{
    const char *st = e->status == 1 ? "done" : e->status == 2 ? "failed" : NULL;
    if (!st || len < JOURNAL_LINE_MAX)
        return -1;
    int n = snprintf(buf, len, "task=%ld status=%s attempt=%d rank=%d seconds=%.6g cause=%d",
                     e->id, st, e->attempt, e->rank, e->seconds, e->cause);
    if (n < 0 || n > JOURNAL_LINE_MAX - 24)
        return -1;
    uint32_t h = journal_fnv(buf, (size_t)n);
    int m = snprintf(buf + n, len - (size_t)n, " check=%08x\n", h);
    return m < 0 ? -1 : n + m;
}

int journal_append(Journal *j, const JournalEntry *e)
{
    char line[JOURNAL_LINE_MAX];
    int n = journal_format(e, line, sizeof line);
    if (n < 0)
        return JOURNAL_ERR;
    ssize_t w = write(j->fd, line, (size_t)n);
    if (w != (ssize_t)n)
        return JOURNAL_ERR;
    double now = timer_now();
    if (now - j->last_sync < JOURNAL_SYNC_SECONDS)
        return JOURNAL_OK;
    j->last_sync = now;
    return fsync(j->fd) == 0 ? JOURNAL_OK : JOURNAL_ERR;
}

void journal_close(Journal *j)
{
    if (!j)
        return;
    fsync(j->fd);
    close(j->fd);
    free(j);
}

/* Parses one complete line (no newline). Returns 1 for an entry, 0 otherwise. */
static int journal_parse(const char *line, JournalEntry *e)
{
    const char *chk = strstr(line, " check=");
    if (!chk)
        return 0;
    unsigned h;
    char tail;
    if (sscanf(chk, " check=%8x%c", &h, &tail) != 1 || strlen(chk) != 15)
        return 0;
    if (journal_fnv(line, (size_t)(chk - line)) != h)
        return 0;
    char st[16];
    int used = 0;
    if (sscanf(line, "task=%ld status=%15s attempt=%d rank=%d seconds=%lf cause=%d%n", &e->id,
               st, &e->attempt, &e->rank, &e->seconds, &e->cause, &used) != 6
        || line + used != chk)
        return 0;
    if (strcmp(st, "done") == 0)
        e->status = 1;
    else if (strcmp(st, "failed") == 0)
        e->status = 2;
    else
        return 0;
    return 1;
}

int journal_read_latest(const char *path, const char *job_hash, long count, uint8_t *status,
                        int *attempt, long *good, long *bad)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return JOURNAL_ERR;
    for (long i = 0; i < count; i++) {
        status[i] = 0;
        if (attempt)
            attempt[i] = 0;
    }
    long ng = 0, nb = 0;
    int rc = JOURNAL_OK, first = 1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        int complete = line[n - 1] == '\n';
        if (complete)
            line[n - 1] = '\0';
        if (first && job_hash && !journal_header_matches(line, job_hash)) {
            rc = JOURNAL_EJOB;
            break;
        }
        first = 0;
        JournalEntry e;
        if (line[0] == '#' || (complete && line[0] == '\0'))
            continue; /* headers; the empty line that ends a torn one */
        if (!complete || !journal_parse(line, &e) || e.id < 0 || e.id >= count) {
            nb++;
            continue;
        }
        status[e.id] = (uint8_t)e.status;
        if (attempt)
            attempt[e.id] = e.attempt;
        ng++;
    }
    if (ferror(f))
        rc = JOURNAL_ERR;
    free(line);
    fclose(f);
    if (good)
        *good = ng;
    if (bad)
        *bad = nb;
    return rc;
}
