/* job: the job-file reader. One table (job_keys) drives parsing, defaults,
 * validation bounds, `lazysweep help job` and the canonical text that identifies a
 * job. libinih splits the file into (section, key, value); a line-counting reader
 * gives every message its FILE:LINE. */
#include "job.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>

#include "log.h"

/* ---- names ---------------------------------------------------------------- */

static const char *const model_names[] = {"quadratic", "mixture", NULL};
static const char *const target_names[] = {"exponential", "wigner", "lowrank", "signed", NULL};
static const char *const regime_names[] = {"rf",      "nt",     "nn",     "null",   "alpha",
                                           "alpha_lin", "onestep", "krr_rf", "krr_nt", NULL};
static const char *const krr_solver_names[] = {"auto", "direct", "cg", NULL};
static const char *const method_names[] = {"auto", "gd", "sgd", "population", "varpro", "classic",
                                           NULL};
static const char *const a_init_names[] = {"normal", "positive", "shared", NULL};
static const char *const init_names[] = {"gaussian", "sphere", NULL};
static const char *const optimizer_names[] = {"gd", "lbfgs", NULL};
static const char *const bool_names[] = {"no", "yes", NULL};

const char *job_model_name(int m) { return m >= 0 && m < MODEL_COUNT ? model_names[m] : "?"; }
const char *job_target_name(int t) { return t >= 0 && t < TARGET_COUNT ? target_names[t] : "?"; }
const char *job_regime_name(int r) { return r >= 0 && r < REGIME_COUNT ? regime_names[r] : "?"; }
const char *job_nn_method_name(int m) { return m >= 0 && m <= NN_METHOD_CLASSIC ? method_names[m] : "?"; }
const char *job_a_init_name(int a) { return a >= 0 && a <= NN_A_SHARED ? a_init_names[a] : "?"; }

/* ---- the key table ---------------------------------------------------------- */

typedef enum {
    KT_STRING,  /* name: [A-Za-z0-9_.-]{1,63} */
    KT_UINT64,
    KT_INT,
    KT_LONG,
    KT_DOUBLE,
    KT_ENUM,    /* one of choices */
    KT_ENUMS,   /* comma list of choices, no repeats */
    KT_INTS,    /* comma list of integers and a:b:step ranges */
    KT_DOUBLES, /* comma list of numbers and a:b:step ranges */
    KT_NS,      /* comma list of n forms */
    KT_LR,      /* auto | number */
    KT_A0,      /* 1/N | 1/sqrtN | number > 0 */
    KT_DROPS    /* comma list of step:factor */
} KeyType;

typedef struct {
    const char *section, *name;
    KeyType type;
    const char *def;             /* default as written in a job file; NULL = required */
    double min, max;             /* bounds on each value (numbers) */
    const char *const *choices;  /* KT_ENUM, KT_ENUMS */
    size_t off, count_off;       /* offsetof in JobSpec (count_off: lists) */
    const char *help;
} JobKey;

#define F(field) offsetof(JobSpec, field)
#define NOCOUNT ((size_t)-1)
#define BIG 1e18

