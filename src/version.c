/* version: build information baked in at compile time (Makefile BUILD_INFO). */
#include "version.h"

#ifndef LS_VERSION
#define LS_VERSION "unknown"
#endif
#ifndef LS_CFLAGS
#define LS_CFLAGS ""
#endif

const char *version_string(void) { return LS_VERSION; }
const char *version_cflags(void) { return LS_CFLAGS; }
const char *version_compiler(void)
{
#ifdef __VERSION__
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
}
