/* fuzz_job: a coverage-guided mutation fuzzer for the job-file parser (issue 11).
 *
 * No clang needed: job.c, grid.c, plan.c and log.c are compiled with gcc's
 * -fsanitize-coverage=trace-pc (Makefile: $(B)/fuzz/), which calls
 * __sanitizer_cov_trace_pc() at every basic block; we hash (previous block, this block)
 * into a 64 KiB edge map, AFL-style with hit-count buckets, and keep every input that
 * reaches a new edge or bucket. The run is deterministic for a seed (-seed S) and a
 * count of executions (-runs N); -seconds T stops on time instead.
 *
 * Each execution checks, besides the sanitizers (built with address, undefined and
 * float-cast-overflow, aborting on the first report):
 *   - a refused job has one message, one line, no control byte, "PATH:LINE: " first;
 *   - an accepted job's canonical text, written back as INI, parses to the same hash
 *     (one identity per effective setting), and a second parse of the input agrees;
 *   - its grid (when small enough to build here) builds or is refused in one line, its
 *     tasks have 1 <= N <= 2^24 and n = -1 or 1 <= n <= 2e9, and the memory check
 *     answers in one line.
 * A failed check or a sanitizer report writes the input to OUT/crash-<hash>.ini and exits 1.
 *
 * usage: fuzz_job [-seconds T] [-runs N] [-seed S] [-out DIR] SEED_FILES...
 * Prints one line every 10 s and a last line: executions, corpus, basic blocks and edges
 * reached, distinct paths (sets of edges and hit-count buckets of one execution). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sanitizer/common_interface_defs.h>

#include "grid.h"
#include "job.h"
#include "plan.h"

/* ---- coverage ------------------------------------------------------------------ */

#define MAP_SIZE 65536
static unsigned char cov_map[MAP_SIZE];   /* hits per edge in this execution */
static unsigned char cov_seen[MAP_SIZE];  /* buckets seen so far, per edge */
static uintptr_t cov_prev;
static int cov_on;
#define BLOCK_SLOTS 65536
static uintptr_t blocks[BLOCK_SLOTS];    /* basic blocks (call sites) ever reached */
static long n_blocks;

void __sanitizer_cov_trace_pc(void);
void __sanitizer_cov_trace_pc(void)
{
    if (!cov_on)
        return;
    uintptr_t pc = (uintptr_t)__builtin_return_address(0);
    uintptr_t cur = (pc ^ (pc >> 16)) * 0x9E3779B1u;
    cov_map[(cur ^ cov_prev) & (MAP_SIZE - 1)]++;
    cov_prev = cur >> 1;
    for (size_t i = cur & (BLOCK_SLOTS - 1);; i = (i + 1) & (BLOCK_SLOTS - 1)) {
        if (blocks[i] == pc)
            break;
        if (!blocks[i] && n_blocks < BLOCK_SLOTS / 2) {
            blocks[i] = pc;
            n_blocks++;
            break;
        }
        if (!blocks[i])
            break;
    }
}

static unsigned char bucket(unsigned char hits)
{
    return hits == 0 ? 0 : hits == 1 ? 1 : hits == 2 ? 2 : hits == 3 ? 4 : hits < 8 ? 8 :
           hits < 16 ? 16 : hits < 32 ? 32 : hits < 128 ? 64 : 128;
}

/* Distinct paths: the (edge, bucket) sets of the executions, hashed. */
#define PATH_SLOTS (1 << 22)
static uint64_t *paths;
static long n_paths;

static void note_path(uint64_t h)
{
    h |= 1;
    for (size_t i = h & (PATH_SLOTS - 1), k = 0; k < PATH_SLOTS / 2; i = (i + 1) & (PATH_SLOTS - 1), k++) {
        if (paths[i] == h)
            return;
        if (!paths[i]) {
            if (n_paths < PATH_SLOTS / 2) {
                paths[i] = h;
                n_paths++;
            }
            return;
        }
    }
}

/* New edges or hit-count buckets in cov_map? Folds them into cov_seen; notes the path. */
static int cov_new(void)
{
    int fresh = 0;
    uint64_t path = 1469598103934665603ULL;
    for (int i = 0; i < MAP_SIZE; i++)
        if (cov_map[i]) {
            unsigned char b = bucket(cov_map[i]);
            path = (path ^ (uint64_t)i ^ ((uint64_t)b << 16)) * 1099511628211ULL;
            if (!(cov_seen[i] & b)) {
                cov_seen[i] |= b;
                fresh = 1;
            }
        }
    note_path(path);
    return fresh;
}

static long cov_edges(void)
{
    long n = 0;
    for (int i = 0; i < MAP_SIZE; i++)
        n += cov_seen[i] != 0;
    return n;
}