static const JobKey job_keys[] = {
    {"sweep", "name", KT_STRING, "unnamed", 0, 0, NULL, F(name), NOCOUNT,
     "a short name for the sweep (letters, digits, '_', '.', '-')"},
    {"sweep", "seed", KT_UINT64, "1", 0, 0, NULL, F(seed), NOCOUNT,
     "root of every random stream (uint64; decimal or 0x hex)"},
    {"sweep", "replicates", KT_INT, "1", 1, 1 << 20, NULL, F(replicates), NOCOUNT,
     "independent draws of target, data and initial weights per grid point"},
    {"sweep", "crash_limit", KT_INT, "3", 1, 1000, NULL, F(crash_limit), NOCOUNT,
     "a task dispatched this many times without a result (it kills its rank) is recorded failed, cause crashed"},
    {"model", "kind", KT_ENUMS, "quadratic", 0, 0, model_names, F(models), F(n_models),
     "data model(s): quadratic (Gaussian x, quadratic target) | mixture (two Gaussians)"},
    {"model", "target", KT_ENUM, "exponential", 0, 0, target_names, F(target), NOCOUNT,
     "quadratic target: exponential | wigner | lowrank (or lowrank:r) | signed"},
    {"model", "rank", KT_INT, "5", 1, 1 << 20, NULL, F(rank), NOCOUNT,
     "r for target = lowrank (r <= every d)"},
    {"model", "noise", KT_DOUBLE, "0", 0, BIG, NULL, F(noise), NOCOUNT,
     "label noise standard deviation tau (quadratic)"},
    {"model", "mixture_rank", KT_INT, "4", 1, 1 << 20, NULL, F(mixture_rank), NOCOUNT,
     "s for kind = mixture: rank of the covariance perturbation (s <= every d)"},
    {"model", "mixture_delta", KT_DOUBLE, "0.5", 1e-12, 1 - 1e-12, NULL, F(mixture_delta), NOCOUNT,
     "delta for kind = mixture: Sigma_+- = I +- delta U U^T, 0 < delta < 1"},
    {"grid", "d", KT_INTS, NULL, 1, 100000, NULL, F(d), F(n_d),
     "input dimensions, e.g. 20, 40 or 50:450:100 (required)"},
    {"grid", "rho", KT_DOUBLES, "", 1e-9, 1e9, NULL, F(rho), F(n_width),
     "widths as N/d: N = round(rho*d); give rho or N, not both"},
    {"grid", "N", KT_INTS, "", 1, 1 << 24, NULL, F(N), F(n_width),
     "widths N directly, e.g. 5, 10, 20; give rho or N, not both"},
    {"grid", "n", KT_NS, "inf", 0, 0, NULL, F(n), F(n_n),
     "training samples: integer | inf (population) | multiple of d, d^2 or Nd (50d, 0.5d^2, 4Nd)"},
    {"grid", "regime", KT_ENUMS, "rf, nt, nn", 0, 0, regime_names, F(regimes), F(n_regimes),
     "regimes: rf (train a) | nt (linearisation) | nn (everything) | null (testing: fits nothing) | "
     "alpha, alpha_lin (scaled model and its linearisation, SPEC §6) | onestep (one first-layer "
     "step, then RF, SPEC §7) | krr_rf, krr_nt (kernel limits N -> inf, no width, SPEC §8)"},
    {"grid", "alpha", KT_DOUBLES, "", 1e-300, 1e300, NULL, F(alpha), F(n_alpha),
     "scales alpha > 0 of the alpha and alpha_lin regimes (required with them), e.g. 0.01, 1, 100"},
    {"grid", "onestep_eta", KT_DOUBLES, "1", 0, INFINITY, NULL, F(eta), F(n_eta),
     "step sizes eta~ >= 0 (or inf) of the onestep regime"},
    {"train", "init", KT_ENUM, "gaussian", 0, 0, init_names, F(init), NOCOUNT,
     "first-layer initialisation: gaussian (N(0,1/d) entries) | sphere (unit rows)"},
    {"train", "ridge", KT_DOUBLE, "0", 0, BIG, NULL, F(ridge), NOCOUNT,
     "lambda >= 0 for RF/NT (0 = minimum-norm least squares)"},
    {"train", "nn_method", KT_ENUM, "auto", 0, 0, method_names, F(nn_method), NOCOUNT,
     "auto (= varpro: reaches the class optimum) | varpro | gd | sgd | population | classic "
     "(gd for finite n, population for n = inf: what auto meant in format 1)"},
    {"train", "nn_a_init", KT_ENUM, "normal", 0, 0, a_init_names, F(nn_a_init), NOCOUNT,
     "second layer at start: normal N(0,1) | positive |N(0,1)| | shared (one positive scalar)"},
    {"train", "nn_optimizer", KT_ENUM, "gd", 0, 0, optimizer_names, F(nn_optimizer), NOCOUNT,
     "gd and population with nn_lr = auto: gd (backtracking line search) | lbfgs (same minima, 5-14x fewer steps)"},
    {"train", "nn_steps", KT_LONG, "2000", 1, 1e12, NULL, F(nn_steps), NOCOUNT,
     "NN step (iteration) budget"},
    {"train", "nn_lr", KT_LR, "auto", 1e-300, BIG, NULL, F(nn_lr), NOCOUNT,
     "auto (chosen and adapted by line search) | a fixed step size > 0"},
    {"train", "nn_batch", KT_INT, "100", 1, 1 << 24, NULL, F(nn_batch), NOCOUNT,
     "samples per step for nn_method = sgd"},
    {"train", "nn_tol", KT_DOUBLE, "1e-10", 0, 1, NULL, F(nn_tol), NOCOUNT,
     "stop (stop = tol) when the relative loss decrease falls below this"},
    {"train", "nn_gtol", KT_DOUBLE, "1e-6", 0, 1, NULL, F(nn_gtol), NOCOUNT,
     "stationarity test: stop (converged) when |gradient| |parameters| <= nn_gtol * initial loss"},
    {"train", "nn_opt_tol", KT_DOUBLE, "1e-9", 0, 1, NULL, F(nn_opt_tol), NOCOUNT,
     "n = inf: the fit stops, converged, within nn_opt_tol * R0 of the exact class optimum; "
     "a stop above it is stalled, budget or linesearch"},
    {"train", "nn_restarts", KT_INT, "32", 0, 100000, NULL, F(nn_restarts), NOCOUNT,
     "varpro: escapes from stationary points at most (a weak neuron re-seated along the "
     "residual's top eigenvector when that lowers the loss)"},
    {"train", "alpha_lr", KT_LR, "auto", 1e-300, BIG, NULL, F(alpha_lr), NOCOUNT,
     "alpha regimes: auto (eta_1 min(1, alpha)^(4/3), eta_1 = 1/lambda_max(K_0)) | a fixed step"},
    {"train", "alpha_horizon", KT_LR, "auto", 1e-300, BIG, NULL, F(alpha_horizon), NOCOUNT,
     "alpha regimes: the time T = sum of steps to stop at: auto (linearised GD within "
     "alpha_horizon_tol R0 of the NT risk) | a number"},
    {"train", "alpha_horizon_tol", KT_DOUBLE, "0.02", 1e-12, 1, NULL, F(alpha_horizon_tol), NOCOUNT,
     "alpha regimes, auto horizon: how close (times R0) to the NT risk the linearised run gets"},
    {"train", "alpha_tol", KT_DOUBLE, "1e-9", 0, 1, NULL, F(alpha_tol), NOCOUNT,
     "alpha regimes: stop when the risk decrease over 200 steps falls below this times the risk"},
    {"train", "onestep_n0", KT_NS, "inf", 0, 0, NULL, F(onestep_n0), F(n_onestep_n0),
     "onestep: samples of the first-layer step: inf (population step) | integer | Kd | Kd^2"},
    {"train", "onestep_a0", KT_A0, "1/N", 0, 0, NULL, F(onestep_a0), NOCOUNT,
     "onestep: the common second layer a0 at the step: 1/N | 1/sqrtN | a number > 0"},
    {"train", "onestep_center", KT_ENUM, "yes", 0, 0, bool_names, F(onestep_center), NOCOUNT,
     "onestep: yes: c0 = the optimal offset at initialisation (ebar = 0) | no: c0 = 0"},
    {"train", "krr_solver", KT_ENUM, "auto", 0, 0, krr_solver_names, F(krr_solver), NOCOUNT,
     "krr regimes: auto (direct up to krr_max_direct samples, else CG) | direct | cg"},
    {"train", "krr_max_direct", KT_LONG, "20000", 1, 1e9, NULL, F(krr_max_direct), NOCOUNT,
     "krr regimes: the largest n solved directly (an n x n Cholesky) when krr_solver = auto"},
    {"train", "nn_lr_drops", KT_DROPS, "", 0, 0, NULL, F(drop_step), F(n_drops),
     "step-size drops STEP:FACTOR, e.g. 80000:0.1, 90000:0.0667 (lr = nn_lr*FACTOR from STEP on)"},
    {"eval", "test_samples", KT_LONG, "10000", 0, 1e9, NULL, F(test_samples), NOCOUNT,
     "fresh test points per (d, replicate) for the test risk (0 = none)"},
    {"eval", "save_weights", KT_ENUM, "no", 0, 0, bool_names, F(save_weights), NOCOUNT,
     "yes: store targets and initial/trained weights per task in the results file"},
    {"eval", "curve_points", KT_INT, "0", 0, 10000, NULL, F(curve_points), NOCOUNT,
     "> 0: NN train/test risk at this many log-spaced steps"},
};
#define N_KEYS ((int)(sizeof job_keys / sizeof job_keys[0]))
_Static_assert(sizeof job_keys / sizeof job_keys[0] <= JOB_MAX_KEYS, "raise JOB_MAX_KEYS in job.h");

static const char *const sections[] = {"sweep", "model", "grid", "train", "eval", NULL};

/* ---- parse context ---------------------------------------------------------- */

typedef struct {
    const char *path;
    const char *src, *pos;  /* text being read */
    int line;               /* line of the text last handed to inih */
    int line_indented;      /* that line starts with whitespace (continuation) */
    int line_too_long;
    int section_line;       /* line of the last [section] header */
    char section_seen[64];  /* its name, checked even if no key follows */
    JobSpec *job;
    int key_line[N_KEYS];   /* where each key was set (0 = default) */
    int last_key;           /* key of the previous handler call, for continuations */
    int comma_line;         /* a list value on this line ended with ',' (0 = none): only an */
    char comma_text[200];   /*   indented continuation line may follow; its value, for the message */
    int inline_rank;        /* r of 'target = lowrank:r' (0 = not given) and its line */
    int inline_rank_line;
    int rank_value;         /* r of 'rank = r' (when key_line says it was given) */
    char err[512];          /* the error on the earliest line (empty = none) */
    int err_line;
} ParseCtx;

