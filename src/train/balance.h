/* Balancing the two towers of a contrastive run.
 *
 * --balance auto: after every step each tower's relative update size r = ||update|| / ||weight||
 * (train/optimizer.h) is smoothed (EMA), and the towers' learning-rate multipliers move in
 * opposite directions, geometrically, until r_text / r_vision reaches a target ratio:
 *   e = log(r_text / r_vision) - log(target);  m_vision *= exp(gain e / 2);  m_text *= exp(-gain e / 2)
 * so their product (the overall step size) stays that of the user's --lr-mult-vision/text and
 * each multiplier stays within [1/limit, limit] times its starting value. AdamW's update
 * scales with the learning rate, so r follows the multiplier within a step or two.
 *
 * A newly initialised tower next to a pretrained one (--init-text random, ...): for the first
 * `hold` steps the pretrained tower is held (not updated) while the new one trains, then its
 * multiplier ramps linearly from 0 to 1 over `ramp` steps (vc_balance_hold_factor). */
#ifndef VC_TRAIN_BALANCE_H
#define VC_TRAIN_BALANCE_H

#include <stdint.h>

typedef struct vc_balance {
    int enabled;
    double target;          /* r_text / r_vision to reach (1: equal relative updates) */
    double gain;            /* fraction of the log error corrected per step */
    double ema;             /* smoothing of the ratios (0.9) */
    double limit;           /* multipliers stay within [start/limit, start*limit] */
    double start[2], mult[2]; /* per vc_tower (vision, text) */
    double r[2];            /* smoothed update ratios; 0 until the first step */
} vc_balance;

vc_balance vc_balance_new(int enabled, double target, double mult_vision, double mult_text);
/* Feeds one step's update ratios; with balancing on, moves the multipliers. A ratio of 0 (a
 * held or frozen tower) leaves everything as it is. */
void vc_balance_update(vc_balance *b, double ratio_vision, double ratio_text);
/* The multiplier factor of a held pretrained tower at `step`: 0 before `hold`, then a linear
 * ramp to 1 over `ramp` steps (1 when hold is 0). */
double vc_balance_hold_factor(int64_t step, int64_t hold, int64_t ramp);

#endif
