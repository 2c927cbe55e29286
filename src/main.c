/* lazysweep: the table of contents. Parse the command line, run the command,
 * return its exit status (0 ok, 1 internal, 2 usage, 3 resumable, 4 failed tasks). */
#include "cli.h"
#include "linalg.h"

int main(int argc, char **argv)
{
    CliArgs args;
    int status = cli_parse(argc, argv, &args);
    if (status >= 0)
        return status; /* help, version or a usage error */
    la_init(0);        /* one BLAS thread per rank unless LAZYSWEEP_BLAS_THREADS says otherwise */
    return cli_dispatch(&args);
}