static void ctx_error(ParseCtx *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ctx_error(ParseCtx *c, int line, const char *fmt, ...)
{
    /* Keep the error on the earliest line: errors arrive in file order, except inih's
     * syntax errors, which it reports only at the end. */
    if (c->err[0] && line >= c->err_line)
        return;
    char msg[400], raw[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(raw, sizeof raw, "%s:%d: %s", c->path, line, msg);
    log_escape(raw, c->err, sizeof c->err); /* echoed input stays on one line */
    c->err_line = line;
}

static int is_section(const char *s);
static const char *closest_section(const char *s);
static void comma_error(ParseCtx *c);

/* Remembers where each [section] header is, and reports unknown ones there (inih
 * only tells the handler about a section when a key follows). */
static void note_section(ParseCtx *c, const char *line)
{
    while (isspace((unsigned char)*line))
        line++;
    if (*line != '[')
        return;
    char text[200];
    snprintf(text, sizeof text, "%s", line);
    for (char *e = text + strlen(text); e > text && isspace((unsigned char)e[-1]);)
        *--e = '\0';
    const char *end = strchr(line, ']');
    if (!end) {
        ctx_error(c, c->line, "%s: expected a section header '[name]', got no closing ']'", text);
        return;
    }
    if (c->line_indented) {
        /* inih would take it as the continuation of the previous value */
        ctx_error(c, c->line, "%s: expected the section header at the start of its line, "
                  "got it indented (an indented line continues the previous value)", text);
        return;
    }
    const char *rest = end + 1;
    while (isspace((unsigned char)*rest))
        rest++;
    if (*rest && !strchr(";#", *rest)) {
        char tail[200];
        snprintf(tail, sizeof tail, "%s", rest);
        for (char *e = tail + strlen(tail); e > tail && isspace((unsigned char)e[-1]);)
            *--e = '\0';
        ctx_error(c, c->line, "%.*s: expected nothing after the section header, got '%s' "
                  "(put each key on its own line)", (int)(end - line + 1), line, tail);
        return;
    }
    if (end - line - 1 >= (long)sizeof c->section_seen)
        return;
    snprintf(c->section_seen, sizeof c->section_seen, "%.*s", (int)(end - line - 1), line + 1);
    c->section_line = c->line;
    if (is_section(c->section_seen))
        return;
    const char *best = closest_section(c->section_seen);
    if (best)
        ctx_error(c, c->line, "[%s]: unknown section (did you mean [%s]?)", c->section_seen, best);
    else
        ctx_error(c, c->line, "[%s]: unknown section (expected [sweep], [model], [grid], "
                  "[train] or [eval])", c->section_seen);
}

/* A list value that ended with ',' may only be followed by an indented continuation
 * (blank and comment lines may come between); anything else makes the comma an error. */
static void note_trailing_comma(ParseCtx *c, const char *line, size_t len)
{
    if (!c->comma_line)
        return;
    size_t i = 0;
    while (i < len && isspace((unsigned char)line[i]))
        i++;
    if (i == len || strchr(";#", line[i]) || c->line_indented)
        return; /* blank, comment, or the continuation (the handler clears comma_line) */
    comma_error(c);
}

/* inih reader over an in-memory text that counts lines. */
static char *ctx_reader(char *str, int num, void *stream)
{
    ParseCtx *c = stream;
    if (!*c->pos)
        return NULL;
    const char *nl = strchr(c->pos, '\n');
    size_t len = nl ? (size_t)(nl - c->pos) + 1 : strlen(c->pos);
    c->line++;
    c->line_indented = isspace((unsigned char)*c->pos) && *c->pos != '\n'; /* as inih: any space */
    note_trailing_comma(c, c->pos, len);
    if (len > (size_t)num - 1) {
        c->line_too_long = c->line;
        len = (size_t)num - 1;
        /* skip the rest of the physical line so inih sees one line */
        memcpy(str, c->pos, len);
        str[len] = '\0';
        c->pos = nl ? nl + 1 : c->pos + strlen(c->pos);
        return str;
    }
    memcpy(str, c->pos, len);
    str[len] = '\0';
    c->pos += len;
    note_section(c, str);
    return str;
}

/* ---- small helpers ---------------------------------------------------------- */

static int edit_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    int d[41][41];
    for (int i = 0; i <= la; i++)
        d[i][0] = i;
    for (int j = 0; j <= lb; j++)
        d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int m = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < m)
                m = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < m)
                m = d[i - 1][j - 1] + cost;
            d[i][j] = m;
        }
    return d[la][lb];
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Why a value was refused, for the message: what was expected (replaces the key's
 * generic description when set) and a note after the value. */
typedef struct {
    char expect[200];
    char note[160];
} Why;

static int why(Why *w, const char *expect, const char *note_fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int why(Why *w, const char *expect, const char *note_fmt, ...)
{
    if (w && !w->expect[0] && !w->note[0]) { /* the innermost reason wins */
        snprintf(w->expect, sizeof w->expect, "%s", expect ? expect : "");
        if (note_fmt) {
            va_list ap;
            va_start(ap, note_fmt);
            vsnprintf(w->note, sizeof w->note, note_fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

/* A finite decimal number: digits, one sign, '.', exponent; no hex, inf or nan
 * (strtod would take them). -0 is read as 0, so that it means what 0 means. */
static int parse_double(const char *s, double *v)
{
    if (!*s || strspn(s, "0123456789+-.eE") != strlen(s))
        return -1;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (*end || errno != 0 || !isfinite(x))
        return -1; /* also ERANGE: overflow, or underflow to a denormal or zero */
    *v = x == 0 ? 0.0 : x;
    return 0;
}

/* A decimal integer (leading zeros stay decimal) or an integral number like 1e5,
 * within +-9e15 (exact in a double). */
static int parse_long(const char *s, long *v)
{
    if (!*s || strspn(s, "0123456789+-.eE") != strlen(s))
        return -1;
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (!*end && errno == 0 && isdigit((unsigned char)s[strlen(s) - 1])) {
        *v = x;
        return 0;
    }
    double dv;
    if (parse_double(s, &dv) == 0 && dv == floor(dv) && fabs(dv) < 9e15) {
        *v = (long)dv;
        return 0;
    }
    return -1;
}

static int find_choice(const char *const *choices, const char *s)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], s) == 0)
            return i;
    return -1;
}

static void choices_text(const char *const *choices, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; choices[i]; i++) {
        strncat(buf, i ? " | " : "", len - strlen(buf) - 1);
        strncat(buf, choices[i], len - strlen(buf) - 1);
    }
}

/* Splits a comma list in place; returns the item count or -1 if an item is empty.
 * A trailing comma is allowed here (*trailing set): the handler accepts it only
 * before a continuation line. */
static int split_list(char *s, char **items, int max, int *trailing, Why *w)
{
    int n = 0;
    char *p = s;
    if (trailing)
        *trailing = 0;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *item = trim(p);
        if (!*item && !comma && n > 0) {
            if (trailing)
                *trailing = 1;
            break; /* a trailing comma: the list continues on the next (indented) line */
        }
        if (!*item)
            return why(w, NULL, " (an empty item: two commas in a row, or one at the start)");
        if (n >= max) {
            why(w, NULL, " (more than %d items)", max);
            return max + 1;
        }
        items[n++] = item;
        if (!comma)
            break;
        p = comma + 1;
    }
    return n;
}

/* ---- value parsers: each returns 0 or -1 with `expect` describing the form ---- */

/* Expands "a:b:step" (inclusive stop) or a single number into out[]. The count is
 * checked as a double before any conversion: absurd steps are refused, not cast. */
