/* journal: see include/journal.h. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"

#define JOURNAL_MAGIC "# lazysweep-journal "
#define JOURNAL_VERSION 2
#define IDS_PER_LINE 200 /* D/S/X tokens per line when compacting */

struct Journal {
    int fd;
    int failed;       /* a write or fsync failed: every later call fails */
    char *buf;        /* queued lines */
    size_t len, cap;
};

static uint32_t fnv32(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* ---- rows: TaskResult <-> little-endian bytes <-> base64 ---------------------------- */

/* The fields in their fixed order: 'd' double, 'l' int64, 'i' int32. Append only. */
#define ROW_FIELDS                                                                     \
    F('d', risk_train) F('d', risk_test) F('d', risk_pop) F('d', r0) F('d', error_test) \
    F('d', bayes_error) F('d', theory) F('l', iterations) F('d', residual) F('d', flops) \
    F('d', seconds) F('i', cause) F('i', stop) F('i', restarts) F('d', error_floor)       \
    F('d', t_final) F('d', theta_dist) F('i', dead) F('d', risk_nt) F('d', risk_ey)      \
    F('d', ebar) F('d', step_norm) F('d', risk_rf0)
#define ROW_BYTES_MAX 256

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static size_t row_pack(const TaskResult *r, unsigned char *out)
{
    size_t n = 0;
    uint64_t u;
    int64_t l;
#define F(type, name)                                                                  \
    if (type == 'd') {                                                                 \
        double v = (double)r->name;                                                    \
        memcpy(&u, &v, 8);                                                             \
        put_le(out + n, u, 8), n += 8;                                                 \
    } else if (type == 'l') {                                                          \
        l = (int64_t)r->name;                                                          \
        put_le(out + n, (uint64_t)l, 8), n += 8;                                       \
    } else {                                                                           \
        put_le(out + n, (uint32_t)(int32_t)r->name, 4), n += 4;                        \
    }
    ROW_FIELDS
#undef F
    return n;
}

/* The /results fill for fields a shorter (older) row lacks. */
static void row_fill(TaskResult *r) { task_result_fill(r); }

static int row_unpack(const unsigned char *in, size_t len, TaskResult *r)
{
    size_t n = 0;
    row_fill(r);
#define F(type, name)                                                                  \
    if (n < len) {                                                                     \
        int w = type == 'i' ? 4 : 8;                                                   \
        if (n + (size_t)w > len)                                                       \
            return -1;                                                                 \
        uint64_t u = get_le(in + n, w);                                                \
        n += (size_t)w;                                                                \
        if (type == 'd') {                                                             \
            double v;                                                                  \
            memcpy(&v, &u, 8);                                                         \
            r->name = v;                                                               \
        } else if (type == 'l') {                                                      \
            r->name = (long)(int64_t)u;                                                \
        } else {                                                                       \
            r->name = (int32_t)(uint32_t)u;                                            \
        }                                                                              \
    }
    ROW_FIELDS
#undef F
    return n == len ? 0 : -1;
}

int journal_row_same(const TaskResult *a, const TaskResult *b)
{
    unsigned char x[ROW_BYTES_MAX], y[ROW_BYTES_MAX];
    size_t n = row_pack(a, x);
    return n == row_pack(b, y) && memcmp(x, y, n) == 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = b64[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = b64[v & 63];
    }
    out[o] = '\0';
    return o;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

/* Decodes `n` characters; returns the byte count or -1. */
static long b64_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    size_t o = 0;
    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        size_t k = n - i < 4 ? n - i : 4;
        for (size_t q = 0; q < 4; q++) {
            int x = q < k ? b64_value(in[i + q]) : 0;
            if (x < 0)
                return -1;
            v = (v << 6) | (uint32_t)x;
        }
        size_t bytes = k - 1;
        if (o + bytes > cap)
            return -1;
        for (size_t q = 0; q < bytes; q++)
            out[o++] = (unsigned char)(v >> (16 - 8 * q));
    }
    return (long)o;
}

/* ---- lines ---------------------------------------------------------------------------- */

/* Appends " check=XXXXXXXX\n" to the n characters in buf (cap bytes); returns the length. */
static int seal(char *buf, int n, size_t cap)
{
    if (n < 0 || (size_t)n + 17 > cap)
        return -1;
    return n + snprintf(buf + n, cap - (size_t)n, " check=%08x\n", fnv32(buf, (size_t)n));
}

