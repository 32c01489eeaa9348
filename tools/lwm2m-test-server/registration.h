/* Parsers for LwM2M Register/Update input (LwM2M 1.1.1 Transport §6.4, Core §6.2): query parameters and
 * the CoRE link-format object list. Pure functions, no I/O, so they are unit-tested on their own. */
#ifndef LPW_TS_REGISTRATION_H
#define LPW_TS_REGISTRATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LPW_REG_EP_MAX 128   /* longest endpoint name we accept */
#define LPW_REG_SMS_MAX 32   /* an MSISDN with room to spare */

typedef enum { LPW_REG_REGISTER, LPW_REG_UPDATE } lpw_reg_kind_t;

/* The parameters of one Register or Update; has_* says which were present. */
typedef struct {
	bool has_ep, has_lt, has_lwm2m, has_b, has_sms;
	bool queue; /* the LwM2M 1.1 'Q' flag parameter */
	char ep[LPW_REG_EP_MAX + 1];
	uint32_t lt;
	char lwm2m[8];
	char b[8];
	char sms[LPW_REG_SMS_MAX + 1];
} lpw_reg_params_t;

/* Parses one Uri-Query option value ("name=value" or "Q") into params. q is borrowed, need not be
 * NUL-terminated. Rejects unknown names, names not allowed in this kind of message, duplicates and bad
 * values with -EINVAL and a reason written into reason (always NUL-terminated when reason_len > 0). */
int lpw_reg_parse_query(lpw_reg_params_t *params, lpw_reg_kind_t kind, const uint8_t *q, size_t len, char *reason,
                        size_t reason_len) __attribute__((warn_unused_result));

/* Checks that a Register carried the mandatory parameters (ep, lwm2m); -EINVAL with a reason if not. */
int lpw_reg_check_register(const lpw_reg_params_t *params, char *reason, size_t reason_len)
	__attribute__((warn_unused_result));

/* Validates a CoRE link-format (RFC 6690) object list such as "</1/0>;ver=1.1,</3/0>": every link is
 * <path> with an absolute path, optionally followed by ;name or ;name=value or ;name="quoted" attributes,
 * links separated by commas. buf is borrowed. -EINVAL with a reason on anything else. */
int lpw_reg_check_links(const uint8_t *buf, size_t len, char *reason, size_t reason_len)
	__attribute__((warn_unused_result));

#endif