static int parse_range(const char *item, double *out, int *n, int max, int integer, Why *w)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", item);
    char *parts[3];
    int np = 0;
    char *p = buf;
    for (;;) {
        char *colon = strchr(p, ':');
        if (colon)
            *colon = '\0';
        if (np == 3)
            return why(w, "a:b:step range with three parts", NULL);
        parts[np++] = trim(p);
        if (!colon)
            break;
        p = colon + 1;
    }
    double a, b, step;
    if (np == 1) {
        if (parse_double(parts[0], &a))
            return -1;
        if (integer && a != floor(a))
            return -1;
        if (*n >= max)
            return why(w, NULL, " (more than %d values in all)", JOB_MAX_LIST);
        out[(*n)++] = a;
        return 0;
    }
    if (np != 3)
        return why(w, "a:b:step range with three parts (start:stop:step)", NULL);
    if (parse_double(parts[0], &a) || parse_double(parts[1], &b) || parse_double(parts[2], &step))
        return -1;
    if (step <= 0)
        return why(w, "a:b:step range with step > 0", NULL);
    if (b < a)
        return why(w, "a:b:step range with start <= stop", NULL);
    if (integer && (a != floor(a) || b != floor(b) || step != floor(step)))
        return why(w, "a:b:step range of integers", NULL);
    /* count with a tolerance so 0.25:2:0.25 includes 2 */
    double span = (b - a) / step + 1e-9;
    if (!isfinite(span))
        return why(w, NULL, " (the range has too many values to count; at most %d in all)",
                   JOB_MAX_LIST);
    if (!(span < (double)(max - *n)))
        return why(w, NULL, " (the range has %.15g values; at most %d in all)", floor(span) + 1,
                   JOB_MAX_LIST);
    long count = (long)floor(span) + 1;
    for (long k = 0; k < count; k++) {
        double v = a + (double)k * step;
        if (!integer)
            v = round(v * 1e12) / 1e12; /* 0.1*3 -> 0.3 exactly as written */
        out[(*n)++] = v == 0 ? 0.0 : v;
    }
    return 0;
}

static int parse_nspec(const char *item, NSpec *ns)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", item);
    char *s = trim(buf);
    if (strcmp(s, "inf") == 0) {
        ns->form = NFORM_INF;
        ns->coef = 0;
        return 0;
    }
    size_t len = strlen(s);
    NForm form = NFORM_ABS;
    if (len >= 3 && strcmp(s + len - 3, "d^2") == 0) {
        form = NFORM_D2;
        s[len - 3] = '\0';
    } else if (len >= 2 && strcmp(s + len - 2, "Nd") == 0) {
        form = NFORM_ND;
        s[len - 2] = '\0';
    } else if (len >= 1 && s[len - 1] == 'd') {
        form = NFORM_D;
        s[len - 1] = '\0';
    }
    s = trim(s);
    if (*s && s[strlen(s) - 1] == '*') {
        if (form == NFORM_ABS)
            return -1; /* '*' only between a factor and d, d^2 or Nd */
        s[strlen(s) - 1] = '\0';
        s = trim(s);
        if (!*s)
            return -1;
    }
    double coef = 1;
    if (*s) {
        if (parse_double(s, &coef) || coef <= 0)
            return -1;
    } else if (form == NFORM_ABS) {
        return -1;
    }
    if (form == NFORM_ABS && (coef != floor(coef) || coef < 1))
        return -1;
    ns->form = form;
    ns->coef = coef;
    return 0;
}

/* ---- applying one key ------------------------------------------------------- */

static const JobKey *find_key(const char *section, const char *name, int *index)
{
    for (int i = 0; i < N_KEYS; i++)
        if (strcmp(job_keys[i].section, section) == 0 && strcmp(job_keys[i].name, name) == 0) {
            if (index)
                *index = i;
            return &job_keys[i];
        }
    return NULL;
}

static const char *type_expect(const JobKey *k, char *buf, size_t len)
{
    char ch[200];
    switch (k->type) {
    case KT_STRING: return "a name of 1-63 letters, digits, '_', '.', '-'";
    case KT_UINT64: return "an unsigned 64-bit integer";
    case KT_INT:
    case KT_LONG: snprintf(buf, len, "an integer in [%.15g, %.15g]", k->min, k->max); return buf;
    case KT_DOUBLE: snprintf(buf, len, "a number in [%.15g, %.15g]", k->min, k->max); return buf;
    case KT_ENUM: choices_text(k->choices, ch, sizeof ch); snprintf(buf, len, "one of %s", ch); return buf;
    case KT_ENUMS: choices_text(k->choices, ch, sizeof ch);
        snprintf(buf, len, "a comma list of %s (no repeats)", ch); return buf;
    case KT_INTS: snprintf(buf, len, "a comma list of integers in [%.15g, %.15g] or a:b:step ranges", k->min, k->max); return buf;
    case KT_DOUBLES:
        if (k->max == INFINITY)
            snprintf(buf, len, "a comma list of numbers >= %.15g, inf or a:b:step ranges", k->min);
        else
            snprintf(buf, len, "a comma list of numbers > 0 or a:b:step ranges");
        return buf;
    case KT_NS: return "a comma list of: integer >= 1 | inf | K*d | K*d^2 | K*Nd (e.g. 500, inf, 50d, 0.5d^2, 4Nd)";
    case KT_LR: return "auto or a step size > 0";
    case KT_A0: return "1/N, 1/sqrtN or a number > 0";
    case KT_DROPS: return "a comma list of STEP:FACTOR with increasing STEP >= 1 and FACTOR > 0";
    }
    return "?";
}

/* Sets key k from text `val` (appending for list continuations). 0 or -1, with the
 * reason in *w when there is more to say than the key's form (w may be NULL).
 * *trailing (may be NULL) is set when a list value ends with ','. */
