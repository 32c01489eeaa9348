/* Concatenated SMS: splitting at the part boundaries, reassembly with parts out of order and duplicated, the bounds
 * (parts per message, chains per sender, memory), and the timeout of an incomplete chain on the fake clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bindings/sms/sms_concat.h"

struct rec {
	int complete;
	char sender[32];
	uint8_t data[4096];
	size_t len;
	int drops;
	lpw_sms_concat_drop_t why;
	unsigned have, total;
	char drop_sender[32];
};

static void on_complete(void *arg, const char *sender, const uint8_t *data, size_t len)
{
	struct rec *r = arg;
	r->complete++;
	snprintf(r->sender, sizeof(r->sender), "%s", sender);
	assert_true(len <= sizeof(r->data));
	memcpy(r->data, data, len);
	r->len = len;
}

static void on_dropped(void *arg, const char *sender, lpw_sms_concat_drop_t why, unsigned have, unsigned total)
{
	struct rec *r = arg;
	r->drops++;
	r->why = why;
	r->have = have;
	r->total = total;
	snprintf(r->drop_sender, sizeof(r->drop_sender), "%s", sender);
}

struct env {
	lpw_clock_t *clk;
	lpw_loop_t *loop;
	lpw_sms_concat_t *c;
	struct rec rec;
	lpw_sms_concat_config_t cfg;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	e->clk = lpw_clock_new_fake(1000);
	e->loop = lpw_loop_new(e->clk);
	e->cfg = (lpw_sms_concat_config_t){.max_parts = 8, .max_chains = 2, .max_bytes = 16384, .timeout_ms = 60000,
					   .complete = on_complete, .dropped = on_dropped, .arg = &e->rec};
	e->c = lpw_sms_concat_new(e->loop, &e->cfg);
	assert_non_null(e->c);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	lpw_sms_concat_free(e->c);
	lpw_loop_free(e->loop);
	lpw_clock_free(e->clk);
	free(e);
	return 0;
}

static void advance(struct env *e, int64_t ms)
{
	assert_int_equal(lpw_clock_advance(e->clk, ms), 0);
	lpw_loop_run_once(e->loop, 0);
}

static void fill(uint8_t *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 131 + seed);
}

/* The parts of data as the gateway would send them: part seq's concatenation element and user data. */
static void split(const uint8_t *data, size_t len, unsigned max_parts, bool ref16, uint16_t ref, lpw_sms_t *parts,
		  unsigned *out_n)
{
	unsigned n = lpw_sms_concat_count(len, max_parts, ref16);
	assert_true(n > 0);
	for (unsigned i = 0; i < n; i++) {
		memset(&parts[i], 0, sizeof(parts[i]));
		assert_int_equal(lpw_sms_concat_part(data, len, n, i + 1, ref, ref16, &parts[i]), 0);
	}
	*out_n = n;
}

static int feed(struct env *e, const char *sender, const lpw_sms_t *p)
{
	return lpw_sms_concat_input(e->c, sender, &p->concat, p->ud, p->ud_len);
}

static void test_capacity(void **state)
{
	assert_int_equal(lpw_sms_concat_capacity(1, false), 140);
	assert_int_equal(lpw_sms_concat_capacity(2, false), 268);
	assert_int_equal(lpw_sms_concat_capacity(3, false), 402);
	assert_int_equal(lpw_sms_concat_capacity(3, true), 399);
	assert_int_equal(lpw_sms_concat_capacity(0, false), 0);
	assert_int_equal(lpw_sms_concat_count(0, 4, false), 1);
	assert_int_equal(lpw_sms_concat_count(140, 4, false), 1);
	assert_int_equal(lpw_sms_concat_count(141, 4, false), 2);
	assert_int_equal(lpw_sms_concat_count(268, 4, false), 2);
	assert_int_equal(lpw_sms_concat_count(269, 4, false), 3);
	assert_int_equal(lpw_sms_concat_count(300, 3, false), 3); /* the Write of 300 bytes: three SMS */
	assert_int_equal(lpw_sms_concat_count(536, 4, false), 4);
	assert_int_equal(lpw_sms_concat_count(537, 4, false), 0);
	assert_int_equal(lpw_sms_concat_count(10, 0, false), 0);
}

