/* log: see include/log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int log_rank = -1;
static void (*log_abort)(int) = NULL;

void log_set_rank(int rank) { log_rank = rank; }
void log_set_abort(void (*abort_fn)(int)) { log_abort = abort_fn; }

static void log_v(const char *level, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (log_rank >= 0)
        fprintf(stderr, "lazysweep: rank %d: %s%s\n", log_rank, level, msg);
    else
        fprintf(stderr, "lazysweep: %s%s\n", level, msg);
}

void log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_v("", fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_v("warning: ", fmt, ap);
    va_end(ap);
}

void log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_v("", fmt, ap);
    va_end(ap);
}

void log_fatal_at(const char *file, int line, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "lazysweep: rank %d: fatal: %s (%s:%d)\n",
            log_rank < 0 ? 0 : log_rank, msg, file, line);
    fflush(stderr);
    if (log_abort)
        log_abort(LS_EXIT_INTERNAL);
    exit(LS_EXIT_INTERNAL);
}

void *ls_malloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        ls_fatal("out of memory allocating %zu bytes", bytes);
    return p;
}

void *ls_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        ls_fatal("out of memory allocating %zu x %zu bytes", count, size);
    return p;
}
