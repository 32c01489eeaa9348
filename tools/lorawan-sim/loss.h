/* lorawan-sim loss injection: a seeded, deterministic "does this frame get lost" decision per direction. */
#ifndef LPW_LWSIM_LOSS_H
#define LPW_LWSIM_LOSS_H

#include <stdbool.h>
#include <stdint.h>

/* A small value type (no allocation): the two streams are independent, so how many downlinks were rolled never
 * changes which uplinks are dropped, and one seed always gives the same pattern. */
typedef struct {
	uint64_t up_state, down_state;
	double p_up, p_down; /* 0..1 */
	uint64_t up_rolls, up_drops, down_rolls, down_drops;
} lpw_lwsim_loss_t;

/* p_up, p_down outside 0..1 (or NaN) -> -EINVAL and *l untouched. */
int lpw_lwsim_loss_init(lpw_lwsim_loss_t *l, uint32_t seed, double p_up, double p_down)
	__attribute__((warn_unused_result));

/* Whether the next uplink / downlink is dropped. With p 0 nothing is drawn (and nothing dropped); with p 1
 * everything is dropped. */
bool lpw_lwsim_loss_drop_up(lpw_lwsim_loss_t *l);
bool lpw_lwsim_loss_drop_down(lpw_lwsim_loss_t *l);

#endif