int journal_format(const JournalEntry *e, char *buf, size_t len)
{
    const char *st = e->status == 1 ? "done" : e->status == 2 ? "failed" : NULL;
    unsigned char raw[ROW_BYTES_MAX];
    char row[ROW_BYTES_MAX * 2];
    if (!st)
        return -1;
    b64_encode(raw, row_pack(&e->row, raw), row);
    int n = snprintf(buf, len, "R %ld %s a=%d r=%d s=%.6g c=%d row=%s", e->id, st, e->attempt,
                     e->rank, e->seconds, e->cause, row);
    return n < 0 || (size_t)n >= len ? -1 : seal(buf, n, len);
}

/* The text before " check=" when the checksum is right; its length, or -1. */
static long checked_body(const char *line)
{
    const char *chk = strstr(line, " check=");
    if (!chk)
        return -1;
    while (strstr(chk + 1, " check=")) /* the last one */
        chk = strstr(chk + 1, " check=");
    unsigned h;
    if (strlen(chk) != 15 || sscanf(chk, " check=%8x", &h) != 1)
        return -1;
    return fnv32(line, (size_t)(chk - line)) == h ? chk - line : -1;
}

static int parse_v1(const char *line, long body, JournalEntry *e)
{
    char st[16];
    int used = 0;
    memset(e, 0, sizeof *e);
    if (sscanf(line, "task=%ld status=%15s attempt=%d rank=%d seconds=%lf cause=%d%n", &e->id, st,
               &e->attempt, &e->rank, &e->seconds, &e->cause, &used) != 6 || used != body)
        return 0;
    e->status = !strcmp(st, "done") ? 1 : !strcmp(st, "failed") ? 2 : 0;
    row_fill(&e->row);
    return e->status != 0;
}

int journal_parse_result(const char *line, JournalEntry *e)
{
    long body = checked_body(line);
    if (body < 0)
        return 0;
    if (!strncmp(line, "task=", 5))
        return parse_v1(line, body, e);
    char st[16];
    int used = 0;
    memset(e, 0, sizeof *e);
    if (sscanf(line, "R %ld %15s a=%d r=%d s=%lf c=%d row=%n", &e->id, st, &e->attempt,
               &e->rank, &e->seconds, &e->cause, &used) != 6 || used == 0)
        return 0;
    e->status = !strcmp(st, "done") ? 1 : !strcmp(st, "failed") ? 2 : 0;
    unsigned char raw[ROW_BYTES_MAX];
    long nb = b64_decode(line + used, (size_t)(body - used), raw, sizeof raw);
    if (!e->status || nb < 0 || row_unpack(raw, (size_t)nb, &e->row) < 0)
        return 0;
    e->has_row = 1;
    return 1;
}

/* "D r=<rank> <id>/<a> <id>-<id>/<a> ...": calls fn per task; returns 1 if well formed. */
static int parse_ids(const char *line, long body, char *kind,
                     void (*fn)(void *ctx, char kind, long id, int attempt), void *ctx)
{
    int rank, used = 0;
    if ((line[0] != 'D' && line[0] != 'S' && line[0] != 'X') || line[1] != ' ')
        return 0;
    *kind = line[0];
    if (sscanf(line + 2, "r=%d%n", &rank, &used) != 1)
        return 0;
    const char *p = line + 2 + used, *end = line + body;
    /* validate first, then apply: a malformed line changes nothing */
    for (int apply = 0; apply < 2; apply++) {
        const char *q = p;
        while (q < end) {
            long a0, a1;
            int att, n = 0;
            if (sscanf(q, " %ld-%ld/%d%n", &a0, &a1, &att, &n) == 3 && q + n <= end) {
            } else if (sscanf(q, " %ld/%d%n", &a0, &att, &n) == 2 && q + n <= end) {
                a1 = a0;
            } else {
                return 0;
            }
            if (a1 < a0 || a0 < 0 || att < 0)
                return 0;
            if (apply)
                for (long id = a0; id <= a1; id++)
                    fn(ctx, *kind, id, att);
            q += n;
        }
    }
    return 1;
}

/* ---- writing ---------------------------------------------------------------------------- */