/* ---- random numbers (xorshift64*, deterministic) ------------------------------------ */

static uint64_t rng_state = 1;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}
static size_t below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

/* ---- the corpus ------------------------------------------------------------------ */

#define MAX_INPUT 4096
typedef struct {
    char *data;
    size_t len;
} Input;

static Input *corpus;
static size_t n_corpus, cap_corpus;

static void corpus_add(const char *data, size_t len)
{
    if (n_corpus == cap_corpus) {
        cap_corpus = cap_corpus ? 2 * cap_corpus : 256;
        corpus = realloc(corpus, cap_corpus * sizeof *corpus);
        if (!corpus)
            abort();
    }
    corpus[n_corpus].data = malloc(len + 1);
    if (!corpus[n_corpus].data)
        abort();
    memcpy(corpus[n_corpus].data, data, len);
    corpus[n_corpus].data[len] = '\0';
    corpus[n_corpus].len = len;
    n_corpus++;
}

/* ---- the current input, for the crash file ---------------------------------------- */

static char cur[MAX_INPUT + 1];
static size_t cur_len;
static const char *out_dir = ".";

static uint64_t fnv(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static void save_current(const char *why)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/crash-%016llx.ini", out_dir, (unsigned long long)fnv(cur, cur_len));
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(cur, 1, cur_len, f);
        fclose(f);
    }
    fprintf(stderr, "fuzz_job: FINDING (%s): input saved in %s\n", why, path);
}

static void on_death(void) { save_current("sanitizer report or signal"); }

static void on_signal(int sig)
{
    save_current(sig == SIGSEGV ? "SIGSEGV" : sig == SIGABRT ? "SIGABRT" : "signal");
    signal(sig, SIG_DFL);
    raise(sig);
}

#define FAIL(...)                                                                          \
    do {                                                                                   \
        fprintf(stderr, "fuzz_job: check failed: ");                                       \
        fprintf(stderr, __VA_ARGS__);                                                      \
        fputc('\n', stderr);                                                               \
        save_current("check failed");                                                      \
        exit(1);                                                                           \
    } while (0)

/* ---- the checks -------------------------------------------------------------------- */

static void one_line(const char *what, const char *msg, const char *prefix)
{
    if (!*msg)
        FAIL("%s: empty message", what);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            FAIL("%s: control byte 0x%02x in the message: %s", what, *p, msg);
    if (prefix && strncmp(msg, prefix, strlen(prefix)) != 0)
        FAIL("%s: message does not start with '%s': %s", what, prefix, msg);
}

/* "section.key = value" lines -> INI text (as tests/test_job.c does) */
static char *canonical_ini(const JobSpec *job)
{
    char *text = NULL, *ini = NULL;
    size_t len = 0, ilen = 0;
    FILE *mem = open_memstream(&text, &len), *out = open_memstream(&ini, &ilen);
    if (!mem || !out)
        abort();
    job_print_canonical(job, mem);
    fclose(mem);
    char section[32] = "";
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *dot = strchr(line, '.'), *eq = strstr(line, " = ");
        if (!dot || !eq || dot > eq)
            FAIL("canonical line without 'section.key = ': %s", line);
        *dot = '\0';
        if (strcmp(section, line) != 0) {
            snprintf(section, sizeof section, "%s", line);
            fprintf(out, "[%s]\n", section);
        }
        if (eq[3] == '\0')
            continue; /* empty value: key not given */
        /* long lists continue on indented lines (lines stop at 199 characters) */
        size_t col = 0;
        for (char *item = dot + 1, *comma; item; item = comma ? comma + 2 : NULL) {
            comma = strstr(item, ", ");
            size_t n = comma ? (size_t)(comma - item) : strlen(item);
            if (col && col + n > 150) {
                fputs(",\n  ", out);
                col = 2;
            } else if (col) {
                fputs(", ", out);
                col += 2;
            }
            fprintf(out, "%.*s", (int)n, item);
            col += n;
        }
        fputc('\n', out);
    }
    fclose(out);
    free(text);
    return ini;
}

static long n_accepted, n_refused;
static long axes_product(const JobSpec *j)
{
    double p = (double)j->n_models * j->n_d * j->n_width * j->n_n * j->n_regimes * j->replicates;
    return p > 1e9 ? 1000000000L : (long)p;
}

static JobSpec job, again;

