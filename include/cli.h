/* cli: the command line — one table of subcommands and one table of options that
 * drive parsing, `--help` and `CMD --help`. Parses only; the commands live in their
 * own modules (plan, ...). Never touches files. */
#ifndef LS_CLI_H
#define LS_CLI_H

typedef struct {
    const char *command;   /* subcommand name */
    const char *job;       /* JOB positional (plan, run, task) */
    const char *file;      /* FILE positional (status, aggregate) */
    const char *out;       /* -o / --output */
    const char *csv;       /* --csv */
    long id;               /* --id (task) */
    long max_tasks;        /* --max-tasks, 0 = no limit */
    double time_limit;     /* --time-limit seconds, 0 = none */
    double mem_per_rank;   /* --mem-per-rank bytes, 0 = from the machine */
    long show;             /* --show: tasks listed by plan */
    const char *calibrate; /* plan --calibrate FILE: the cost model against a finished run */
    int retry_failed;      /* --retry-failed */
    int json;              /* --json */
    const char *topic;     /* help TOPIC */
    double sync_every;     /* --sync-every seconds between collective flushes, 0 (default) = end only */
    int quiet;             /* --quiet: no progress lines */
    int force;             /* --force: aggregate --csv may overwrite a file it did not write */
    int argc;              /* the whole command line, for provenance */
    char **argv;
} CliArgs;

/* Parses argv. Returns -1 when a command should run (args filled); otherwise the
 * exit status to return at once (help or version printed: 0; usage error: 2,
 * message printed). */
int cli_parse(int argc, char **argv, CliArgs *args);
/* Runs the parsed command; returns its exit status. */
int cli_dispatch(const CliArgs *args);

#endif
