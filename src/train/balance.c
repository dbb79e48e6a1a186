#include "train/balance.h"

#include <math.h>

vc_balance vc_balance_new(int enabled, double target, double mult_vision, double mult_text) {
    return (vc_balance){.enabled = enabled, .target = target > 0 ? target : 1, .gain = 0.05, .ema = 0.9,
                        .limit = 100, .start = {mult_vision, mult_text}, .mult = {mult_vision, mult_text}};
}

void vc_balance_update(vc_balance *b, double ratio_vision, double ratio_text) {
    if (!(ratio_vision > 0) || !(ratio_text > 0)) return;
    const double now[2] = {ratio_vision, ratio_text};
    for (int t = 0; t < 2; t++) b->r[t] = b->r[t] > 0 ? b->ema * b->r[t] + (1 - b->ema) * now[t] : now[t];
    if (!b->enabled) return;
    const double e = log(b->r[1] / b->r[0]) - log(b->target);
    const double step[2] = {exp(b->gain * e / 2), exp(-b->gain * e / 2)};
    for (int t = 0; t < 2; t++) {
        double m = b->mult[t] * step[t];
        const double lo = b->start[t] / b->limit, hi = b->start[t] * b->limit;
        b->mult[t] = m < lo ? lo : m > hi ? hi : m;
    }
}

double vc_balance_hold_factor(int64_t step, int64_t hold, int64_t ramp) {
    if (hold <= 0 || step >= hold + ramp) return 1;
    if (step < hold) return 0;
    return (double)(step - hold + 1) / (double)(ramp + 1);
}