static int apply_key(const JobKey *k, JobSpec *job, const char *val, int append, int *trailing,
                     Why *w)
{
    char *base = (char *)job;
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", val);
    char *s = trim(buf);
    int *count = k->count_off != NOCOUNT ? (int *)(base + k->count_off) : NULL;
    if (count && !append)
        *count = 0;
    if (trailing)
        *trailing = 0;

    switch (k->type) {
    case KT_STRING: {
        size_t len = strlen(s);
        if (len < 1 || len > 63)
            return -1;
        for (size_t i = 0; i < len; i++)
            if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
                return -1;
        memcpy(base + k->off, s, len + 1);
        return 0;
    }
    case KT_UINT64: {
        /* decimal (leading zeros stay decimal), or hex after 0x; no sign, no spaces */
        int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
        const char *digits = hex ? s + 2 : s;
        if (!*digits || strspn(digits, hex ? "0123456789abcdefABCDEF" : "0123456789") != strlen(digits))
            return -1;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(digits, &end, hex ? 16 : 10);
        if (*end || errno)
            return why(w, NULL, " (above 2^64 - 1 = 18446744073709551615)");
        *(uint64_t *)(base + k->off) = (uint64_t)v;
        return 0;
    }
    case KT_INT:
    case KT_LONG: {
        long v;
        if (parse_long(s, &v) || v < k->min || v > k->max)
            return -1;
        if (k->type == KT_INT)
            *(int *)(base + k->off) = (int)v;
        else
            *(long *)(base + k->off) = v;
        return 0;
    }
    case KT_DOUBLE: {
        double v;
        if (parse_double(s, &v) || v < k->min || v > k->max)
            return -1;
        *(double *)(base + k->off) = v;
        return 0;
    }
    case KT_ENUM: {
        int v;
        if (k->off == F(target) && strncmp(s, "lowrank:", 8) == 0) {
            long r;
            if (parse_long(s + 8, &r) || r < 1 || r > (1 << 20)) {
                char ch[200], ex[260];
                choices_text(k->choices, ch, sizeof ch);
                snprintf(ex, sizeof ex, "lowrank:r with an integer 1 <= r <= %d, or one of %s", 1 << 20, ch);
                return why(w, ex, NULL);
            }
            job->rank = (int)r;
            v = TARGET_LOWRANK;
        } else if ((v = find_choice(k->choices, s)) < 0) {
            return -1;
        }
        *(int *)(base + k->off) = v;
        return 0;
    }
    case KT_ENUMS: {
        char *items[JOB_MAX_LIST];
        int n = split_list(s, items, JOB_MAX_LIST, trailing, w);
        if (n < 0 || n > JOB_MAX_LIST)
            return -1;
        int *vals = (int *)(base + k->off);
        for (int i = 0; i < n; i++) {
            int v = find_choice(k->choices, items[i]);
            if (v < 0)
                return -1;
            for (int j = 0; j < *count; j++)
                if (vals[j] == v)
                    return why(w, NULL, " ('%s' twice)", items[i]);
            vals[(*count)++] = v;
        }
        return 0;
    }
    case KT_INTS:
    case KT_DOUBLES: {
        if (!*s && !append) /* empty = not given (defaults of rho and N) */
            return 0;
        char *items[JOB_MAX_LIST + 1];
        int n = split_list(s, items, JOB_MAX_LIST, trailing, w);
        if (n < 0 || n > JOB_MAX_LIST)
            return -1;
        double tmp[JOB_MAX_LIST];
        int nt = 0;
        for (int i = 0; i < n; i++) {
            if (k->max == INFINITY && strcmp(items[i], "inf") == 0) { /* onestep_eta */
                if (nt >= JOB_MAX_LIST - *count)
                    return why(w, NULL, " (more than %d values)", JOB_MAX_LIST);
                tmp[nt++] = INFINITY;
                continue;
            }
            if (parse_range(items[i], tmp, &nt, JOB_MAX_LIST - *count, k->type == KT_INTS, w))
                return -1;
        }
        for (int i = 0; i < nt; i++) {
            if (tmp[i] < k->min || tmp[i] > k->max) /* before the conversion to int */
                return why(w, NULL, " (%.15g is out of range)", tmp[i]);
            if (k->type == KT_INTS)
                ((int *)(base + k->off))[*count + i] = (int)tmp[i];
            else
                ((double *)(base + k->off))[*count + i] = tmp[i];
        }
        *count += nt;
        return 0;
    }
    case KT_NS: {
        char *items[JOB_MAX_LIST + 1];
        int n = split_list(s, items, JOB_MAX_LIST, trailing, w);
        if (n < 0 || n > JOB_MAX_LIST)
            return -1;
        if (n + *count > JOB_MAX_LIST)
            return why(w, NULL, " (more than %d values in all)", JOB_MAX_LIST);
        for (int i = 0; i < n; i++)
            if (parse_nspec(items[i], &((NSpec *)(base + k->off))[(*count)++]))
                return -1;
        return 0;
    }
    case KT_LR: {
        double v;
        if (strcmp(s, "auto") == 0) {
            *(double *)(base + k->off) = 0;
            return 0;
        }
        if (parse_double(s, &v) || v <= 0)
            return -1;
        if (v > k->max)
            return why(w, NULL, " (at most %g)", k->max);
        *(double *)(base + k->off) = v;
        return 0;
    }
    case KT_A0: {
        double v;
        if (strcmp(s, "1/N") == 0)
            v = ONESTEP_A0_INV_N;
        else if (strcmp(s, "1/sqrtN") == 0)
            v = ONESTEP_A0_INV_SQRT_N;
        else if (parse_double(s, &v) || !(v > 0))
            return -1;
        *(double *)(base + k->off) = v;
        return 0;
    }
    case KT_DROPS: {
        if (!*s && !append)
            return 0;
        char *items[JOB_MAX_DROPS + 1];
        int n = split_list(s, items, JOB_MAX_DROPS, trailing, w);
        if (n < 0 || n > JOB_MAX_DROPS)
            return -1;
        if (n + *count > JOB_MAX_DROPS)
            return why(w, NULL, " (more than %d drops in all)", JOB_MAX_DROPS);
        for (int i = 0; i < n; i++) {
            char *colon = strchr(items[i], ':');
            long step;
            double f;
            if (!colon)
                return -1;
            *colon = '\0';
            if (parse_long(trim(items[i]), &step) || step < 1 || parse_double(trim(colon + 1), &f) ||
                f <= 0)
                return -1;
            if (f > BIG)
                return why(w, NULL, " (FACTOR at most %g)", BIG);
            if (*count > 0 && step <= job->drop_step[*count - 1])
                return -1;
            job->drop_step[*count] = step;
            job->drop_factor[*count] = f;
            (*count)++;
        }
        return 0;
    }
    }
    return -1;
}

/* ---- inih handler ------------------------------------------------------------ */

static int is_section(const char *s)
{
    for (int i = 0; sections[i]; i++)
        if (strcmp(sections[i], s) == 0)
            return 1;
    return 0;
}

static const char *closest_section(const char *s)
{
    const char *best = NULL;
    int bd = 3;
    for (int i = 0; sections[i]; i++) {
        int dd = edit_distance(s, sections[i]);
        if (dd < bd) {
            bd = dd;
            best = sections[i];
        }
    }
    return best;
}

/* The closest key name: in this section first, then anywhere (a key in the wrong
 * section is a common slip). */
static const JobKey *closest_key(const char *section, const char *name)
{
    const JobKey *best = NULL;
    int bd = 3;
    for (int pass = 0; pass < 2 && !best; pass++)
        for (int i = 0; i < N_KEYS; i++) {
            if (pass == 0 && strcmp(job_keys[i].section, section) != 0)
                continue;
            int dd = edit_distance(name, job_keys[i].name);
            if (pass == 1 && strcmp(name, job_keys[i].name) == 0)
                dd = 0;
            if (dd < bd) {
                bd = dd;
                best = &job_keys[i];
            }
        }
    return best;
}

static void comma_error(ParseCtx *c)
{
    const JobKey *k = &job_keys[c->last_key];
    char ex[300];
    int line = c->comma_line;
    c->comma_line = 0;
    ctx_error(c, line, "[%s] %s: expected %s, got '%s' (a trailing ','; remove it, or continue "
              "the list on an indented line)", k->section, k->name, type_expect(k, ex, sizeof ex),
              c->comma_text);
}

