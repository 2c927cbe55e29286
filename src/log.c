/* log: see include/log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int log_rank = -1;
static void (*log_abort)(int) = NULL;

void log_set_rank(int rank) { log_rank = rank; }
void log_set_abort(void (*abort_fn)(int)) { log_abort = abort_fn; }

/* Length of the valid UTF-8 sequence at s (2-4), or 0. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : 0;
    if (s[0] > 0xf4)
        return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
        (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))
        return 0; /* overlong, surrogate, above U+10FFFF */
    return n;
}

void log_escape(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (outlen == 0)
        return;
    for (const unsigned char *s = (const unsigned char *)in; *s;) {
        char esc[8];
        size_t n = 0;
        int take = 1;
        if (*s >= 0x20 && *s < 0x7f) {
            esc[n++] = (char)*s;
        } else if (*s == '\n' || *s == '\r' || *s == '\t' || *s == '\f' || *s == '\v') {
            esc[n++] = '\\';
            esc[n++] = *s == '\n' ? 'n' : *s == '\r' ? 'r' : *s == '\t' ? 't' : *s == '\f' ? 'f' : 'v';
        } else if (*s >= 0x80 && (take = utf8_len(s)) > 0) {
            /* valid UTF-8 stays, except what Unicode counts as a line break or control:
             * C1 controls (NEL U+0085 ...) and U+2028/U+2029 */
            unsigned cp = take == 2 ? ((s[0] & 0x1fu) << 6) | (s[1] & 0x3fu)
                        : take == 3 ? ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu) : 0x10000;
            if (cp < 0xa0 || cp == 0x2028 || cp == 0x2029)
                n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", cp);
            else
                for (int i = 0; i < take; i++)
                    esc[n++] = (char)s[i];
        } else { /* other C0 controls, DEL, bytes that are not UTF-8 */
            take = 1;
            esc[n++] = '\\';
            esc[n++] = 'x';
            esc[n++] = hex[*s >> 4];
            esc[n++] = hex[*s & 15];
        }
        if (o + n >= outlen)
            break; /* truncate whole: never half an escape */
        memcpy(out + o, esc, n);
        o += n;
        s += take;
    }
    out[o] = '\0';
}

static void log_v(const char *level, const char *fmt, va_list ap)
{
    char raw[2048], msg[2048];
    vsnprintf(raw, sizeof raw, fmt, ap);
    log_escape(raw, msg, sizeof msg); /* one message, one line, whatever it echoes */
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
    char raw[2048], msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    log_escape(raw, msg, sizeof msg);
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
