/* lazysweep: TEMPORARY main; replaced by the CLI. */
#include <stdio.h>
int main(void) { puts("lazysweep (skeleton)"); return 0; }