static void test_split_parts(void **state)
{
	uint8_t data[300];
	fill(data, sizeof(data), 1);
	lpw_sms_t parts[8];
	unsigned n;
	split(data, sizeof(data), 4, false, 0x42, parts, &n);
	assert_int_equal(n, 3);
	assert_int_equal(parts[0].ud_len, 134);
	assert_int_equal(parts[1].ud_len, 134);
	assert_int_equal(parts[2].ud_len, 32);
	for (unsigned i = 0; i < n; i++) {
		assert_true(parts[i].concat.present);
		assert_int_equal(parts[i].concat.ref, 0x42);
		assert_int_equal(parts[i].concat.total, 3);
		assert_int_equal(parts[i].concat.seq, i + 1);
	}
	assert_memory_equal(parts[2].ud, data + 268, 32);
	/* each part is a valid SMS at its largest */
	uint8_t pdu[LPW_SMS_PDU_MAX];
	parts[0].type = LPW_SMS_SUBMIT;
	parts[0].dcs = LPW_SMS_DCS_8BIT;
	assert_int_equal(lpw_sms_addr_from_text(&parts[0].addr, "+491700000000"), 0);
	assert_true(lpw_sms_encode(&parts[0], true, pdu, sizeof(pdu), NULL) > 0);
	/* a single part has no header */
	lpw_sms_t one = {0};
	assert_int_equal(lpw_sms_concat_part(data, 140, 1, 1, 7, false, &one), 0);
	assert_false(one.concat.present);
	assert_int_equal(one.ud_len, 140);
	/* bad calls */
	assert_int_equal(lpw_sms_concat_part(data, 300, 3, 4, 1, false, &one), -EINVAL);
	assert_int_equal(lpw_sms_concat_part(data, 300, 2, 1, 1, false, &one), -EINVAL);
	assert_int_equal(lpw_sms_concat_part(data, 300, 3, 1, 256, false, &one), -EINVAL);
	assert_int_equal(lpw_sms_concat_part(data, 10, 3, 3, 1, false, &one), -EINVAL); /* more parts than needed */
	one.udh_len = 2;
	assert_int_equal(lpw_sms_concat_part(data, 10, 1, 1, 1, false, &one), -EINVAL);
}

static void test_single(void **state)
{
	struct env *e = *state;
	assert_int_equal(lpw_sms_concat_input(e->c, "4917012345", NULL, (const uint8_t *)"abc", 3), 0);
	assert_int_equal(e->rec.complete, 1);
	assert_string_equal(e->rec.sender, "4917012345");
	assert_int_equal(e->rec.len, 3);
	lpw_sms_concat_info_t one = {.present = true, .ref = 3, .total = 1, .seq = 1};
	assert_int_equal(lpw_sms_concat_input(e->c, "4917012345", &one, (const uint8_t *)"de", 2), 0);
	assert_int_equal(e->rec.complete, 2);
	lpw_sms_concat_stats_t st;
	lpw_sms_concat_get_stats(e->c, &st);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.chains, 0);
}

/* Parts in every order, with duplicates, for 8-bit and 16-bit references. */
static void test_out_of_order_and_duplicates(void **state)
{
	struct env *e = *state;
	static const unsigned orders[][4] = {{3, 1, 2, 0}, {2, 3, 1, 0}, {1, 2, 3, 0}, {3, 2, 1, 0}};
	uint8_t data[400];
	lpw_sms_t parts[8];
	unsigned n;
	for (size_t o = 0; o < 4; o++) {
		bool ref16 = o % 2;
		fill(data, sizeof(data), (unsigned)o);
		split(data, 390, 8, ref16, (uint16_t)(ref16 ? 0x1234 + o : o), parts, &n);
		assert_int_equal(n, 3);
		int before = e->rec.complete;
		for (unsigned k = 0; k < 3; k++) {
			const lpw_sms_t *p = &parts[orders[o][k] - 1];
			assert_int_equal(feed(e, "4917099", p), 0);
			if (k < 2) {
				assert_int_equal(e->rec.complete, before);
				assert_int_equal(feed(e, "4917099", p), -EALREADY); /* a duplicate changes nothing */
			}
		}
		assert_int_equal(e->rec.complete, before + 1);
		assert_int_equal(e->rec.len, 390);
		assert_memory_equal(e->rec.data, data, 390);
		/* a late duplicate after completion starts a new chain, which times out */
		assert_int_equal(feed(e, "4917099", &parts[0]), 0);
		advance(e, 60000);
		assert_int_equal(e->rec.why, LPW_SMS_CONCAT_TIMEOUT);
	}
	lpw_sms_concat_stats_t st;
	lpw_sms_concat_get_stats(e->c, &st);
	assert_int_equal(st.messages, 4);
	assert_int_equal(st.duplicates, 8);
	assert_int_equal(st.timeouts, 4);
	assert_int_equal(st.chains, 0);
	assert_int_equal(st.bytes, 0);
}