/* 'target = lowrank:r' and 'rank = r' say the same thing twice: they must agree. */
static void check_rank(ParseCtx *c, int idx, int line)
{
    int rank_idx = -1;
    find_key("model", "rank", &rank_idx);
    if (!c->inline_rank || !c->key_line[rank_idx] || c->rank_value == c->inline_rank)
        return;
    if (idx == rank_idx)
        ctx_error(c, line, "[model] rank: expected %d as in 'target = lowrank:%d' (line %d), got %d",
                  c->inline_rank, c->inline_rank, c->inline_rank_line, c->rank_value);
    else
        ctx_error(c, line, "[model] target: expected lowrank:%d as 'rank = %d' says (line %d), "
                  "got lowrank:%d", c->rank_value, c->rank_value, c->key_line[rank_idx], c->inline_rank);
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    ParseCtx *c = user;
    int line = c->line;
    if (c->line_too_long) {
        ctx_error(c, c->line_too_long, "line longer than 199 characters: continue a long list "
                  "on indented lines or use a:b:step ranges");
        return 0;
    }
    if (!*section) {
        ctx_error(c, line, "%s: key outside any section (start with [sweep], [model], [grid], "
                  "[train] or [eval])", name);
        return 0;
    }
    if (!is_section(section))
        return 0; /* reported at its header by note_section */
    if (!*name) {
        ctx_error(c, line, "[%s]: expected a key name before '=', got '= %s'", section, value);
        return 0;
    }
    int idx;
    const JobKey *k = find_key(section, name, &idx);
    if (!k) {
        const JobKey *best = closest_key(section, name);
        if (best && strcmp(best->section, section) == 0)
            ctx_error(c, line, "[%s] %s: unknown key (did you mean '%s'?)", section, name, best->name);
        else if (best)
            ctx_error(c, line, "[%s] %s: unknown key (did you mean '%s' in [%s]?)", section, name,
                      best->name, best->section);
        else
            ctx_error(c, line, "[%s] %s: unknown key (see 'lazysweep help job')", section, name);
        c->last_key = -1;
        return 0;
    }
    /* '#' starts an inline comment too (inih only strips ' ;'). */
    char val[4096];
    snprintf(val, sizeof val, "%s", value);
    for (char *h = val; (h = strchr(h, '#')) != NULL; h++)
        if (h == val || isspace((unsigned char)h[-1])) {
            *h = '\0';
            break;
        }
    int continuation = c->line_indented && c->last_key == idx;
    int is_list = k->count_off != NOCOUNT;
    if (continuation && !is_list) {
        ctx_error(c, line, "[%s] %s: expected one value, got a continuation line '%s' (only lists "
                  "continue on indented lines)", section, name, trim(val));
        return 0;
    }
    if (c->key_line[idx] && !(continuation && is_list)) {
        ctx_error(c, line, "[%s] %s: given twice (first on line %d)", section, name, c->key_line[idx]);
        return 0;
    }
    if (continuation)
        c->comma_line = 0; /* the ',' before this line was a continuation's */
    int trailing = 0;
    Why w;
    memset(&w, 0, sizeof w);
    if (apply_key(k, c->job, val, continuation, &trailing, &w) != 0) {
        char ex[300];
        ctx_error(c, line, "[%s] %s: expected %s, got '%s'%s", section, name,
                  w.expect[0] ? w.expect : type_expect(k, ex, sizeof ex), trim(val), w.note);
        return 0;
    }
    if (is_list && *(int *)((char *)c->job + k->count_off) == 0) {
        char ex[300];
        ctx_error(c, line, "[%s] %s: expected %s, got nothing", section, name,
                  type_expect(k, ex, sizeof ex));
        return 0;
    }
    if (trailing) {
        c->comma_line = line;
        snprintf(c->comma_text, sizeof c->comma_text, "%s", trim(val));
    }
    if (!continuation)
        c->key_line[idx] = line;
    c->last_key = idx;
    if (k->off == F(target) && strncmp(trim(val), "lowrank:", 8) == 0) {
        c->inline_rank = c->job->rank;
        c->inline_rank_line = line;
    }
    if (k->off == F(rank))
        c->rank_value = c->job->rank;
    check_rank(c, idx, line);
    return 1;
}

/* ---- defaults, validation ---------------------------------------------------- */

void job_defaults(JobSpec *job)
{
    memset(job, 0, sizeof *job);
    for (int i = 0; i < N_KEYS; i++)
        if (job_keys[i].def && apply_key(&job_keys[i], job, job_keys[i].def, 0, NULL, NULL) != 0) {
            fprintf(stderr, "lazysweep: fatal: bad default for %s (%s:%d)\n", job_keys[i].name,
                    __FILE__, __LINE__);
            abort();
        }
}

/* coef * {1, d, d^2, N d} before rounding; -1 for the population. */
static double job_n_exact(const NSpec *ns, int d, int N)
{
    double f = 1;
    switch (ns->form) {
    case NFORM_INF: return -1;
    case NFORM_ABS: f = 1; break;
    case NFORM_D: f = d; break;
    case NFORM_D2: f = (double)d * d; break;
    case NFORM_ND: f = (double)N * d; break;
    }
    return ns->coef * f;
}

long job_n_value(const NSpec *ns, int d, int N)
{
    double v = job_n_exact(ns, d, N);
    if (v < 0)
        return -1;
    /* a validated job never gets here with more than JOB_MAX_N; never round out of range */
    return v < 9e18 ? lround(v) : LONG_MAX;
}

int job_nn_method(const JobSpec *job, long n)
{
    if (job->nn_method == NN_METHOD_DEFAULT)
        return NN_METHOD_VARPRO;
    if (job->nn_method == NN_METHOD_CLASSIC)
        return n < 0 ? NN_METHOD_POPULATION : NN_METHOD_GD;
    return job->nn_method;
}

static int key_index(const char *section, const char *name)
{
    int idx = -1;
    find_key(section, name, &idx);
    return idx;
}

/* Line to blame for a cross-key error: where the key was set, else the last line. */
static int blame(const ParseCtx *c, const char *section, const char *name)
{
    int i = key_index(section, name);
    return i >= 0 && c->key_line[i] ? c->key_line[i] : c->line;
}

int job_regime_axis(int regime)
{
    return regime == REGIME_ALPHA || regime == REGIME_ALPHA_LIN ? AXIS_ALPHA
           : regime == REGIME_ONESTEP                           ? AXIS_ETA
                                                                : AXIS_NONE;
}

int job_regime_has_width(int regime) { return regime != REGIME_KRR_RF && regime != REGIME_KRR_NT; }

double job_onestep_a0(const JobSpec *job, int N)
{
    if (job->onestep_a0 == ONESTEP_A0_INV_N)
        return 1.0 / (N > 0 ? N : 1);
    if (job->onestep_a0 == ONESTEP_A0_INV_SQRT_N)
        return 1.0 / sqrt(N > 0 ? N : 1);
    return job->onestep_a0;
}

int job_has_regime(const JobSpec *job, int regime)
{
    for (int i = 0; i < job->n_regimes; i++)
        if (job->regimes[i] == regime)
            return 1;
    return 0;
}

static int has(const JobSpec *job, int regime) { return job_has_regime(job, regime); }