static int queue(Journal *j, const char *s, size_t n)
{
    if (j->failed)
        return JOURNAL_ERR;
    if (j->len + n > j->cap) {
        size_t cap = j->cap ? j->cap : 65536;
        while (cap < j->len + n)
            cap *= 2;
        char *b = realloc(j->buf, cap);
        if (!b) {
            j->failed = 1;
            errno = ENOMEM;
            return JOURNAL_ERR;
        }
        j->buf = b;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    return JOURNAL_OK;
}

int journal_append_result(Journal *j, const JournalEntry *e)
{
    char line[1024];
    int n = journal_format(e, line, sizeof line);
    if (n < 0) {
        errno = EINVAL;
        return JOURNAL_ERR;
    }
    return queue(j, line, (size_t)n);
}

/* Adds " id/a" or " id0-id1/a" tokens for ids[0..k) (runs of consecutive ids with one
 * attempt share a token) to line (at *n), sealing and queuing lines as they fill. */
static int ids_line(Journal *j, char kind, int rank, const long *ids, const int *attempts,
                    int k)
{
    char line[IDS_PER_LINE * 48 + 64];
    int n = snprintf(line, sizeof line, "%c r=%d", kind, rank), tokens = 0;
    for (int i = 0; i < k;) {
        int e = i;
        while (e + 1 < k && ids[e + 1] == ids[e] + 1 && attempts[e + 1] == attempts[i])
            e++;
        if (e > i)
            n += snprintf(line + n, sizeof line - (size_t)n, " %ld-%ld/%d", ids[i], ids[e], attempts[i]);
        else
            n += snprintf(line + n, sizeof line - (size_t)n, " %ld/%d", ids[i], attempts[i]);
        i = e + 1;
        if (++tokens == IDS_PER_LINE || i == k) {
            int m = seal(line, n, sizeof line);
            if (m < 0 || queue(j, line, (size_t)m) < 0)
                return JOURNAL_ERR;
            n = snprintf(line, sizeof line, "%c r=%d", kind, rank);
            tokens = 0;
        }
    }
    return JOURNAL_OK;
}

int journal_append_ids(Journal *j, char kind, int rank, const long *ids, const int *attempts,
                       int k)
{
    if (kind != 'D' && kind != 'S' && kind != 'X')
        return JOURNAL_ERR;
    return k > 0 ? ids_line(j, kind, rank, ids, attempts, k) : (j->failed ? JOURNAL_ERR : JOURNAL_OK);
}

int journal_sync(Journal *j)
{
    if (j->failed)
        return JOURNAL_ERR;
    if (j->len == 0)
        return JOURNAL_OK;
    size_t off = 0;
    while (off < j->len) {
        ssize_t w = fault_hit("journal") ? -1 : write(j->fd, j->buf + off, j->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            j->failed = 1;
            return JOURNAL_ERR;
        }
        off += (size_t)w;
    }
    j->len = 0;
    if (fsync(j->fd) != 0) {
        j->failed = 1;
        return JOURNAL_ERR;
    }
    return JOURNAL_OK;
}

int journal_close(Journal *j)
{
    if (!j)
        return JOURNAL_OK;
    int rc = journal_sync(j);
    int saved = errno;
    if (close(j->fd) != 0 && rc == JOURNAL_OK)
        rc = JOURNAL_ERR;
    else
        errno = saved;
    free(j->buf);
    free(j);
    return rc;
}

/* ---- opening ---------------------------------------------------------------------------- */

/* 1 if line is a journal header of job_hash (any hash when NULL); *version gets its version. */
static int header_ok(const char *line, const char *job_hash, int *version)
{
    size_t m = strlen(JOURNAL_MAGIC);
    int v = 0, used = 0;
    if (strncmp(line, JOURNAL_MAGIC, m) != 0 || sscanf(line + m, "%d job=%n", &v, &used) != 1
        || used == 0 || v < 1)
        return 0;
    if (version)
        *version = v;
    return !job_hash || strcmp(line + m + used, job_hash) == 0;
}

/* Is `line` a journal header at all (of any job)? */
static int is_header(const char *line) { return header_ok(line, NULL, NULL); }

static void sync_dir(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int journal_move_aside(const char *path, char *moved_to, size_t len)
{
    char name[4200];
    for (int k = 1; k < 10000; k++) {
        snprintf(name, sizeof name, "%s.%d", path, k);
        if (access(name, F_OK) == 0)
            continue;
        if (rename(path, name) != 0)
            return -1;
        sync_dir(path);
        if (moved_to)
            snprintf(moved_to, len, "%s", name);
        return 0;
    }
    errno = EEXIST;
    return -1;
}

/* First line of path into buf: 1 read, 0 empty file, -1 unreadable. */
static int first_line(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = pread(fd, buf, len - 1, 0);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
    return n > 0;
}

int journal_open(const char *path, const char *job_hash, Journal **out, char *moved_to,
                 size_t len)
{
    char line[512];
    *out = NULL;
    if (moved_to && len)
        moved_to[0] = '\0';
    int have = access(path, F_OK) == 0 ? first_line(path, line, sizeof line) : 0;
    if (have != 0 && !(have > 0 && header_ok(line, job_hash, NULL))) {
        /* another job's, garbage, or unreadable: never append to it, never lose it */
        if (journal_move_aside(path, moved_to, len) != 0)
            return JOURNAL_ERR;
        have = 0;
    }
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT, 0644);
    if (fd < 0)
        return JOURNAL_ERR;
    Journal *j = calloc(1, sizeof *j);
    if (!j) {
        close(fd);
        return JOURNAL_ERR;
    }
    j->fd = fd;
    struct stat sb;
    int rc = fstat(fd, &sb) == 0 ? JOURNAL_OK : JOURNAL_ERR;
    if (rc == JOURNAL_OK && sb.st_size == 0) {
        int n = snprintf(line, sizeof line, "%s%d job=%s\n", JOURNAL_MAGIC, JOURNAL_VERSION, job_hash);
        rc = queue(j, line, (size_t)n);
    } else if (rc == JOURNAL_OK) {
        /* after a crash the last line may be torn: end it, so the next record starts a line */
        char last = '\n';
        if (pread(fd, &last, 1, sb.st_size - 1) != 1)
            rc = JOURNAL_ERR;
        else if (last != '\n')
            rc = queue(j, "\n", 1);
    }
    if (rc == JOURNAL_OK)
        rc = journal_sync(j);
    if (rc != JOURNAL_OK) {
        int saved = errno;
        close(fd);
        free(j->buf);
        free(j);
        errno = saved;
        return JOURNAL_ERR;
    }
    *out = j;
    return JOURNAL_OK;
}

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct {
    long count;
    JournalTask *t;
    JournalStats *st;
    long bad_ids;
} Scan;

static void scan_ids(void *ctx, char kind, long id, int attempt)
{
    Scan *s = ctx;
    if (id >= s->count) {
        s->bad_ids++;
        return;
    }
    JournalTask *t = &s->t[id];
    if (kind == 'D') {
        if (t->unresolved < 255)
            t->unresolved++;
        if (attempt > t->max_attempt)
            t->max_attempt = attempt;
    } else {
        if (t->unresolved > 0)
            t->unresolved--;
        if (kind == 'X' && attempt == t->max_attempt && attempt > t->attempt)
            t->max_attempt = attempt - 1; /* never started: not an attempt */
    }
}

static FILE *open_checked(const char *path, const char *job_hash, int *rc, int *version,
                          long *bytes)
{
    FILE *f = fopen(path, "r");
    *rc = JOURNAL_OK;
    if (!f) {
        *rc = errno == ENOENT ? JOURNAL_EMISSING : JOURNAL_ERR;
        return NULL;
    }
    struct stat sb;
    if (bytes)
        *bytes = fstat(fileno(f), &sb) == 0 ? (long)sb.st_size : 0;
    char line[512];
    *version = 0;
    if (fgets(line, sizeof line, f)) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (!header_ok(line, NULL, version)) {
            *rc = JOURNAL_EFOREIGN;
        } else if (job_hash && !header_ok(line, job_hash, NULL)) {
            *rc = JOURNAL_EJOB;
        }
    } else if (ferror(f)) {
        *rc = JOURNAL_ERR;
    }
    if (*rc != JOURNAL_OK) {
        fclose(f);
        return NULL;
    }
    rewind(f);
    return f;
}