/* Two senders using the same reference at once are two chains; interleaved parts reach the right message. */
static void test_senders_apart(void **state)
{
	struct env *e = *state;
	uint8_t a[300], b[300];
	fill(a, sizeof(a), 10);
	fill(b, sizeof(b), 20);
	lpw_sms_t pa[4], pb[4];
	unsigned na, nb;
	split(a, sizeof(a), 4, false, 5, pa, &na);
	split(b, sizeof(b), 4, false, 5, pb, &nb);
	assert_int_equal(feed(e, "111111", &pa[0]), 0);
	assert_int_equal(feed(e, "222222", &pb[2]), 0);
	assert_int_equal(feed(e, "222222", &pb[0]), 0);
	assert_int_equal(feed(e, "111111", &pa[2]), 0);
	assert_int_equal(feed(e, "111111", &pa[1]), 0);
	assert_int_equal(e->rec.complete, 1);
	assert_string_equal(e->rec.sender, "111111");
	assert_memory_equal(e->rec.data, a, sizeof(a));
	assert_int_equal(feed(e, "222222", &pb[1]), 0);
	assert_string_equal(e->rec.sender, "222222");
	assert_memory_equal(e->rec.data, b, sizeof(b));
}

static void test_timeout(void **state)
{
	struct env *e = *state;
	uint8_t data[300];
	lpw_sms_t parts[4];
	unsigned n;
	fill(data, sizeof(data), 3);
	split(data, sizeof(data), 4, false, 77, parts, &n);
	assert_int_equal(feed(e, "4930123", &parts[0]), 0);
	advance(e, 30000);
	assert_int_equal(feed(e, "4930123", &parts[2]), 0);
	advance(e, 29999);
	assert_int_equal(e->rec.drops, 0);
	advance(e, 1); /* counted from the first part */
	assert_int_equal(e->rec.drops, 1);
	assert_int_equal(e->rec.why, LPW_SMS_CONCAT_TIMEOUT);
	assert_int_equal(e->rec.have, 2);
	assert_int_equal(e->rec.total, 3);
	assert_string_equal(e->rec.drop_sender, "4930123");
	/* the missing part alone now starts a chain of its own, never completed */
	assert_int_equal(feed(e, "4930123", &parts[1]), 0);
	assert_int_equal(e->rec.complete, 0);
	advance(e, 60000);
	assert_int_equal(e->rec.drops, 2);
	assert_int_equal(e->rec.have, 1);
}

static void test_bounds(void **state)
{
	struct env *e = *state;
	uint8_t data[LPW_SMS_UD_MAX * 9];
	fill(data, sizeof(data), 4);
	lpw_sms_t parts[9];
	unsigned n;
	/* more parts than max_parts (8) */
	split(data, 9 * 134, 9, false, 1, parts, &n);
	assert_int_equal(n, 9);
	assert_int_equal(feed(e, "4940", &parts[0]), -EMSGSIZE);
	/* bad numbering and keys */
	lpw_sms_concat_info_t bad = {.present = true, .ref = 1, .total = 3, .seq = 4};
	assert_int_equal(lpw_sms_concat_input(e->c, "4940", &bad, data, 1), -EINVAL);
	assert_int_equal(lpw_sms_concat_input(e->c, "", NULL, data, 1), -EINVAL);
	assert_int_equal(lpw_sms_concat_input(e->c, "123456789012345678901", NULL, data, 1), -EINVAL);
	assert_int_equal(lpw_sms_concat_input(e->c, "4940", NULL, data, 141), -EINVAL);

	/* max_chains 2 per sender: a third chain evicts the oldest */
	lpw_sms_t p1[3], p2[3], p3[3];
	split(data, 300, 8, false, 1, p1, &n);
	split(data, 300, 8, false, 2, p2, &n);
	split(data, 300, 8, false, 3, p3, &n);
	assert_int_equal(feed(e, "4941", &p1[0]), 0);
	assert_int_equal(feed(e, "4941", &p2[0]), 0);
	assert_int_equal(feed(e, "4942", &p1[0]), 0); /* another sender has its own allowance */
	assert_int_equal(feed(e, "4941", &p3[0]), 0);
	assert_int_equal(e->rec.drops, 1);
	assert_int_equal(e->rec.why, LPW_SMS_CONCAT_EVICTED);
	assert_string_equal(e->rec.drop_sender, "4941");
	assert_int_equal(feed(e, "4941", &p2[1]), 0);
	assert_int_equal(feed(e, "4941", &p2[2]), 0);
	assert_int_equal(e->rec.complete, 1); /* chain 2 survived */
	assert_int_equal(feed(e, "4941", &p1[1]), 0); /* chain 1 was evicted: this starts anew */
	lpw_sms_concat_stats_t st;
	lpw_sms_concat_get_stats(e->c, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.chains, 3);

	/* forget drops a sender's chains */
	lpw_sms_concat_forget(e->c, "4941");
	lpw_sms_concat_get_stats(e->c, &st);
	assert_int_equal(st.chains, 1);
	assert_int_equal(e->rec.why, LPW_SMS_CONCAT_FORGOTTEN);
	lpw_sms_concat_forget(e->c, "4999"); /* nobody: harmless */
}

