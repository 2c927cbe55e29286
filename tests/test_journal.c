/* test_journal: the write-ahead log — result lines carry the row bit for bit (NaN
 * payloads, -0), version-1 lines still read, dispatch/stop/hand-back records give the
 * unresolved counts and attempts, torn and garbled lines are skipped, another job's or a
 * garbage journal is moved aside (never appended to, never lost), compaction keeps what a
 * scan says, an injected write failure fails the sync and every later one. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "journal.h"

static TaskResult row_for(long id)
{
    TaskResult r;
    memset(&r, 0, sizeof r);
    r.risk_train = 1.0 / (id + 3);
    r.risk_test = -0.0;
    r.risk_pop = id * 1e-300;
    r.r0 = 2.5;
    uint64_t payload = 0x7ff8dead0000beefull; /* a NaN with a payload */
    memcpy(&r.error_test, &payload, 8);
    r.bayes_error = -NAN;
    r.theory = INFINITY;
    r.iterations = 1L << 40;
    r.residual = 1e-17;
    r.flops = 12345678.0;
    r.seconds = 0.25;
    r.cause = (int)(id % 3);
    r.stop = -1;
    r.restarts = 7;
    r.error_floor = 0.125;
    return r;
}

static long file_size(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? (long)sb.st_size : -1;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

int main(void)
{
    char dir[] = "/tmp/test_journal.XXXXXX", path[128], moved[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/r.h5.journal", dir);
    enum { T = 1000 };
    static JournalTask jt[T];
    JournalStats js;

    GROUP("rows");
    char line[1024];
    JournalEntry e = {.id = 42, .status = 2, .attempt = 3, .rank = 7, .cause = 1, .seconds = 0.25,
                      .has_row = 1, .row = row_for(42)}, back;
    int n = journal_format(&e, line, sizeof line);
    CHECK(n > 0 && line[n - 1] == '\n', "format (%d bytes)", n);
    line[n - 1] = '\0';
    CHECK(journal_parse_result(line, &back) && back.id == 42 && back.status == 2 && back.attempt == 3
              && back.rank == 7 && back.has_row, "parse");
    CHECK(journal_row_same(&back.row, &e.row), "row bit for bit (NaN payload, -0, -NaN, inf)");
    uint64_t a, b;
    memcpy(&a, &back.row.error_test, 8);
    memcpy(&b, &e.row.error_test, 8);
    CHECK(a == b && signbit(back.row.risk_test), "NaN payload %llx, -0 kept", (unsigned long long)a);
    line[20] ^= 1;
    CHECK(!journal_parse_result(line, &back), "a flipped bit fails the check");
    e.status = 0;
    CHECK(journal_format(&e, line, sizeof line) < 0, "pending is not a result");
    const char *v1 = "task=5 status=done attempt=2 rank=1 seconds=0.5 cause=0";
    snprintf(line, sizeof line, "%s check=%08x", v1, 0u);
    /* the right checksum for the version-1 line */
    uint32_t h = 2166136261u;
    for (const char *p = v1; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    snprintf(line, sizeof line, "%s check=%08x", v1, h);
    CHECK(journal_parse_result(line, &back) && back.id == 5 && back.attempt == 2 && !back.has_row,
          "version-1 line read (no row)");

    GROUP("records");
    Journal *j = NULL;
    CHECK(journal_open(path, "hash-J", &j, moved, sizeof moved) == JOURNAL_OK && !moved[0], "open new");
    long ids[] = {1, 2, 3, 4, 10, 11, 12};
    int att1[] = {1, 1, 1, 1, 1, 1, 1};
    CHECK(journal_append_ids(j, 'D', 1, ids, att1, 7) == JOURNAL_OK, "dispatch 7");
    JournalEntry r1 = {.id = 1, .status = 1, .attempt = 1, .rank = 1, .has_row = 1, .row = row_for(1)};
    journal_append_result(j, &r1);
    long i2[] = {2}, i3[] = {3}, i4[] = {4};
    journal_append_ids(j, 'S', 1, i2, att1, 1);      /* 2 stopped by a signal: counted */
    journal_append_ids(j, 'X', 1, i3, att1, 1);      /* 3 handed back unstarted: not counted */
    int att2[] = {2};
    journal_append_ids(j, 'D', 2, i4, att2, 1);      /* 4 dispatched again: killed twice */
    CHECK(journal_sync(j) == JOURNAL_OK && journal_close(j) == JOURNAL_OK, "sync, close");
    CHECK(journal_scan(path, "hash-J", T, jt, &js) == JOURNAL_OK && js.bad == 0, "scan (bad %ld)", js.bad);
    CHECK(jt[1].status == 1 && jt[1].unresolved == 0 && jt[1].has_row, "1 done");
    CHECK(jt[2].status == 0 && jt[2].unresolved == 0 && jt[2].max_attempt == 1, "2 stopped: one attempt");
    CHECK(jt[3].unresolved == 0 && jt[3].max_attempt == 0, "3 unstarted: no attempt");
    CHECK(jt[4].unresolved == 2 && jt[4].max_attempt == 2, "4 killed twice (%d, %d)", jt[4].unresolved,
          jt[4].max_attempt);
    CHECK(jt[10].unresolved == 1 && jt[12].unresolved == 1 && jt[13].unresolved == 0, "ranges");
    FILE *f = fopen(path, "r");
    int ranged = 0;
    while (f && fgets(line, sizeof line, f))
        ranged += strstr(line, " 10-12/1") != NULL;
    if (f)
        fclose(f);
    CHECK(ranged == 1, "consecutive ids share one token");

    GROUP("damage");
    int fd = open(path, O_WRONLY | O_APPEND);
    const char *garbled = "R 5 done a=9 r=0 s=1 c=0 row=AAAA check=00000000\n";
    const char *torn = "R 7 failed a=9 r";
    CHECK(write(fd, garbled, strlen(garbled)) > 0 && write(fd, torn, strlen(torn)) > 0, "damage");
    close(fd);
    CHECK(journal_scan(path, "hash-J", T, jt, &js) == JOURNAL_OK && js.bad == 2 && jt[5].status == 0
              && jt[7].status == 0, "torn last line and bad check skipped (bad %ld)", js.bad);
    CHECK(journal_open(path, "hash-J", &j, moved, sizeof moved) == JOURNAL_OK && !moved[0],
          "reopen after a torn line");
    JournalEntry r7 = {.id = 7, .status = 2, .attempt = 1, .rank = 1, .cause = 2, .has_row = 1,
                       .row = row_for(7)};
    journal_append_result(j, &r7);
    journal_close(j);
    CHECK(journal_scan(path, "hash-J", T, jt, &js) == JOURNAL_OK && jt[7].status == 2 && js.bad == 2,
          "a record after a torn line is read");
    long idbig[] = {5000};
    CHECK(journal_open(path, "hash-J", &j, moved, sizeof moved) == JOURNAL_OK, "reopen");
    journal_append_ids(j, 'D', 1, idbig, att1, 1);
    journal_close(j);
    CHECK(journal_scan(path, "hash-J", T, jt, &js) == JOURNAL_OK && js.bad == 3, "ids beyond the grid: bad");

    GROUP("compact");
    long before = file_size(path);
    CHECK(journal_scan(path, "hash-J", T, jt, &js) == JOURNAL_OK, "scan");
    static JournalTask old[T];
    memcpy(old, jt, sizeof old);
    CHECK(journal_compact(path, "hash-J", T, jt) == JOURNAL_OK, "compact");
    CHECK(journal_scan(path, "hash-J", T, jt, &js) == JOURNAL_OK && js.bad == 0, "rescan (bad %ld)", js.bad);
    int same = 1;
    for (int i = 0; i < T; i++)
        same &= jt[i].status == old[i].status && jt[i].attempt == old[i].attempt
                && jt[i].max_attempt == old[i].max_attempt && jt[i].unresolved == old[i].unresolved
                && jt[i].has_row == old[i].has_row;
    CHECK(same, "the compacted journal says the same for every task");
    CHECK(file_size(path) < before, "smaller: %ld -> %ld bytes", before, file_size(path));

    GROUP("foreign");
    CHECK(journal_scan(path, "hash-OTHER", T, jt, &js) == JOURNAL_EJOB, "another job's: EJOB");
    long kept = file_size(path);
    CHECK(journal_open(path, "hash-OTHER", &j, moved, sizeof moved) == JOURNAL_OK && moved[0],
          "another job's journal is moved aside (%s)", moved);
    journal_close(j);
    CHECK(file_size(moved) == kept, "and kept whole");
    CHECK(journal_scan(path, "hash-OTHER", T, jt, &js) == JOURNAL_OK && js.lines == 0, "new one empty");
    put(path, "this is not a journal\nR 1 done\n");
    CHECK(journal_scan(path, "hash-OTHER", T, jt, &js) == JOURNAL_EFOREIGN, "garbage: EFOREIGN");
    CHECK(journal_open(path, "hash-OTHER", &j, moved, sizeof moved) == JOURNAL_OK && moved[0],
          "garbage moved aside (%s), journalling goes on", moved);
    journal_close(j);
    put(path, "");
    CHECK(journal_scan(path, "hash-OTHER", T, jt, &js) == JOURNAL_OK && js.lines == 0, "empty file: OK");
    CHECK(journal_open(path, "hash-OTHER", &j, moved, sizeof moved) == JOURNAL_OK && !moved[0],
          "empty file: header written, nothing moved");
    journal_close(j);
    CHECK(journal_scan("/nonexistent/j", NULL, T, jt, &js) == JOURNAL_EMISSING, "missing journal");
    CHECK(journal_close(NULL) == JOURNAL_OK, "close(NULL)");

    GROUP("faults");
    setenv("LAZYSWEEP_FAULT", "journal@0", 1);
    CHECK(journal_open(path, "hash-OTHER", &j, moved, sizeof moved) == JOURNAL_OK, "open (write 1)");
    journal_append_result(j, &r1);
    CHECK(journal_sync(j) == JOURNAL_ERR && errno == ENOSPC, "injected ENOSPC fails the sync");
    CHECK(journal_append_result(j, &r1) == JOURNAL_ERR && journal_sync(j) == JOURNAL_ERR,
          "and every later write");
    CHECK(journal_close(j) == JOURNAL_ERR, "close reports it");
    unsetenv("LAZYSWEEP_FAULT");

    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return th_finish("test_journal");
}