static void execute(const char *text)
{
    char err[1024], err2[1024];
    int rc = job_load_string(text, "f.ini", &job, err, sizeof err);
    if (rc != 0) {
        one_line("job_load_string", err, "f.ini:");
        const char *colon = strchr(err + 6, ':');
        if (!colon || colon[1] != ' ' || !(err[6] >= '0' && err[6] <= '9'))
            FAIL("refusal without a line number: %s", err);
        n_refused++;
        return;
    }
    n_accepted++;
    uint64_t h = job_hash(&job);
    if (job_load_string(text, "f.ini", &again, err2, sizeof err2) != 0 || job_hash(&again) != h)
        FAIL("a second parse of the same text differs");
    char *ini = canonical_ini(&job);
    if (job_load_string(ini, "canonical.ini", &again, err2, sizeof err2) != 0)
        FAIL("the canonical text does not parse: %s\n--- canonical:\n%s", err2, ini);
    if (job_hash(&again) != h)
        FAIL("the canonical text has another hash (%016llx, not %016llx)\n--- canonical:\n%s",
             (unsigned long long)job_hash(&again), (unsigned long long)h, ini);
    free(ini);
    if (axes_product(&job) > 20000)
        return; /* the grid is checked by plan in the corpus; too slow to build here */
    Grid grid;
    if (grid_build(&job, &grid, 0, err, sizeof err) != 0) {
        one_line("grid_build", err, "f.ini");
        return;
    }
    for (long i = 0; i < grid.count; i++) {
        const Task *t = &grid.tasks[i];
        int wide = job_regime_has_width(t->regime); /* krr tasks have N = 0 */
        if ((wide ? t->N < 1 : t->N != 0) || t->N > (1 << 24) || t->d < 1 ||
            (t->n != -1 && (t->n < 1 || t->n > JOB_MAX_N)))
            FAIL("task %ld out of bounds: d=%d N=%d n=%ld", i, t->d, t->N, t->n);
        if (grid_id(&grid, &job, t) != i)
            FAIL("grid_id(task %ld) = %ld", i, grid_id(&grid, &job, t));
    }
    if (plan_check_memory(&job, &grid, 4.0 * 1024 * 1024 * 1024, err, sizeof err) != 0)
        one_line("plan_check_memory", err, "f.ini");
    grid_free(&grid);
}

/* ---- mutations ------------------------------------------------------------------- */

static const char *const tokens[] = {
    "[sweep]", "[model]", "[grid]", "[train]", "[eval]", "[grid", "]", "[", "\n", "\n  ", " = ",
    "=", ":", ",", ", ", ";", "#", " ; c", "\r", "\r\n", "\t", "\f", "\x1c", "\x1d", "\x1e",
    "\x7f", "\xc2\x85", "\xe2\x80\xa8", "\xff", "\xef\xbb\xbf", "name", "seed", "replicates",
    "kind", "target", "rank", "noise", "mixture_rank", "mixture_delta", "d", "rho", "N", "n",
    "regime", "init", "ridge", "nn_method", "nn_a_init", "nn_optimizer", "nn_steps", "nn_lr",
    "nn_batch", "nn_tol", "nn_lr_drops", "test_samples", "save_weights", "curve_points",
    "quadratic", "mixture", "exponential", "wigner", "lowrank", "lowrank:", "signed", "rf",
    "nt", "nn", "null", "gd", "sgd", "population", "varpro", "auto", "lbfgs", "shared",
    "positive", "normal", "sphere", "gaussian", "yes", "no", "inf", "nan", "-inf", "d^2",
    "Nd", "*", "0", "-0", "1", "-1", "010", "0x", "0x10", "0xffffffffffffffff", "1e9", "1e-9",
    "1e308", "1e-308", "1e-320", "1e400", "2147483647", "2147483648", "4294967296",
    "9223372036854775807", "9223372036854775808", "18446744073709551616", "16777216",
    "16777217", "2000000000", "2000000001", "100000", "100001", "0.5", "1.5", "1e-300",
    "536870912.625", "1:2:0.5", "1e-9:1e9:1e-300", "0:1:0", "1:1e300:1",
};
#define N_TOKENS (sizeof tokens / sizeof tokens[0])

