/* regime_onestep: one large first-layer gradient step, then random features (SPEC §7,
 * Ba et al. 2022; Cui et al. 2024), exported as `regime_onestep`. Not implemented yet:
 * tasks fail with cause invalid. */
#include "regime.h"
#include "task.h"

static int onestep_fit(const FitInput *in, FitOutput *out)
{
    (void)in;
    out->cause = CAUSE_INVALID;
    out->stop = STOP_FAILED;
    return -1;
}

const Regime regime_onestep = {"onestep", onestep_fit};
