/* regime_alpha: lazy <-> rich by the scale alpha (SPEC §6, Chizat, Oyallon & Bach 2019),
 * exported as `regime_alpha` and its linearisation `regime_alpha_lin`. Not implemented
 * yet: tasks fail with cause invalid. */
#include "regime.h"
#include "task.h"

static int alpha_fit(const FitInput *in, FitOutput *out)
{
    (void)in;
    out->cause = CAUSE_INVALID;
    out->stop = STOP_FAILED;
    return -1;
}

const Regime regime_alpha = {"alpha", alpha_fit};
const Regime regime_alpha_lin = {"alpha_lin", alpha_fit};
