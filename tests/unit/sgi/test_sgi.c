/* The SGi binding on loopback UDP: a datagram from a device's address reaches the host as that device's uplink
 * (one hash lookup), with the reachability window; unknown addresses are dropped and counted; downlinks go to
 * the last source port seen; nothing goes to a device never heard; removed devices are strangers. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "bindings/nidd/sgi.h"
#include "core/clock.h"
#include "tests/unit/common/test_host.h"

typedef struct {
	lpw_clock_t *clock;
	lpw_loop_t *loop;
	lpw_config_t cfg;
	lpw_config_device_t devs[2];
	lpw_stats_t stats;
	test_host_t th;
	lpw_binding_t b;
	lpw_device_t *h[2];
	uint16_t port;
} fx_t;

static int setup(void **state)
{
	fx_t *fx = calloc(1, sizeof(*fx));
	fx->clock = lpw_clock_new_real();
	fx->loop = lpw_loop_new(fx->clock);
	fx->cfg.sgi = (lpw_config_sgi_t){.enabled = true, .listen = "127.0.0.1", .port = 0, .max_message_size = 1358,
	                                 .awake_time_s = 93, .receive_buffer = 1 << 20};
	fx->devs[0] = (lpw_config_device_t){.id = "d0", .binding = LPW_BINDING_NIDD_SGI, .identity = "127.0.0.2"};
	fx->devs[1] = (lpw_config_device_t){.id = "d1", .binding = LPW_BINDING_NIDD_SGI, .identity = "127.0.0.3"};
	fx->cfg.devices = fx->devs;
	fx->cfg.ndevices = 2;
	test_host_init(&fx->th);
	lpw_binding_env_t env = {fx->loop, &fx->cfg, NULL, &fx->stats, &fx->th.host};
	assert_int_equal(lpw_sgi_create(&env, &fx->b), 0);
	fx->port = lpw_sgi_port(&fx->b);
	assert_true(fx->port > 0);
	for (int i = 0; i < 2; i++) {
		fx->h[i] = test_host_add(&fx->th, &fx->devs[i]);
		assert_int_equal(fx->b.ops->device_add(fx->b.self, fx->h[i]), 0);
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fx_t *fx = *state;
	for (int i = 0; i < 2; i++)
		if (fx->h[i])
			fx->b.ops->device_remove(fx->b.self, fx->h[i]);
	fx->b.ops->free(fx->b.self);
	test_host_fini(&fx->th);
	lpw_loop_free(fx->loop);
	lpw_clock_free(fx->clock);
	free(fx);
	return 0;
}

/* A socket on a loopback source address, as a device behind the P-GW. */
static int device_socket(const char *ip)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, ip, &sa.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_from(fx_t *fx, int fd, const void *data, size_t len)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(fx->port)};
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	assert_int_equal(sendto(fd, data, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
}

/* Runs the loop until the host saw n more events of the counter, or fails after 2 s. */
static void pump_until(fx_t *fx, const int *counter, int want)
{
	for (int i = 0; i < 200 && *counter < want; i++)
		assert_true(lpw_loop_run_once(fx->loop, 10) >= 0);
	assert_int_equal(*counter, want);
}

static const uint8_t ping[] = {0x40, 0x00, 0x12, 0x34};

static void test_uplink_by_address(void **state)
{
	fx_t *fx = *state;
	lpw_downlink_t dl = {.data = ping, .len = sizeof(ping)};
	assert_int_equal(fx->b.ops->send(fx->b.self, fx->h[1], &dl), -EHOSTUNREACH); /* never heard */
	int fd = device_socket("127.0.0.3");
	send_from(fx, fd, ping, sizeof(ping));
	pump_until(fx, &fx->th.uplinks, 1);
	assert_ptr_equal(fx->th.last_dev, fx->h[1]);
	assert_int_equal(fx->th.last_server, LPW_SERVER_ANY);
	assert_int_equal(fx->th.last_uplink_len, sizeof(ping));
	assert_memory_equal(fx->th.last_uplink, ping, sizeof(ping));
	assert_int_equal(fx->th.reachable, 1);
	assert_int_equal(fx->th.last_window_ms, 93000);
	/* the downlink goes back to where the device sent from */
	const uint8_t rst[] = {0x70, 0x00, 0x12, 0x34};
	dl = (lpw_downlink_t){.data = rst, .len = sizeof(rst)};
	assert_int_equal(fx->b.ops->send(fx->b.self, fx->h[1], &dl), 0);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 2000), 1);
	uint8_t buf[16];
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(rst));
	assert_memory_equal(buf, rst, sizeof(rst));
	close(fd);
}

static void test_unknown_and_removed(void **state)
{
	fx_t *fx = *state;
	int stranger = device_socket("127.0.0.9");
	send_from(fx, stranger, ping, sizeof(ping));
	pump_until(fx, &fx->th.dropped, 1);
	assert_int_equal(fx->th.uplinks, 0);
	close(stranger);
	/* once removed, the device's address is a stranger's */
	fx->b.ops->device_remove(fx->b.self, fx->h[0]);
	lpw_devtab_remove(fx->th.tab, fx->h[0]);
	fx->h[0] = NULL;
	int fd = device_socket("127.0.0.2");
	send_from(fx, fd, ping, sizeof(ping));
	pump_until(fx, &fx->th.dropped, 2);
	assert_int_equal(fx->th.uplinks, 0);
	close(fd);
}

static void test_traits_and_reconfigure(void **state)
{
	fx_t *fx = *state;
	lpw_binding_traits_t t;
	fx->b.ops->traits(fx->b.self, fx->h[0], &t);
	assert_int_equal(t.max_message_size, 1358);
	assert_int_equal(t.max_message_size_now, 1358);
	assert_true(t.proxy_retransmits);
	assert_false(t.queue_mode);
	assert_false(t.registration_defaults);
	lpw_config_t next = fx->cfg;
	next.sgi.max_message_size = 500;
	next.sgi.port = 1;
	char *text = NULL;
	size_t len;
	FILE *out = open_memstream(&text, &len);
	assert_int_equal(fx->b.ops->reconfigure(fx->b.self, &next, out), 1); /* the socket needs a restart */
	fclose(out);
	assert_non_null(strstr(text, "restart"));
	free(text);
	fx->b.ops->traits(fx->b.self, fx->h[0], &t);
	assert_int_equal(t.max_message_size, 500); /* applies at once */
	assert_int_equal(lpw_sgi_port(&fx->b), fx->port);
}

/* An identity that is not an address is refused when the device is added. */
static void test_bad_identity(void **state)
{
	fx_t *fx = *state;
	lpw_config_device_t bad = {.id = "bad", .binding = LPW_BINDING_NIDD_SGI, .identity = "not-an-ip"};
	lpw_device_t *h = test_host_add(&fx->th, &bad);
	assert_int_equal(fx->b.ops->device_add(fx->b.self, h), -EINVAL);
	assert_null(lpw_device_slot(h, LPW_SLOT_BINDING));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_uplink_by_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_and_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_traits_and_reconfigure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_identity, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