static void test_memory_bound(void **state)
{
	struct env *e = *state;
	lpw_sms_concat_free(e->c);
	e->cfg.max_bytes = 3000; /* room for the chains of two 8-part messages, not three */
	e->cfg.max_chains = 8;
	e->c = lpw_sms_concat_new(e->loop, &e->cfg);
	uint8_t data[8 * 134];
	fill(data, sizeof(data), 5);
	lpw_sms_t a[8], b[8], c3[8];
	unsigned n;
	split(data, sizeof(data), 8, false, 1, a, &n);
	split(data, sizeof(data), 8, false, 2, b, &n);
	split(data, sizeof(data), 8, false, 3, c3, &n);
	assert_int_equal(feed(e, "4950", &a[0]), 0);
	assert_int_equal(feed(e, "4951", &b[0]), 0);
	assert_int_equal(feed(e, "4952", &c3[0]), -ENOBUFS);
	lpw_sms_concat_stats_t st;
	lpw_sms_concat_get_stats(e->c, &st);
	assert_true(st.bytes <= 3000);
	assert_int_equal(st.refused, 1);
	/* a chain that got in always has room for the rest of its parts */
	for (unsigned i = 1; i < 8; i++)
		assert_int_equal(feed(e, "4950", &a[i]), 0);
	assert_int_equal(e->rec.complete, 1);
	assert_memory_equal(e->rec.data, data, sizeof(data));
	/* and its room is free again */
	assert_int_equal(feed(e, "4952", &c3[0]), 0);
}

static void test_next_ref(void **state)
{
	struct env *e = *state;
	lpw_sms_concat_free(e->c);
	e->cfg.first_ref = 254;
	e->c = lpw_sms_concat_new(e->loop, &e->cfg);
	assert_int_equal(lpw_sms_concat_next_ref(e->c, false), 254);
	assert_int_equal(lpw_sms_concat_next_ref(e->c, false), 255);
	assert_int_equal(lpw_sms_concat_next_ref(e->c, false), 0);
	assert_int_equal(lpw_sms_concat_next_ref(e->c, true), 257);
	lpw_sms_concat_config_t bad = e->cfg;
	bad.max_parts = 0;
	assert_null(lpw_sms_concat_new(e->loop, &bad));
	lpw_sms_concat_free(NULL);
}

/* Many senders: the table grows and every chain is still found. */
static void test_many_senders(void **state)
{
	struct env *e = *state;
	lpw_sms_concat_free(e->c);
	e->cfg.max_bytes = 4u << 20;
	e->c = lpw_sms_concat_new(e->loop, &e->cfg);
	uint8_t data[200];
	fill(data, sizeof(data), 6);
	lpw_sms_t p[2];
	unsigned n;
	split(data, sizeof(data), 8, false, 9, p, &n);
	char key[16];
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "49%06d", i);
		assert_int_equal(feed(e, key, &p[1]), 0);
	}
	for (int i = 999; i >= 0; i--) {
		snprintf(key, sizeof(key), "49%06d", i);
		assert_int_equal(feed(e, key, &p[0]), 0);
		assert_string_equal(e->rec.sender, key);
	}
	assert_int_equal(e->rec.complete, 1000);
	lpw_sms_concat_stats_t st;
	lpw_sms_concat_get_stats(e->c, &st);
	assert_int_equal(st.chains, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_split_parts),
		cmocka_unit_test_setup_teardown(test_single, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_and_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_senders_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_ref, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_senders, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