int journal_scan(const char *path, const char *job_hash, long count, JournalTask *tasks,
                 JournalStats *st)
{
    JournalStats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    for (long i = 0; i < count; i++)
        tasks[i] = (JournalTask){.offset = -1};
    int rc;
    FILE *f = open_checked(path, job_hash, &rc, &st->version, &st->bytes);
    if (!f)
        return rc;
    Scan s = {count, tasks, st, 0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long offset = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        long at = offset;
        offset += n;
        int complete = line[n - 1] == '\n';
        if (complete)
            line[n - 1] = '\0';
        if ((complete && line[0] == '\0') || (complete && is_header(line)))
            continue; /* headers; the empty line that ends a torn one */
        JournalEntry e;
        char kind;
        long body = complete ? checked_body(line) : -1;
        if (body < 0) {
            st->bad++;
        } else if (journal_parse_result(line, &e)) {
            if (e.id < 0 || e.id >= count) {
                st->bad++;
                continue;
            }
            JournalTask *t = &tasks[e.id];
            t->offset = at;
            t->attempt = e.attempt;
            if (e.attempt > t->max_attempt)
                t->max_attempt = e.attempt;
            t->status = (uint8_t)e.status;
            t->cause = (uint8_t)(e.cause >= 0 && e.cause < 256 ? e.cause : 255);
            t->has_row = (uint8_t)e.has_row;
            t->unresolved = 0;
            st->lines++;
            st->results++;
        } else if (parse_ids(line, body, &kind, scan_ids, &s)) {
            st->lines++;
        } else {
            st->bad++;
        }
    }
    st->bad += s.bad_ids > 0; /* a line naming ids beyond the grid */
    rc = ferror(f) ? JOURNAL_ERR : JOURNAL_OK;
    free(line);
    fclose(f);
    return rc;
}