static size_t mutate(char *buf, size_t len, size_t cap)
{
    int rounds = 1 + (int)below(6);
    for (int r = 0; r < rounds; r++) {
        size_t pos = below(len + 1);
        switch (below(10)) {
        case 0: /* flip a bit */
            if (len)
                buf[below(len)] ^= (char)(1u << below(8));
            break;
        case 1: /* a random byte */
            if (len)
                buf[below(len)] = (char)below(256);
            break;
        case 2: /* delete a range */
            if (len) {
                size_t n = 1 + below(len - pos < 16 ? len - pos + 1 : 16);
                if (pos + n > len)
                    n = len - pos;
                memmove(buf + pos, buf + pos + n, len - pos - n);
                len -= n;
            }
            break;
        case 3: case 4: case 5: { /* insert a token */
            const char *t = tokens[below(N_TOKENS)];
            size_t n = strlen(t);
            if (len + n <= cap) {
                memmove(buf + pos + n, buf + pos, len - pos);
                memcpy(buf + pos, t, n);
                len += n;
            }
            break;
        }
        case 6: { /* replace a token-sized run with a token */
            const char *t = tokens[below(N_TOKENS)];
            size_t n = strlen(t), old = below(8);
            if (pos + old > len)
                old = len - pos;
            if (len - old + n <= cap) {
                memmove(buf + pos + n, buf + pos + old, len - pos - old);
                memcpy(buf + pos, t, n);
                len = len - old + n;
            }
            break;
        }
        case 7: { /* duplicate a range (keys given twice, repeated lists) */
            if (!len)
                break;
            size_t from = below(len), n = 1 + below(32);
            if (from + n > len)
                n = len - from;
            if (len + n <= cap) {
                char tmp[64];
                memcpy(tmp, buf + from, n);
                memmove(buf + pos + n, buf + pos, len - pos);
                memcpy(buf + pos, tmp, n);
                len += n;
            }
            break;
        }
        default: { /* splice: a line of another input */
            const Input *o = &corpus[below(n_corpus)];
            if (!o->len)
                break;
            size_t a = below(o->len);
            while (a > 0 && o->data[a - 1] != '\n')
                a--;
            size_t b = a;
            while (b < o->len && o->data[b] != '\n')
                b++;
            if (b < o->len)
                b++;
            size_t n = b - a;
            while (pos > 0 && buf[pos - 1] != '\n')
                pos--;
            if (len + n <= cap) {
                memmove(buf + pos + n, buf + pos, len - pos);
                memcpy(buf + pos, o->data + a, n);
                len += n;
            }
            break;
        }
        }
    }
    return len;
}

/* ---- main ------------------------------------------------------------------------ */

static int load_seed(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char buf[MAX_INPUT];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    /* a NUL ends the text for the parser; keep what comes before it */
    len = strnlen(buf, len);
    corpus_add(buf, len);
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv)
{
    double seconds = 10;
    long runs = -1;
    int seeds = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "-runs") && i + 1 < argc)
            runs = atol(argv[++i]);
        else if (!strcmp(argv[i], "-seed") && i + 1 < argc)
            rng_state = strtoull(argv[++i], NULL, 10) * 2654435761u + 1;
        else if (!strcmp(argv[i], "-out") && i + 1 < argc)
            out_dir = argv[++i];
        else if (load_seed(argv[i]) == 0)
            seeds++;
        else
            fprintf(stderr, "fuzz_job: cannot read %s\n", argv[i]);
    }
    if (!n_corpus)
        corpus_add("[grid]\nd = 8\nN = 2\n", 19);
    paths = calloc(PATH_SLOTS, sizeof *paths);
    if (!paths)
        abort();
    __sanitizer_set_death_callback(on_death);
    signal(SIGSEGV, on_signal);
    signal(SIGABRT, on_signal);
    signal(SIGFPE, on_signal);

    /* every seed once, in order */
    long execs = 0;
    size_t n_seeds = n_corpus;
    for (size_t i = 0; i < n_seeds; i++) {
        memcpy(cur, corpus[i].data, corpus[i].len);
        cur_len = corpus[i].len;
        cur[cur_len] = '\0';
        memset(cov_map, 0, sizeof cov_map);
        cov_prev = 0;
        cov_on = 1;
        execute(cur);
        cov_on = 0;
        cov_new();
        execs++;
    }
    double start = now(), last = start;
    while (runs < 0 ? now() - start < seconds : execs < runs) {
        const Input *base = &corpus[below(n_corpus)];
        memcpy(cur, base->data, base->len);
        cur_len = mutate(cur, base->len, MAX_INPUT);
        cur[cur_len] = '\0';
        size_t text_len = strlen(cur); /* the parser sees the text up to a NUL */
        memset(cov_map, 0, sizeof cov_map);
        cov_prev = 0;
        cov_on = 1;
        execute(cur);
        cov_on = 0;
        execs++;
        if (cov_new())
            corpus_add(cur, text_len);
        if ((execs & 255) == 0 && now() - last >= 10) {
            last = now();
            fprintf(stderr, "fuzz_job: %ld execs (%.0f/s), corpus %zu, blocks %ld, edges %ld, "
                    "paths %ld\n", execs, execs / (last - start), n_corpus, n_blocks, cov_edges(),
                    n_paths);
        }
    }
    double t = now() - start;
    printf("fuzz_job: %ld executions in %.0f s (%.0f/s) from %d seed files; corpus %zu inputs; "
           "%ld basic blocks and %ld edges reached; %ld distinct paths; %ld jobs accepted, %ld "
           "refused; 0 findings\n", execs, t, execs / (t > 0 ? t : 1), seeds, n_corpus, n_blocks,
           cov_edges(), n_paths, n_accepted, n_refused);
    return 0;
}
