/* A real mosquitto broker for the unit tests that need one (core/mqtt, telemetry): started on a loopback port,
 * waited for, stopped; and the small timing and port helpers those tests share. Every wait is bounded. */
#ifndef LPW_TEST_BROKER_H
#define LPW_TEST_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define TB_BROKER "/usr/sbin/mosquitto"

int64_t tb_now_ms(void); /* CLOCK_MONOTONIC, for the tests' own deadlines */
void tb_sleep_ms(int ms);
uint16_t tb_free_port(void); /* an ephemeral TCP port on 127.0.0.1 (fails the test if none) */
bool tb_port_open(uint16_t port);

/* Writes <dir>/mosquitto.conf (a listener on 127.0.0.1:port, no persistence, full logging to <dir>/mosquitto.log,
 * then listener_conf, or "allow_anonymous true" when NULL or empty), starts the broker (it dies with the test) and
 * waits up to 5 s for its port. Fails the test if it does not come up. Returns its pid. */
pid_t tb_broker_start(const char *dir, uint16_t port, const char *listener_conf);
/* Sends sig, waits up to 3 s, then SIGKILL; *pid becomes 0. Accepts *pid <= 0. */
void tb_broker_stop(pid_t *pid, int sig);

#endif
