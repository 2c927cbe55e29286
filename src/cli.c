/* cli: see include/cli.h. Adding a subcommand is one line in `commands`; adding an
 * option is one line in `options` (its `cmds` string says which subcommands take it). */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "log.h"
#include "plan.h"
#include "run.h"
#include "repair.h"
#include "rng.h"
#include "status.h"
#include "aggregate.h"
#include "task_cmd.h"
#include "version.h"

typedef struct {
    const char *name, *args, *summary;
    int (*run)(const CliArgs *args);
    const char *details;
} Command;

static int help_main(const CliArgs *args);

static const Command commands[] = {
    {"plan", "JOB", "validate a job file and show its tasks, memory and cost", plan_main,
     "Validates JOB, prints the task count per model and regime, the largest task's memory\n"
     "and flops, the estimated core-hours (src/cost.c: counted flops at measured kernel rates,\n"
     "typical iteration counts, data drawn once per group) and the first tasks. With\n"
     "--calibrate FILE, compares that model with a finished run of JOB instead.\n"
     "Needs no MPI; writes nothing.\n"
     "Exit 2 if the job is invalid or a task needs more memory than --mem-per-rank."},
    {"run", "JOB", "run (or resume) a sweep under mpirun/srun into one HDF5 results file", run_main,
     "Runs every task of JOB and writes its result into FILE (-o), created on the first run.\n"
     "Run it under mpirun or srun: rank 0 hands out tasks, the other ranks compute and write\n"
     "their rows themselves; with one rank it does both. Running it again on the same FILE\n"
     "resumes: tasks already done are skipped. A FILE made from another job is refused\n"
     "(exit 2, untouched). SIGTERM, SIGINT or SIGUSR1 stop it cleanly (exit 3, resumable);\n"
     "a second signal stops at once. Exit: 0 all done, 3 tasks remain, 4 some failed."},
    {"task", "JOB", "run one task in-process and print its result as JSON (no MPI, no file)",
     task_cmd_main,
     "Runs task --id K of JOB in this process and prints one JSON object whose keys are the\n"
     "field names of /tasks and /results (NaN printed as null). For debugging a grid point;\n"
     "`lazysweep plan JOB --show K` lists ids. Exit 0 ok, 4 the task failed, 2 bad input."},
    {"status", "FILE", "done / failed / pending of a results file (works while a job writes it)",
     status_main,
     "Reads FILE without MPI and without locking (login nodes, live files) and prints the\n"
     "done / failed / pending counts per model and regime, attempts, failure causes, the\n"
     "run records (ranks, hosts, SLURM ids, exit reasons) and an ETA.\n"
     "Exit 0 complete, 4 complete with failed tasks, 3 tasks remain, 2 not a results file\n"
     "(or an incomplete one of an earlier format, which only the release that made it resumes)."},
    {"aggregate", "FILE", "replicate means and standard errors per grid point, with theory",
     aggregate_main,
     "One row per (model, target, d, N, n, regime) over the DONE replicates: mean and standard\n"
     "error of the population, test and training risks normalised by the trivial risk R0, the\n"
     "0-1 test error (mixture), and the SPEC limit for N/d in `theory`. Prints a table; with\n"
     "--csv OUT writes the CSV columns model,target,d,N,rho,n,regime,replicates,\n"
     "risk_pop_mean,risk_pop_se,risk_test_mean,risk_test_se,risk_train_mean,risk_train_se,\n"
     "error_test_mean,error_test_se,theory (n = inf for the population; empty = n/a)."},
    {"repair", "FILE", "rebuild /status of a damaged results file from its journal", repair_main,
     "Rebuilds /status of FILE from FILE.journal, trusting an entry only where the /results\n"
     "row of that attempt reached the file. Takes FILE.lock: not while a job writes FILE.\n"
     "Then `lazysweep run` resumes as usual."},
    {"help", "[job]", "explain the job-file keys (`lazysweep help job`)", help_main,
     "`lazysweep help job` lists every job-file key with its section, default and meaning."},
};
#define N_COMMANDS ((int)(sizeof commands / sizeof commands[0]))

typedef enum { OPT_FLAG, OPT_STRING, OPT_LONG, OPT_SECONDS, OPT_BYTES } OptType;

typedef struct {
    const char *name;  /* long name without "--" */
    char short_name;   /* 0 = none */
    OptType type;
    size_t off;        /* offsetof in CliArgs */
    const char *cmds;  /* subcommands that take it, space-separated */
    const char *required; /* subcommands that need it */
    const char *meta, *help;
} Option;