int journal_each_latest(const char *path, long count, const JournalTask *tasks,
                        int (*fn)(void *ctx, const JournalEntry *e), void *ctx)
{
    int rc, version;
    FILE *f = open_checked(path, NULL, &rc, &version, NULL);
    if (!f)
        return rc == JOURNAL_EMISSING ? JOURNAL_OK : rc;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long offset = 0;
    while (rc >= 0 && (n = getline(&line, &cap, f)) > 0) {
        long at = offset;
        offset += n;
        if (line[n - 1] != '\n')
            continue;
        line[n - 1] = '\0';
        JournalEntry e;
        if ((line[0] == 'R' || line[0] == 't') && journal_parse_result(line, &e) && e.id >= 0
            && e.id < count && tasks[e.id].offset == at) {
            int r = fn(ctx, &e);
            if (r < 0)
                rc = r;
        }
    }
    if (rc >= 0 && ferror(f))
        rc = JOURNAL_ERR;
    free(line);
    fclose(f);
    return rc;
}

/* ---- compaction ------------------------------------------------------------------------- */

typedef struct {
    FILE *out;
    char kind;
    long ids[IDS_PER_LINE];
    int att[IDS_PER_LINE];
    int k;
    int err;
} IdWriter;

static void idw_flush(IdWriter *w)
{
    if (w->k == 0)
        return;
    Journal tmp = {0};
    tmp.fd = -1;
    if (ids_line(&tmp, w->kind, -1, w->ids, w->att, w->k) < 0
        || fwrite(tmp.buf, 1, tmp.len, w->out) != tmp.len)
        w->err = 1;
    free(tmp.buf);
    w->k = 0;
}

static void idw_add(IdWriter *w, char kind, long id, int attempt)
{
    if (w->k && w->kind != kind)
        idw_flush(w);
    w->kind = kind;
    w->ids[w->k] = id;
    w->att[w->k] = attempt;
    if (++w->k == IDS_PER_LINE)
        idw_flush(w);
}

int journal_compact(const char *path, const char *job_hash, long count,
                    const JournalTask *tasks)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.compact", path);
    int rc, version;
    FILE *in = open_checked(path, job_hash, &rc, &version, NULL);
    if (!in)
        return JOURNAL_ERR;
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fclose(in);
        return JOURNAL_ERR;
    }
    int err = fprintf(out, "%s%d job=%s\n", JOURNAL_MAGIC, JOURNAL_VERSION, job_hash) < 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long offset = 0;
    while (!err && (n = getline(&line, &cap, in)) > 0) {
        long at = offset;
        offset += n;
        if (line[n - 1] != '\n')
            continue;
        line[n - 1] = '\0';
        JournalEntry e;
        if ((line[0] == 'R' || line[0] == 't') && journal_parse_result(line, &e) && e.id >= 0
            && e.id < count && tasks[e.id].offset == at) {
            line[n - 1] = '\n';
            err = fwrite(line, 1, (size_t)n, out) != (size_t)n;
        }
    }
    err |= ferror(in) != 0;
    free(line);
    fclose(in);
    /* attempts that ended without a result: the stopped ones (D then S), then the
     * unresolved ones (D), each kind in one run of lines */
    IdWriter w = {.out = out};
    for (int pass = 0; pass < 3 && !err; pass++)
        for (long i = 0; i < count; i++) {
            const JournalTask *t = &tasks[i];
            int base = t->attempt, u = t->unresolved;
            int stopped = t->max_attempt - base - u;
            stopped = stopped > 0 ? stopped : 0;
            for (int k = 1; pass < 2 && k <= stopped; k++)
                idw_add(&w, pass == 0 ? 'D' : 'S', i, base + k);
            for (int k = 1; pass == 2 && k <= u; k++)
                idw_add(&w, 'D', i, base + stopped + k);
        }
    idw_flush(&w);
    err |= w.err;
    err |= fflush(out) != 0 || fsync(fileno(out)) != 0;
    int saved = errno;
    err |= fclose(out) != 0;
    if (err || rename(tmp, path) != 0) {
        if (!err)
            saved = errno;
        unlink(tmp);
        errno = saved;
        return JOURNAL_ERR;
    }
    sync_dir(path);
    return JOURNAL_OK;
}
