/* The state store: per-device records that must survive a restart, in SQLite (WAL) under the state directory.
 * No caller sees SQL: records are opaque byte strings named by (device id, key). */
#ifndef LPW_STORE_H
#define LPW_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct lpw_store lpw_store_t;

/* Limits on what the store accepts; larger input is refused, never truncated. */
#define LPW_STORE_NAME_MAX 255           /* device id and key: 1..255 bytes, no control characters */
#define LPW_STORE_VALUE_MAX (1024 * 1024) /* one record's value */
#define LPW_STORE_SCHEMA_VERSION 1        /* the newest schema this code knows */

/* Opens (creating if missing) <state_dir>/lpwagw.db; creates state_dir with mode 0700 if it is missing (its parent
 * must exist) and the database file with mode 0600. Migrates the schema to LPW_STORE_SCHEMA_VERSION, one step per
 * version. Takes an exclusive lock (flock on <state_dir>/lpwagw.lock) so that two daemons never share one store:
 * two writers handing out the same frame counter would reuse a LoRaWAN nonce.
 * Refuses, with a reason in err (and logged): a state_dir that is not a writable directory, a file that is not an
 * SQLite database or is corrupt (quick_check), a database of another application, a schema newer than this code,
 * a store already locked by another process or handle.
 * state_dir is copied. err (may be NULL) receives a NUL-terminated reason of at most errlen bytes.
 * Returns NULL on failure. */
lpw_store_t *lpw_store_open(const char *state_dir, char *err, size_t errlen);

/* Closes; an open transaction is rolled back. Accepts NULL. */
void lpw_store_close(lpw_store_t *s);

/* Explicit transactions group several changes into one atomic, durable change (e.g. a LoRaWAN join: session keys,
 * reset counters, DevNonce). Without one, each call below is its own transaction.
 * Durability: single changes outside a transaction survive a crash of the process; after a power loss the last
 * few may be lost (WAL with synchronous=NORMAL: cheap, the database stays consistent). Explicit transactions and
 * the reservations written by lpw_store_reserve_u64 are synced to disk when they commit (synchronous=FULL), so
 * they also survive a power loss.
 * begin: -EBUSY when a transaction is already open (no nesting) or inside a foreach callback.
 * commit/rollback: -EINVAL when no transaction is open. Any: negative errno from SQLite (-EIO, -ENOSPC, ...). */
int lpw_store_begin(lpw_store_t *s) __attribute__((warn_unused_result));
int lpw_store_commit(lpw_store_t *s) __attribute__((warn_unused_result));
int lpw_store_rollback(lpw_store_t *s);

/* Stores len bytes of val (copied; may be NULL when len is 0) under (device_id, key), replacing any old value.
 * device_id and key are copied. -EINVAL for a NULL/empty/too long/control-character name, -EMSGSIZE when
 * len > LPW_STORE_VALUE_MAX, -EBUSY inside a foreach callback, negative errno from SQLite. */
int lpw_store_put(lpw_store_t *s, const char *device_id, const char *key, const void *val, size_t len)
	__attribute__((warn_unused_result));

/* Copies the value of (device_id, key) into buf (cap bytes; may be NULL when cap is 0) and sets *out_len (may be
 * NULL) to its length. -ENOENT when absent; -ENOSPC when cap is too small (then *out_len is the needed length and
 * buf is untouched); -EINVAL for bad names. May be called from a foreach callback. */
int lpw_store_get(lpw_store_t *s, const char *device_id, const char *key, void *buf, size_t cap, size_t *out_len)
	__attribute__((warn_unused_result));

/* Removes one record; -ENOENT when it was absent, -EINVAL, -EBUSY inside a foreach callback. */
int lpw_store_delete(lpw_store_t *s, const char *device_id, const char *key);

/* Removes every record of a device (0 also when it had none); -EINVAL, -EBUSY inside a foreach callback. */
int lpw_store_delete_device(lpw_store_t *s, const char *device_id);

/* Called for each record; key and val are borrowed for the duration of the call only. Return 0 to go on;
 * anything else stops the iteration and becomes the result of lpw_store_foreach. The callback may call
 * lpw_store_get but nothing that writes or iterates (those return -EBUSY): collect keys and change them after. */
typedef int (*lpw_store_foreach_cb)(void *arg, const char *key, const void *val, size_t len);

/* Calls cb for each key of device_id that starts with key_prefix ("" or NULL = all keys), in ascending byte order
 * of the key (so "q/000000000001" before "q/000000000002"). arg is passed through. Returns 0 after the last record,
 * the callback's non-zero value if it stopped early, -EINVAL, -EBUSY when nested, or negative errno from SQLite. */
int lpw_store_foreach(lpw_store_t *s, const char *device_id, const char *key_prefix, lpw_store_foreach_cb cb,
	void *arg);

/* An unsigned 64-bit integer as a record (8 bytes, big-endian). get: -ENOENT when absent, -EBADMSG when the
 * record is not 8 bytes long; other errors as lpw_store_put/lpw_store_get. */
int lpw_store_put_u64(lpw_store_t *s, const char *device_id, const char *key, uint64_t value)
	__attribute__((warn_unused_result));
int lpw_store_get_u64(lpw_store_t *s, const char *device_id, const char *key, uint64_t *out_value)
	__attribute__((warn_unused_result));

/* A counter that never goes backwards, with rare writes: for a counter the gateway hands out (FCntDown, AFCntDown,
 * a queue sequence). The record (device_id, key) holds a reservation R: no value >= R has ever been handed out.
 * Call before handing out `value`:
 *  - value < R: nothing is written; value may be used.
 *  - value >= R (or no record): R = value + margin is written and synced to disk (see lpw_store_begin) before the
 *    call returns; only then may value be used. So one write per `margin` values.
 *    Inside an explicit transaction the new R is durable only once lpw_store_commit returns: use value after it.
 * *out_resume (may be NULL) receives R after the call.
 * After a restart, clean or not, read the record with lpw_store_get_u64 and resume at R (or 0 when -ENOENT): R
 * is above every value handed out before. A clean shutdown may instead store the exact next value with
 * lpw_store_put_u64, which keeps the invariant (it is above every value used) and skips no values.
 * The caller keeps its counters from going backwards; the store cannot know the last value used without a write.
 * R saturates at UINT64_MAX. -EINVAL when margin is 0 or a name is bad, -ERANGE when value is UINT64_MAX (it can
 * never be below a reservation), -EBADMSG when the record is not a u64, -EBUSY inside a foreach callback. */
int lpw_store_reserve_u64(lpw_store_t *s, const char *device_id, const char *key, uint64_t value, uint64_t margin,
	uint64_t *out_resume) __attribute__((warn_unused_result));

#endif