#define A(field) offsetof(CliArgs, field)
static const Option options[] = {
    {"output", 'o', OPT_STRING, A(out), "run", "run", "FILE", "the HDF5 results file (created or resumed)"},
    {"max-tasks", 0, OPT_LONG, A(max_tasks), "run", "", "K", "stop after dispatching K tasks (exit 3): smoke tests"},
    {"retry-failed", 0, OPT_FLAG, A(retry_failed), "run", "", NULL, "run failed tasks again"},
    {"time-limit", 0, OPT_SECONDS, A(time_limit), "run", "", "SECONDS",
     "stop dispatching when the next task would not finish in time (exit 3)"},
    {"sync-every", 0, OPT_SECONDS, A(sync_every), "run", "", "SECONDS",
     "collective flush period (default 0: only at the end and on a signal; the journal "
     "makes results durable, and a periodic flush makes workers wait for the slowest task)"},
    {"quiet", 'q', OPT_FLAG, A(quiet), "run", "", NULL, "no progress lines"},
    {"mem-per-rank", 0, OPT_BYTES, A(mem_per_rank), "plan run", "", "SIZE",
     "memory budget of one rank, e.g. 4G, 500M (default: physical memory / cores)"},
    {"id", 0, OPT_LONG, A(id), "task", "task", "K", "the task id (0 .. tasks-1; see plan --show)"},
    {"csv", 0, OPT_STRING, A(csv), "aggregate", "", "OUT", "also write the table as CSV to OUT ('-': stdout only)"},
    {"force", 0, OPT_FLAG, A(force), "aggregate", "", NULL,
     "let --csv overwrite a file that is not a CSV written by aggregate (never the results file)"},
    {"json", 0, OPT_FLAG, A(json), "status", "", NULL, "one JSON object instead of the table"},
    {"show", 0, OPT_LONG, A(show), "plan", "", "K", "list the first K tasks (default 10)"},
    {"calibrate", 0, OPT_STRING, A(calibrate), "plan", "", "FILE",
     "compare the cost model with FILE, a results file of JOB: predicted vs measured seconds, "
     "flops and iterations per regime, and suggested rates for src/cost.c"},
};
#define N_OPTIONS ((int)(sizeof options / sizeof options[0]))

static int in_list(const char *list, const char *cmd);

/* "JOB -o FILE": the positionals and the options the command requires. */
static void synopsis(const Command *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s", c->args);
    for (int i = 0; i < N_OPTIONS; i++)
        if (in_list(options[i].required, c->name)) {
            size_t used = strlen(buf);
            if (options[i].short_name)
                snprintf(buf + used, len - used, " -%c %s", options[i].short_name, options[i].meta);
            else
                snprintf(buf + used, len - used, " --%s %s", options[i].name, options[i].meta);
        }
}

static void print_usage(FILE *out)
{
    fprintf(out, "usage: lazysweep COMMAND [ARGS] [OPTIONS]\n\n"
                 "Resumable MPI sweeps of two-layer quadratic networks (RF / NT / NN regimes,\n"
                 "Ghorbani et al. 2019) into one parallel HDF5 results file.\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++) {
        char head[64], syn[48];
        synopsis(&commands[i], syn, sizeof syn);
        snprintf(head, sizeof head, "%s %s", commands[i].name, syn);
        fprintf(out, "  %-22s %s\n", head, commands[i].summary);
    }
    fprintf(out, "\noptions:\n  -h, --help             this help; `lazysweep COMMAND --help` for one command\n"
                 "  -V, --version          program version and build\n\n"
                 "exit status: 0 complete and ok, 1 internal failure, 2 bad input or usage,\n"
                 "             3 stopped early but resumable, 4 finished with failed tasks\n");
}

static int in_list(const char *list, const char *cmd)
{
    size_t len = strlen(cmd);
    for (const char *p = list; (p = strstr(p, cmd)) != NULL; p += len)
        if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
            return 1;
    return 0;
}

static int takes(const Option *o, const char *cmd) { return in_list(o->cmds, cmd); }

