/* version: what was built — git describe, compiler and flags — for --version and provenance. */
#ifndef LS_VERSION_H
#define LS_VERSION_H
const char *version_string(void);
const char *version_cflags(void);
const char *version_compiler(void);
#endif
