/* log: messages on stderr, the program's exit codes, and the one fatal macro.
 * Owns nothing else; never calls MPI directly (fatal aborts through a hook the
 * scheduler installs, so numerics stay MPI-free). */
#ifndef LS_LOG_H
#define LS_LOG_H

#include <stddef.h>

/* Exit status everywhere (DESIGN §2). */
enum {
    LS_EXIT_OK = 0,        /* complete and all tasks ok */
    LS_EXIT_INTERNAL = 1,  /* internal failure */
    LS_EXIT_USAGE = 2,     /* bad input or usage; nothing on disk touched */
    LS_EXIT_RESUMABLE = 3, /* stopped early (signal, time limit, --max-tasks) */
    LS_EXIT_FAILED = 4     /* finished, some tasks failed */
};

/* Rank shown in messages; -1 (default) prints no rank. */
void log_set_rank(int rank);
/* Called by ls_fatal after printing; the scheduler sets one that aborts the
 * communicator. Default: exit(LS_EXIT_INTERNAL). */
void log_set_abort(void (*abort_fn)(int status));

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Plain error line "lazysweep: MSG" (the caller decides the exit status). */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Copies `in` to `out` (NUL-terminated, truncated whole) with every byte that could
 * break the line or the terminal escaped: C0 controls as \n \r \t \f \v or \xNN, DEL and
 * bytes that are not UTF-8 as \xNN, C1 controls and U+2028/2029 as \uNNNN. Every
 * message goes through it, so a message is always one line. */
void log_escape(const char *in, char *out, size_t outlen);
void log_fatal_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

/* Internal failure: prints "lazysweep: rank R: fatal: MSG (src/file.c:LINE)"
 * and aborts (all ranks when running under MPI). Never for user input. */
#define ls_fatal(...) log_fatal_at(__FILE__, __LINE__, __VA_ARGS__)

/* malloc/calloc that are fatal on failure, for sizes the caller has already
 * checked against the memory budget. */
void *ls_malloc(size_t bytes);
void *ls_calloc(size_t count, size_t size);

#endif
