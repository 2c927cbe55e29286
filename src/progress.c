/* progress: see include/progress.h. */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "timer.h"

struct Progress {
    long total, already;
    int tty, quiet;
    double start, last, period;
};

Progress *progress_create(long total, long already, int quiet)
{
    Progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->total = total;
    p->already = already;
    p->quiet = quiet;
    p->tty = isatty(STDERR_FILENO);
    const char *env = getenv("LAZYSWEEP_PROGRESS_SECONDS");
    p->period = p->tty ? 0.2 : (env && atof(env) > 0 ? atof(env) : 30.0);
    p->start = p->last = timer_now();
    return p;
}

static void format_duration(double s, char *buf, size_t len)
{
    if (s < 0 || s > 1e8)
        snprintf(buf, len, "?");
    else if (s < 60)
        snprintf(buf, len, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, len, "%.0fm%02.0fs", (double)(long)(s / 60), s - 60 * (long)(s / 60));
    else
        snprintf(buf, len, "%.0fh%02.0fm", (double)(long)(s / 3600), (s - 3600 * (long)(s / 3600)) / 60);
}

static void print_line(Progress *p, long done, long failed, long running, int final)
{
    double t = timer_now(), el = t - p->start;
    long finished = done + failed;
    long all_done = p->already + finished;
    double rate = el > 0 ? finished / el : 0;
    long left = p->total - all_done;
    char eta[32], elapsed[32];
    format_duration(rate > 0 ? left / rate : -1, eta, sizeof eta);
    format_duration(el, elapsed, sizeof elapsed);
    double frac = p->total ? (double)all_done / p->total : 1;
    if (p->tty) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %ld/%ld %5.1f%%  failed %ld  running %ld  %.2f tasks/s  ETA %s  ",
                bar, all_done, p->total, 100 * frac, failed, running, rate, final ? "-" : eta);
        if (final)
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "lazysweep: progress %ld/%ld (%.1f%%) done, %ld failed, %ld running, "
                "%.3g tasks/s, elapsed %s, ETA %s\n", all_done, p->total, 100 * frac, failed,
                running, rate, elapsed, final ? "-" : eta);
    }
    fflush(stderr);
    p->last = t;
}

void progress_update(Progress *p, long done, long failed, long running, int force)
{
    if (!p || p->quiet)
        return;
    if (force || timer_now() - p->last >= p->period)
        print_line(p, done, failed, running, 0);
}

void progress_finish(Progress *p, long done, long failed, const char *why)
{
    if (!p || p->quiet)
        return;
    print_line(p, done, failed, 0, 1);
    if (why && *why)
        fprintf(stderr, "lazysweep: %s\n", why);
}

void progress_free(Progress *p) { free(p); }
