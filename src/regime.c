/* regime: the registry (see include/regime.h) and the do-nothing regime used to test
 * the scheduler and the store: M = 0, c = 0, instantly. */
#include "regime.h"

#include <string.h>

#include "task.h"

static int null_fit(const FitInput *in, FitOutput *out)
{
    memset(out->M, 0, sizeof(double) * (size_t)in->d * (size_t)in->d);
    out->c = 0;
    out->iterations = 0;
    out->residual = 0;
    out->cause = CAUSE_NONE;
    out->stop = STOP_EXACT;
    return 0;
}

const Regime regime_null = {"null", null_fit};

const Regime *const regime_registry[] = {&regime_rf,        &regime_nt,      &regime_nn,
                                         &regime_null,      &regime_alpha,   &regime_alpha_lin,
                                         &regime_onestep,   &regime_krr_rf,  &regime_krr_nt,
                                         NULL};

const Regime *regime_find(const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; regime_registry[i]; i++)
        if (strcmp(regime_registry[i]->name, name) == 0)
            return regime_registry[i];
    return NULL;
}
