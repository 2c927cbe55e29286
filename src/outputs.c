/* outputs: see include/outputs.h. */
#include "outputs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_LEN 4096
/* names run derives from -o OUT (lock.c, journal, store.c's temporary name) */
static const char *const companions[] = {".lock", ".journal", ".creating", NULL};

static int same_file(const struct stat *a, const char *path)
{
    struct stat b;
    return stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* A name to write: not empty, not a directory name, its directory there. */
static int check_new(const char *what, const char *path, char *err, size_t errlen)
{
    if (!*path) {
        snprintf(err, errlen, "%s: expected a file name, got ''", what);
        return -1;
    }
    if (strlen(path) + strlen(".creating") >= PATH_LEN) {
        snprintf(err, errlen, "%s: expected a path shorter than %d characters, got %zu", what,
                 PATH_LEN - 10, strlen(path));
        return -1;
    }
    if (ends_with(path, "/") || ends_with(path, "/.") || ends_with(path, "/..") ||
        !strcmp(path, ".") || !strcmp(path, "..")) {
        snprintf(err, errlen, "%s: expected a file name, got the directory '%s'", what, path);
        return -1;
    }
    struct stat st;
    if (stat(path, &st) == 0)
        return 0;
    if (errno != ENOENT && errno != ENOTDIR) {
        snprintf(err, errlen, "%s: cannot use '%s': %s", what, path, strerror(errno));
        return -1;
    }
    char dir[PATH_LEN];
    const char *slash = strrchr(path, '/');
    if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        snprintf(dir, sizeof dir, ".");
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: cannot create '%s': its directory '%s' %s", what, path, dir,
                 stat(dir, &st) != 0 ? "does not exist" : "is not a directory");
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(err, errlen, "%s: cannot create '%s' in '%s': %s", what, path, dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Is the file at path an HDF5 file? (signature at 0, 512, 1024, ... as the format says) */
static int is_hdf5(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int found = 0;
    for (long off = 0; !found && off < (1L << 30); off = off ? off * 2 : 512) {
        unsigned char buf[8];
        if (fseek(f, off, SEEK_SET) != 0 || fread(buf, 1, 8, f) != 8)
            break;
        found = memcmp(buf, sig, 8) == 0;
    }
    fclose(f);
    return found;
}

int outputs_check_results(const char *out, const char *job, char *err, size_t errlen)
{
    if (check_new("-o", out, err, errlen))
        return -1;
    struct stat jst;
    int have_job = job && stat(job, &jst) == 0;
    struct stat st;
    if (stat(out, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "-o %s: expected the results file, got a directory (e.g. -o %s/results.h5)",
                     out, out);
            return -1;
        }
        if (!S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "-o %s: expected a results file, got a special file (device, pipe "
                     "or socket)", out);
            return -1;
        }
        if (have_job && same_file(&jst, out)) {
            snprintf(err, errlen, "-o %s: expected the results file, got the job file %s itself", out, job);
            return -1;
        }
    }
    if (ends_with(out, ".ini")) {
        snprintf(err, errlen, "-o %s: expected a results file, got a job-file name (*.ini); results "
                 "files are HDF5, e.g. -o %.*s.h5", out, (int)strlen(out) - 4, out);
        return -1;
    }
    if (stat(out, &st) == 0 && !is_hdf5(out)) {
        snprintf(err, errlen, "-o %s: exists and is not an HDF5 file (so not a lazysweep results "
                 "file); give another -o", out);
        return -1;
    }
    for (int i = 0; companions[i]; i++) {
        char side[PATH_LEN + 16];
        snprintf(side, sizeof side, "%s%s", out, companions[i]);
        if (have_job && same_file(&jst, side)) {
            snprintf(err, errlen, "-o %s: would overwrite the job file %s (run keeps %s next to the "
                     "results file); give another -o", out, job, side);
            return -1;
        }
        if (stat(side, &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "-o %s: %s is a directory (run writes that file); give another -o",
                     out, side);
            return -1;
        }
    }
    return 0;
}

/* Does the file start with the signature (our CSV header)? An empty file does too. */
static int starts_with(const char *path, const char *signature, int *empty)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char buf[256];
    size_t want = strlen(signature) < sizeof buf ? strlen(signature) : sizeof buf;
    size_t got = fread(buf, 1, want, f);
    *empty = got == 0 && feof(f);
    fclose(f);
    return got == want && memcmp(buf, signature, want) == 0;
}

int outputs_check_csv(const char *csv, const char *results, const char *signature, int force,
                      char *err, size_t errlen)
{
    if (!strcmp(csv, "-"))
        return 0;
    if (check_new("--csv", csv, err, errlen))
        return -1;
    struct stat st, rst;
    if (stat(csv, &st) != 0)
        return 0; /* a new file */
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "--csv %s: expected a file name, got a directory", csv);
        return -1;
    }
    if (stat(results, &rst) == 0 && st.st_dev == rst.st_dev && st.st_ino == rst.st_ino) {
        snprintf(err, errlen, "--csv %s: that is the results file itself; give another name", csv);
        return -1;
    }
    for (int i = 0; companions[i]; i++) {
        char side[PATH_LEN + 16];
        snprintf(side, sizeof side, "%s%s", results, companions[i]);
        if (same_file(&st, side)) {
            snprintf(err, errlen, "--csv %s: that is %s, part of the results file; give another name",
                     csv, side);
            return -1;
        }
    }
    if (!S_ISREG(st.st_mode))
        return 0; /* a device or pipe (/dev/stdout): nothing to overwrite */
    int empty = 0;
    if (force || starts_with(csv, signature, &empty) || empty)
        return 0;
    snprintf(err, errlen, "--csv %s: exists and is not a CSV written by 'lazysweep aggregate'; give "
             "another name, or add --force to overwrite it", csv);
    return -1;
}