static void print_command_help(const Command *c)
{
    char syn[64];
    synopsis(c, syn, sizeof syn);
    printf("usage: lazysweep %s %s [OPTIONS]\n\n%s\n", c->name, syn, c->details);
    int any = 0;
    for (int i = 0; i < N_OPTIONS; i++) {
        const Option *o = &options[i];
        if (!takes(o, c->name))
            continue;
        if (!any++)
            printf("\noptions:\n");
        char head[64];
        if (o->short_name)
            snprintf(head, sizeof head, "-%c, --%s %s", o->short_name, o->name, o->meta ? o->meta : "");
        else
            snprintf(head, sizeof head, "    --%s %s", o->name, o->meta ? o->meta : "");
        printf("  %-26s %s\n", head, o->help);
    }
    printf("  %-26s this help\n", "-h, --help");
}

static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Under mpirun or srun every rank parses the same command line before MPI starts:
     * rank 0 speaks for all (the launcher's environment says which rank we are). */
    static const char *const rank_vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK",
                                            "SLURM_PROCID", NULL};
    for (int i = 0; rank_vars[i]; i++) {
        const char *r = getenv(rank_vars[i]);
        if (r && *r && strcmp(r, "0") != 0)
            return LS_EXIT_USAGE;
    }
    if (cmd)
        log_error("%s: %s (see 'lazysweep %s --help')", cmd, msg, cmd);
    else
        log_error("%s (see 'lazysweep --help')", msg);
    return LS_EXIT_USAGE;
}

/* "4G", "500M", "1.5GiB", "123456" (bytes), decimal, at most CLI_MAX_BYTES */
#define CLI_MAX_BYTES (1024.0 * 1024 * 1024 * 1024 * 1024) /* 1 PiB: more is a typo */
static int parse_bytes(const char *s, double *out)
{
    char *end;
    if (!isdigit((unsigned char)*s) && *s != '.')
        return -1; /* no sign, space, hex, inf or nan */
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !(v > 0) || !isfinite(v) || strpbrk(s, "xXpP"))
        return -1;
    double mult = 1;
    switch (*end) {
    case 'k': case 'K': mult = 1024.0; end++; break;
    case 'm': case 'M': mult = 1024.0 * 1024; end++; break;
    case 'g': case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
    case 't': case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: break;
    }
    if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0 || strcmp(end, "b") == 0)
        end += strlen(end);
    if (*end || !(v * mult <= CLI_MAX_BYTES))
        return -1;
    *out = v * mult;
    return 0;
}

/* "-o/--output" or "--id": how messages name an option */
static const char *opt_label(const Option *o, char *buf, size_t len)
{
    if (o->short_name)
        snprintf(buf, len, "-%c/--%s", o->short_name, o->name);
    else
        snprintf(buf, len, "--%s", o->name);
    return buf;
}

static int set_option(const Option *o, CliArgs *args, const char *cmd, const char *val)
{
    char *base = (char *)args;
    char *end, label[80];
    opt_label(o, label, sizeof label);
    switch (o->type) {
    case OPT_FLAG:
        *(int *)(base + o->off) = 1;
        return 0;
    case OPT_STRING:
        /* a file name: not empty, and not an option swallowed as the value ('-' is stdout) */
        if (!*val || (val[0] == '-' && (val[1] || o->off != A(csv))))
            return usage_error(cmd, "%s: expected a file name, got '%s'", label, val);
        *(const char **)(base + o->off) = val;
        return 0;
    case OPT_LONG: {
        errno = 0;
        long v = strtol(val, &end, 10);
        if (!isdigit((unsigned char)*val) || *end || errno || v < 0)
            return usage_error(cmd, "%s: expected an integer >= 0, got '%s'", label, val);
        *(long *)(base + o->off) = v;
        return 0;
    }
    case OPT_SECONDS: {
        errno = 0;
        double v = strtod(val, &end);
        if ((!isdigit((unsigned char)*val) && *val != '.') || *end || errno || !(v >= 0) ||
            !isfinite(v) || strpbrk(val, "xXpP"))
            return usage_error(cmd, "%s: expected seconds >= 0, got '%s'", label, val);
        *(double *)(base + o->off) = v;
        return 0;
    }
    case OPT_BYTES: {
        double v;
        if (parse_bytes(val, &v))
            return usage_error(cmd, "%s: expected a size like 4G or 500M (at most 1024T), got '%s'",
                               label, val);
        *(double *)(base + o->off) = v;
        return 0;
    }
    }
    return LS_EXIT_USAGE;
}

static const Option *find_option(const char *arg, const char *cmd)
{
    for (int i = 0; i < N_OPTIONS; i++) {
        const Option *o = &options[i];
        if (!takes(o, cmd))
            continue;
        if (arg[1] == '-' ? strcmp(arg + 2, o->name) == 0 : (arg[1] == o->short_name && !arg[2]))
            return o;
    }
    return NULL;
}

