/* regime_krr: the kernel limits N -> inf of RF and NT (SPEC §8), exported as
 * `regime_krr_rf` and `regime_krr_nt`. Not implemented yet: tasks fail with cause
 * invalid. */
#include "regime.h"
#include "task.h"

static int krr_fit(const FitInput *in, FitOutput *out)
{
    (void)in;
    out->cause = CAUSE_INVALID;
    out->stop = STOP_FAILED;
    return -1;
}

const Regime regime_krr_rf = {"krr_rf", krr_fit};
const Regime regime_krr_nt = {"krr_nt", krr_fit};