static void validate(ParseCtx *c)
{
    JobSpec *job = c->job;
    int grid_line = blame(c, "grid", "d");
    if (!c->key_line[key_index("grid", "d")]) {
        ctx_error(c, c->line > 0 ? c->line : 1, "[grid] d: required key missing (e.g. d = 20, 40)");
        return;
    }
    int has_rho = c->key_line[key_index("grid", "rho")] != 0;
    int has_N = c->key_line[key_index("grid", "N")] != 0;
    if (has_rho && has_N) {
        ctx_error(c, blame(c, "grid", "N"), "[grid] N: expected either rho or N, got both "
                  "(rho on line %d)", blame(c, "grid", "rho"));
        return;
    }
    int any_width = 0;
    for (int i = 0; i < job->n_regimes; i++)
        any_width |= job_regime_has_width(job->regimes[i]);
    if (!has_rho && !has_N && any_width) {
        ctx_error(c, c->line > 0 ? c->line : 1, "[grid] rho: required key missing (give rho = ... or N = ...)");
        return;
    }
    if (!has_rho && !has_N) { /* only kernel regimes: one width-free task per (d, n) */
        job->n_width = 1;
        job->N[0] = 0;
    }
    job->width_is_rho = has_rho;
    int min_d = job->d[0];
    for (int i = 0; i < job->n_d; i++) {
        if (job->d[i] < min_d)
            min_d = job->d[i];
        for (int j = 0; j < i; j++)
            if (job->d[j] == job->d[i]) {
                ctx_error(c, grid_line, "[grid] d: expected distinct dimensions, got %d twice", job->d[i]);
                return;
            }
    }
    /* N = round(rho d) in doubles first: it must fit N's own bounds before it is an int */
    const JobKey *Nkey = find_key("grid", "N", NULL);
    if (has_rho)
        for (int i = 0; i < job->n_width; i++)
            for (int j = 0; j < job->n_d; j++) {
                double Nd = job->rho[i] * job->d[j];
                if (Nd < 0.5) {
                    ctx_error(c, blame(c, "grid", "rho"), "[grid] rho: expected rho*d >= 0.5 so "
                              "that N >= 1, got rho = %g at d = %d", job->rho[i], job->d[j]);
                    return;
                }
                if (!(Nd < Nkey->max + 0.5)) {
                    ctx_error(c, blame(c, "grid", "rho"), "[grid] rho: expected rho*d <= %.0f "
                              "(the largest N), got rho = %.15g at d = %d (N = %.15g)", Nkey->max,
                              job->rho[i], job->d[j], Nd);
                    return;
                }
            }
    /* n at every (d, N), in doubles before it is rounded: it keys a 32-bit stream counter */
    for (int i = 0; i < job->n_n; i++)
        for (int j = 0; j < job->n_d; j++)
            for (int w = 0; job->n[i].form != NFORM_INF && w < job->n_width; w++) {
                int d = job->d[j];
                int N = has_rho ? (int)lround(job->rho[w] * d) : job->N[w];
                double nv = job_n_exact(&job->n[i], d, N);
                if (nv < 0.5 || !(nv < JOB_MAX_N + 0.5)) {
                    char nb[64];
                    job_n_format(&job->n[i], nb, sizeof nb);
                    ctx_error(c, blame(c, "grid", "n"), "[grid] n: expected 1 <= n <= 2e9, got "
                              "n = %.15g from '%s' at d = %d, N = %d", nv < 0.5 ? 0 : nv, nb, d, N);
                    return;
                }
            }
    for (int m = 0; m < job->n_models; m++) {
        if (job->models[m] == MODEL_QUADRATIC && job->target == TARGET_LOWRANK && job->rank > min_d) {
            if (c->inline_rank && !c->key_line[key_index("model", "rank")])
                ctx_error(c, c->inline_rank_line, "[model] target: expected lowrank:r with r <= "
                          "every d (%d), got lowrank:%d", min_d, job->rank);
            else
                ctx_error(c, blame(c, "model", "rank"), "[model] rank: expected r <= every d (%d), "
                          "got %d", min_d, job->rank);
            return;
        }
        if (job->models[m] == MODEL_MIXTURE && job->mixture_rank > min_d) {
            ctx_error(c, blame(c, "model", "mixture_rank"), "[model] mixture_rank: expected "
                      "s <= every d (%d), got %d", min_d, job->mixture_rank);
            return;
        }
    }
    /* the axes of the alpha and onestep regimes: a value twice would give two tasks with
     * the same parameters */
    const struct {
        const char *key;
        const double *v;
        int n;
    } axes[] = {{"alpha", job->alpha, job->n_alpha}, {"onestep_eta", job->eta, job->n_eta}};
    for (int a = 0; a < 2; a++)
        for (int i = 0; i < axes[a].n; i++)
            for (int j = 0; j < i; j++)
                if (axes[a].v[i] == axes[a].v[j]) {
                    ctx_error(c, blame(c, "grid", axes[a].key), "[grid] %s: expected distinct "
                              "values, got %g twice", axes[a].key, axes[a].v[i]);
                    return;
                }
    if ((has(job, REGIME_ALPHA) || has(job, REGIME_ALPHA_LIN)) && job->n_alpha == 0) {
        ctx_error(c, blame(c, "grid", "regime"), "[grid] alpha: required with the alpha and "
                  "alpha_lin regimes (e.g. alpha = 0.01, 1, 100)");
        return;
    }
    if (job->n_onestep_n0 != 1 || job->onestep_n0[0].form == NFORM_ND) {
        ctx_error(c, blame(c, "train", "onestep_n0"), "[train] onestep_n0: expected one of inf, "
                  "an integer, Kd or Kd^2");
        return;
    }
    if (has(job, REGIME_KRR_RF) || has(job, REGIME_KRR_NT))
        for (int i = 0; i < job->n_n; i++)
            if (job->n[i].form == NFORM_ND) {
                ctx_error(c, blame(c, "grid", "n"), "[grid] n: the krr regimes have no width, so "
                          "n = KNd is undefined for them; give n as an integer, Kd or Kd^2");
                return;
            }
    if (has(job, REGIME_NN)) {
        int any_inf = 0, any_finite = 0;
        for (int i = 0; i < job->n_n; i++) {
            if (job->n[i].form == NFORM_INF)
                any_inf = 1;
            else
                any_finite = 1;
        }
        if (job->nn_method == NN_METHOD_GD && any_inf) {
            ctx_error(c, blame(c, "train", "nn_method"), "[train] nn_method: expected sgd, "
                      "population, varpro or auto when n includes inf, got 'gd' (full batch needs finite n)");
            return;
        }
        if (job->nn_method == NN_METHOD_POPULATION && any_finite) {
            ctx_error(c, blame(c, "train", "nn_method"), "[train] nn_method: expected gd, sgd, "
                      "varpro or auto when n is finite, got 'population' (it needs n = inf)");
            return;
        }
    }
}

/* ---- entry points -------------------------------------------------------------- */

int job_load_string(const char *text, const char *path, JobSpec *job, char *err, size_t errlen)
{
    ParseCtx c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.src = c.pos = text;
    c.job = job;
    c.last_key = -1;
    job_defaults(job);
    snprintf(job->path, sizeof job->path, "%s", path);
    int rc = ini_parse_stream(ctx_reader, &c, handler, &c);
    if (rc > 0) { /* inih's first bad line: kept if no error comes before it */
        const char *l = text;
        for (int i = 1; i < rc && (l = strchr(l, '\n')) != NULL; i++)
            l++;
        char got[200];
        snprintf(got, sizeof got, "%.*s", l ? (int)strcspn(l, "\n") : 0, l ? l : "");
        ctx_error(&c, rc, "syntax error: expected '[section]' or 'key = value', got '%s'", trim(got));
    }
    else if (rc < 0 && !c.err[0])
        ctx_error(&c, 0, "cannot parse (out of memory)");
    if (c.line_too_long) /* the earliest error wins */
        ctx_error(&c, c.line_too_long, "line longer than 199 characters: continue a long list "
                  "on indented lines or use a:b:step ranges");
    if (c.comma_line)
        comma_error(&c);
    if (!c.err[0])
        validate(&c);
    memcpy(job->key_line, c.key_line, sizeof c.key_line);
    if (c.err[0]) {
        snprintf(err, errlen, "%s", c.err);
        return -1;
    }
    return 0;
}

void job_where(const JobSpec *job, const char *section, const char *key, char *buf, size_t len)
{
    int idx = -1;
    find_key(section, key, &idx);
    int line = idx >= 0 ? job->key_line[idx] : 0;
    if (line > 0)
        snprintf(buf, len, "%s:%d: [%s] %s", job->path, line, section, key);
    else
        snprintf(buf, len, "%s: [%s] %s", job->path, section, key);
}

int job_load(const char *path, JobSpec *job, char **text, char *err, size_t errlen)
{
    if (!*path) {
        snprintf(err, errlen, "'': expected the path of a job file, got an empty name");
        return -1;
    }
    if (strlen(path) >= sizeof job->path) {
        snprintf(err, errlen, "%.60s...: expected a job-file path shorter than %zu characters",
                 path, sizeof job->path);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open job file: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: expected a job file, got a directory", path);
        fclose(f);
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 >= cap) {
            char *nb = cap < (1u << 24) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int read_error = ferror(f) ? errno : 0;
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "%s: job file too large (over 16 MiB)", path);
        return -1;
    }
    if (read_error) {
        snprintf(err, errlen, "%s: cannot read job file: %s", path, strerror(read_error));
        free(buf);
        return -1;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        int line = 1;
        for (const char *q = buf; *q; q++)
            line += *q == '\n';
        snprintf(err, errlen, "%s:%d: expected a text file, got a NUL byte (not a job file?)", path,
                 line);
        free(buf);
        return -1;
    }
    int rc = job_load_string(buf, path, job, err, errlen);
    if (rc == 0 && text)
        *text = buf;
    else
        free(buf);
    return rc;
}

