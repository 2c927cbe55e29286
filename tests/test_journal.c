/* test_journal: two processes appending concurrently, latest status per id, torn and
 * garbled lines skipped, another job's journal refused, fresh truncation. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "journal.h"

#define PER_PROC 2000

static void appender(const char *path, int who)
{
    Journal *j = NULL;
    if (journal_open(path, "hash-J", 0, &j) != JOURNAL_OK)
        _exit(2);
    for (long k = 0; k < PER_PROC; k++) {
        /* process 0 writes even ids, 1 odd ids; every id first failed, then done */
        long id = 2 * (k / 2) + who;
        JournalEntry e = {.id = id, .status = k % 2 ? 1 : 2, .attempt = (int)(k % 2) + 1,
                          .rank = who, .seconds = 0.001 * (double)k, .cause = k % 2 ? 0 : 1};
        if (journal_append(j, &e) != JOURNAL_OK)
            _exit(3);
    }
    journal_close(j);
    _exit(0);
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    int c;
    while (f && (c = getc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/test_journal.XXXXXX", path[128];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/r.h5.journal", dir);

    GROUP("concurrent");
    pid_t kids[2];
    for (int w = 0; w < 2; w++)
        if ((kids[w] = fork()) == 0)
            appender(path, w);
    int okexit = 1;
    for (int w = 0; w < 2; w++) {
        int st;
        waitpid(kids[w], &st, 0);
        okexit &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    CHECK(okexit, "both appenders exited 0");
    long lines = count_lines(path);
    CHECK(lines >= 2 * PER_PROC + 1 && lines <= 2 * PER_PROC + 2, "lines: %ld", lines);
    enum { T = PER_PROC };
    uint8_t status[T];
    int attempt[T];
    long good = 0, bad = 0;
    CHECK(journal_read_latest(path, "hash-J", T, status, attempt, &good, &bad) == JOURNAL_OK, "read");
    CHECK(good == 2 * PER_PROC && bad == 0, "good %ld bad %ld: no interleaved lines", good, bad);
    int latest = 0;
    for (int i = 0; i < T; i++)
        latest += status[i] == 1 && attempt[i] == 2;
    CHECK(latest == T, "latest entry wins for every id (%d of %d)", latest, T);

    GROUP("damage");
    int fd = open(path, O_WRONLY | O_APPEND);
    const char *garbled = "task=5 status=failed attempt=9 rank=0 seconds=1 cause=1 check=00000000\n";
    const char *torn = "task=7 status=failed attempt=9 ra";
    CHECK(write(fd, garbled, strlen(garbled)) > 0 && write(fd, torn, strlen(torn)) > 0, "damage");
    close(fd);
    CHECK(journal_read_latest(path, "hash-J", T, status, attempt, &good, &bad) == JOURNAL_OK, "read");
    CHECK(bad == 2 && status[5] == 1 && status[7] == 1 && attempt[7] == 2,
          "torn last line and bad check skipped (bad %ld, status[7] %d)", bad, status[7]);
    Journal *j = NULL;
    CHECK(journal_open(path, "hash-J", 0, &j) == JOURNAL_OK, "reopen for append after torn line");
    JournalEntry e = {.id = 7, .status = 2, .attempt = 3, .rank = 1, .seconds = 2.5, .cause = 2};
    CHECK(journal_append(j, &e) == JOURNAL_OK, "append");
    journal_close(j);
    journal_read_latest(path, "hash-J", T, status, attempt, &good, &bad);
    /* journal_open ended the torn line: the new entry is a line of its own. */
    CHECK(status[7] == 2 && attempt[7] == 3 && bad == 2,
          "entry after a torn line is read (status[7] %d, bad %ld)", status[7], bad);

    GROUP("format");
    char line[JOURNAL_LINE_MAX];
    e = (JournalEntry){.id = 123456789, .status = 2, .attempt = 1000, .rank = 4095,
                       .seconds = 1.5e7, .cause = 5};
    int n = journal_format(&e, line, sizeof line);
    CHECK(n > 0 && n < JOURNAL_LINE_MAX && line[n - 1] == '\n', "line length %d", n);
    e.status = 0;
    CHECK(journal_format(&e, line, sizeof line) < 0, "pending is not a journal entry");

    GROUP("jobs");
    CHECK(journal_open(path, "hash-OTHER", 0, &j) == JOURNAL_EJOB, "another job's journal refused");
    CHECK(journal_read_latest(path, "hash-OTHER", T, status, NULL, NULL, NULL) == JOURNAL_EJOB,
          "reader checks the job too");
    CHECK(journal_open(path, "hash-NEW", 1, &j) == JOURNAL_OK, "fresh truncates for a new file");
    journal_close(j);
    journal_close(NULL);
    CHECK(journal_read_latest(path, "hash-NEW", T, status, NULL, &good, &bad) == JOURNAL_OK
              && good == 0 && status[7] == 0, "fresh journal is empty");
    CHECK(journal_read_latest("/nonexistent/j", NULL, T, status, NULL, NULL, NULL) == JOURNAL_ERR,
          "missing journal");

    unlink(path);
    rmdir(dir);
    return th_finish("test_journal");
}
