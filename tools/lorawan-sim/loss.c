/* lorawan-sim loss injection: splitmix64 streams, one per direction. */
#include "tools/lorawan-sim/loss.h"

#include <errno.h>

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool valid_p(double p)
{
	return p >= 0.0 && p <= 1.0; /* false for NaN too */
}

int lpw_lwsim_loss_init(lpw_lwsim_loss_t *l, uint32_t seed, double p_up, double p_down)
{
	if (!valid_p(p_up) || !valid_p(p_down))
		return -EINVAL;
	*l = (lpw_lwsim_loss_t){.p_up = p_up, .p_down = p_down};
	/* distinct starting points so the two directions do not mirror each other */
	l->up_state = ((uint64_t)seed << 1) | 1u;
	l->down_state = ((uint64_t)seed << 1) ^ 0x5deece66dull;
	return 0;
}

static bool roll(uint64_t *state, double p, uint64_t *rolls, uint64_t *drops)
{
	if (p <= 0.0)
		return false;
	(*rolls)++;
	/* 53 random bits as a double in [0, 1) */
	double u = (double)(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
	bool drop = u < p;
	*drops += drop;
	return drop;
}

bool lpw_lwsim_loss_drop_up(lpw_lwsim_loss_t *l)
{
	return roll(&l->up_state, l->p_up, &l->up_rolls, &l->up_drops);
}

bool lpw_lwsim_loss_drop_down(lpw_lwsim_loss_t *l)
{
	return roll(&l->down_state, l->p_down, &l->down_rolls, &l->down_drops);
}