/* ---- printing ------------------------------------------------------------------ */

void job_n_format(const NSpec *ns, char *buf, size_t len)
{
    static const char *const suffix[] = {"", "d", "d^2", "Nd", ""};
    if (ns->form == NFORM_INF)
        snprintf(buf, len, "inf");
    else if (ns->form != NFORM_ABS && ns->coef == 1)
        snprintf(buf, len, "%s", suffix[ns->form]);
    else
        snprintf(buf, len, "%.15g%s", ns->coef, suffix[ns->form]);
}

static void print_value(const JobKey *k, const JobSpec *job, FILE *out)
{
    const char *base = (const char *)job;
    int count = k->count_off != NOCOUNT ? *(const int *)(base + k->count_off) : 0;
    switch (k->type) {
    case KT_STRING: fputs(base + k->off, out); break;
    case KT_UINT64: fprintf(out, "%llu", (unsigned long long)*(const uint64_t *)(base + k->off)); break;
    case KT_INT: fprintf(out, "%d", *(const int *)(base + k->off)); break;
    case KT_LONG: fprintf(out, "%ld", *(const long *)(base + k->off)); break;
    case KT_DOUBLE: fprintf(out, "%.17g", *(const double *)(base + k->off)); break;
    case KT_ENUM: fputs(k->choices[*(const int *)(base + k->off)], out); break;
    case KT_LR: {
        double v = *(const double *)(base + k->off);
        if (v == 0)
            fputs("auto", out);
        else
            fprintf(out, "%.17g", v);
        break;
    }
    case KT_A0: {
        double v = *(const double *)(base + k->off);
        if (v == ONESTEP_A0_INV_N)
            fputs("1/N", out);
        else if (v == ONESTEP_A0_INV_SQRT_N)
            fputs("1/sqrtN", out);
        else
            fprintf(out, "%.17g", v);
        break;
    }
    case KT_ENUMS:
        for (int i = 0; i < count; i++)
            fprintf(out, "%s%s", i ? ", " : "", k->choices[((const int *)(base + k->off))[i]]);
        break;
    case KT_INTS:
    case KT_DOUBLES:
        /* rho and N share n_width: print only the one that was given */
        if ((k->off == F(rho) && !job->width_is_rho) || (k->off == F(N) && job->width_is_rho))
            count = 0;
        if (k->off == F(N) && job->n_width == 1 && job->N[0] == 0)
            count = 0; /* a krr-only job without widths (validate's N = 0 stands for none) */
        for (int i = 0; i < count; i++) {
            if (k->type == KT_INTS)
                fprintf(out, "%s%d", i ? ", " : "", ((const int *)(base + k->off))[i]);
            else
                fprintf(out, "%s%.15g", i ? ", " : "", ((const double *)(base + k->off))[i]);
        }
        break;
    case KT_NS:
        for (int i = 0; i < count; i++) {
            char nb[64];
            job_n_format(&((const NSpec *)(base + k->off))[i], nb, sizeof nb); /* n, onestep_n0 */
            fprintf(out, "%s%s", i ? ", " : "", nb);
        }
        break;
    case KT_DROPS:
        for (int i = 0; i < count; i++)
            fprintf(out, "%s%ld:%.15g", i ? ", " : "", job->drop_step[i], job->drop_factor[i]);
        break;
    }
}

/* The keys of the regimes beyond the paper matter only when the job runs them. */
static int key_relevant(const JobSpec *job, const JobKey *k)
{
    int alpha = has(job, REGIME_ALPHA) || has(job, REGIME_ALPHA_LIN);
    if (k->off == F(alpha) || !strncmp(k->name, "alpha_", 6))
        return alpha;
    if (!strncmp(k->name, "onestep_", 8))
        return has(job, REGIME_ONESTEP);
    if (!strncmp(k->name, "krr_", 4))
        return has(job, REGIME_KRR_RF) || has(job, REGIME_KRR_NT);
    return 1;
}

/* Keys at their default value are left out, so that a key added in a later version
 * does not change the identity (and resumability) of existing jobs. */
/* for_hash: the text the identity hashes, where nn_method = classic is left out (it is
 * the old auto's identity); the printed text says classic so that it parses back. */
static void print_canonical(const JobSpec *job, FILE *out, int for_hash)
{
    JobSpec def;
    job_defaults(&def);
    def.width_is_rho = job->width_is_rho;
    for (int i = 0; i < N_KEYS; i++) {
        const JobKey *k = &job_keys[i];
        if ((k->off == F(rank) && job->target != TARGET_LOWRANK) || k->off == F(crash_limit))
            continue; /* irrelevant and operational keys do not change a job's identity */
        if (!key_relevant(job, k))
            continue; /* settings of regimes the job does not run */
        if (k->off == F(nn_method)) { /* what auto means changed: see job.h */
            int m = job->nn_method;
            if (m == NN_METHOD_DEFAULT && has(job, REGIME_NN))
                m = NN_METHOD_VARPRO;
            if (m != NN_METHOD_DEFAULT && !(m == NN_METHOD_CLASSIC && for_hash))
                fprintf(out, "%s.%s = %s\n", k->section, k->name, k->choices[m]);
            continue;
        }
        char *mine = NULL, *base = NULL;
        size_t l1 = 0, l2 = 0;
        FILE *m1 = open_memstream(&mine, &l1), *m2 = open_memstream(&base, &l2);
        if (!m1 || !m2)
            abort();
        print_value(k, job, m1);
        print_value(k, &def, m2);
        fclose(m1);
        fclose(m2);
        if (!k->def || strcmp(mine, base) != 0)
            fprintf(out, "%s.%s = %s\n", k->section, k->name, mine);
        free(mine);
        free(base);
    }
}

void job_print_canonical(const JobSpec *job, FILE *out) { print_canonical(job, out, 0); }

uint64_t job_hash(const JobSpec *job)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return 0;
    print_canonical(job, mem, 1);
    fclose(mem);
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)text[i];
        h *= 1099511628211ULL;
    }
    free(text);
    return h;
}

void job_print_help(FILE *out)
{
    fprintf(out, "Job files are INI: [section] headers, 'key = value' lines, ';' or '#' comments.\n"
                 "Lists are comma-separated; ranges start:stop:step include stop; a long list may\n"
                 "continue on indented lines (a ',' may end a line only before its continuation).\n"
                 "Unknown sections or keys are errors, and so is a key given twice or anything\n"
                 "but a comment after a section header. Numbers are decimal (leading zeros too;\n"
                 "seed may also be 0x hex); inf and nan are not numbers. At most 256 values per\n"
                 "list, 50000000 tasks, and n <= 2e9 at every (d, N).\n");
    const char *sec = "";
    for (int i = 0; i < N_KEYS; i++) {
        const JobKey *k = &job_keys[i];
        if (strcmp(sec, k->section) != 0) {
            sec = k->section;
            fprintf(out, "\n[%s]\n", sec);
        }
        char ex[300];
        fprintf(out, "  %-14s %s\n", k->name, k->help);
        fprintf(out, "  %-14s   default: %s; expects %s\n", "",
                k->def ? (*k->def ? k->def : "(none)") : "(required)", type_expect(k, ex, sizeof ex));
    }
}