int cli_parse(int argc, char **argv, CliArgs *args)
{
    memset(args, 0, sizeof *args);
    args->show = 10;
    args->sync_every = 0;
    args->argc = argc;
    args->argv = argv;
    if (argc < 2) {
        char names[200] = "";
        for (int i = 0; i < N_COMMANDS; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     i == 0 ? "" : i == N_COMMANDS - 1 ? " or " : ", ", commands[i].name);
        return usage_error(NULL, "expected a command: %s", names);
    }
    const char *first = argv[1];
    if (!strcmp(first, "-h") || !strcmp(first, "--help")) {
        print_usage(stdout);
        return LS_EXIT_OK;
    }
    if (!strcmp(first, "-V") || !strcmp(first, "--version")) {
        printf("lazysweep %s\nbuilt with %s, flags %s\nnormals: %s kernel\n", version_string(),
               version_compiler(), version_cflags(), rng_isa());
        return LS_EXIT_OK;
    }
    const Command *cmd = NULL;
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(first, commands[i].name))
            cmd = &commands[i];
    if (!cmd)
        return usage_error(NULL, "unknown command '%s'", first);
    args->command = cmd->name;

    int npos = 0;
    const char *pos[2] = {NULL, NULL};
    int seen[N_OPTIONS] = {0};
    const char *seen_val[N_OPTIONS] = {NULL};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            print_command_help(cmd);
            return LS_EXIT_OK;
        }
        if (a[0] == '-' && a[1]) {
            char name[64];
            const char *eq = strchr(a, '=');
            snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
            const Option *o = find_option(name, cmd->name);
            if (!o)
                return usage_error(cmd->name, "unknown option '%s'", name);
            const char *val = NULL;
            if (o->type != OPT_FLAG) {
                if (eq)
                    val = eq + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else
                    return usage_error(cmd->name, "option '%s' needs a value", name);
            } else if (eq) {
                return usage_error(cmd->name, "option '%s' takes no value", name);
            }
            if (seen[o - options]) {
                char label[80];
                opt_label(o, label, sizeof label);
                if (o->type == OPT_FLAG)
                    return usage_error(cmd->name, "%s: expected once, got it twice", label);
                return usage_error(cmd->name, "%s: expected once, got '%s' and then '%s'", label,
                                   seen_val[o - options], val);
            }
            int rc = set_option(o, args, cmd->name, val);
            if (rc)
                return rc;
            seen[o - options] = 1;
            seen_val[o - options] = val;
            continue;
        }
        if (npos >= 2)
            return usage_error(cmd->name, "unexpected argument '%s'", a);
        if (!*a)
            return usage_error(cmd->name, "expected %s, got an empty argument ''", npos ? "nothing more" : cmd->args);
        pos[npos++] = a;
    }
    /* Positionals by the command's synopsis. */
    int wants = cmd->args[0] == '[' ? 0 : (cmd->args[0] ? 1 : 0);
    int allows = cmd->args[0] ? 1 : 0;
    if (npos < wants)
        return usage_error(cmd->name, "missing %s", cmd->args);
    if (npos > allows)
        return usage_error(cmd->name, "unexpected argument '%s'", pos[allows]);
    for (int i = 0; i < N_OPTIONS; i++) {
        const Option *o = &options[i];
        if (in_list(o->required, cmd->name) && !seen[i])
        {
            if (o->short_name)
                return usage_error(cmd->name, "missing -%c/--%s %s", o->short_name, o->name, o->meta);
            return usage_error(cmd->name, "missing --%s %s", o->name, o->meta);
        }
    }
    if (!strcmp(cmd->args, "JOB"))
        args->job = pos[0];
    else if (!strcmp(cmd->args, "FILE"))
        args->file = pos[0];
    else
        args->topic = pos[0];
    return -1;
}

int cli_dispatch(const CliArgs *args)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(args->command, commands[i].name))
            return commands[i].run(args);
    return LS_EXIT_USAGE;
}

static int help_main(const CliArgs *args)
{
    if (!args->topic) {
        print_usage(stdout);
        return LS_EXIT_OK;
    }
    if (!strcmp(args->topic, "job")) {
        job_print_help(stdout);
        return LS_EXIT_OK;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(args->topic, commands[i].name)) {
            print_command_help(&commands[i]);
            return LS_EXIT_OK;
        }
    return usage_error("help", "unknown topic '%s' (try 'job' or a command name)", args->topic);
}
