/* The state store: SQLite in WAL mode, every SQL statement of the gateway, schema migrations by user_version. */
#include "core/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

#define DB_NAME "lpwagw.db"
#define LOCK_NAME "lpwagw.lock"
/* PRAGMA application_id "LPWA": we never migrate, and so never damage, another program's database. */
#define APP_ID 0x4c505741
/* Only an outside process (the sqlite3 shell) can hold SQLite's lock; never stall the loop longer than this. */
#define BUSY_TIMEOUT_MS 200

enum stmt_id { ST_GET, ST_PUT, ST_DEL, ST_DEL_DEV, ST_ITER, ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_COUNT };

static const char *const stmt_sql[ST_COUNT] = {
	[ST_GET] = "SELECT value FROM kv WHERE device = ?1 AND key = ?2",
	[ST_PUT] = ("INSERT INTO kv (device, key, value) VALUES (?1, ?2, ?3) "
		    "ON CONFLICT (device, key) DO UPDATE SET value = excluded.value"),
	[ST_DEL] = "DELETE FROM kv WHERE device = ?1 AND key = ?2",
	[ST_DEL_DEV] = "DELETE FROM kv WHERE device = ?1",
	/* Starts at the prefix in the primary key and stops in C at the first key without it: keys sharing a
	 * prefix are contiguous in byte order, and no LIKE escaping is needed. */
	[ST_ITER] = "SELECT key, value FROM kv WHERE device = ?1 AND key >= ?2 ORDER BY key",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
};

struct lpw_store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	char *path;     /* the database file, named in every message */
	int lock_fd;    /* flock held for the store's lifetime */
	bool sync_full; /* synchronous=FULL in force (explicit transaction or reservation write) */
	bool iterating; /* inside lpw_store_foreach: writes would disturb the running SELECT */
};

/* Schema 1: opaque records. WITHOUT ROWID: the primary key is the table, so a device's keys sit together in order. */
static int migrate_to_1(sqlite3 *db)
{
	return sqlite3_exec(db,
		"CREATE TABLE kv (device TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, "
		"PRIMARY KEY (device, key)) WITHOUT ROWID;"
		"PRAGMA application_id = 1280333633;", /* APP_ID */
		NULL, NULL, NULL);
}

/* migrations[v] takes the schema from version v to v + 1, inside a transaction. */
static int (*const migrations[])(sqlite3 *db) = { migrate_to_1 };
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == LPW_STORE_SCHEMA_VERSION, "one step per version");
_Static_assert(APP_ID == 1280333633, "application_id in migrate_to_1");

static int errno_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE: return 0;
	case SQLITE_BUSY: case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_READONLY: case SQLITE_PERM: case SQLITE_AUTH: return -EACCES;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_CORRUPT: case SQLITE_NOTADB: return -EBADMSG;
	case SQLITE_TOOBIG: return -EMSGSIZE;
	case SQLITE_CONSTRAINT: case SQLITE_MISMATCH: case SQLITE_RANGE: case SQLITE_MISUSE: return -EINVAL;
	case SQLITE_CANTOPEN: return -EACCES;
	default: return -EIO;
	}
}

/* The one place a SQLite error becomes an errno; logs SQLite's own text (read before any reset changes it). */
static int fail(lpw_store_t *s, int rc, const char *what)
{
	LPW_ERR("store", "%s: %s: %s (%d)", s->path, what, sqlite3_errmsg(s->db), rc);
	return errno_of(rc);
}

__attribute__((format(printf, 3, 4))) static void say(char *err, size_t errlen, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = ' '; /* quick_check reports on several lines: keep one line per message */
	LPW_ERR("store", "%s", msg);
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

/* Names come from configuration and protocol code; bound them and keep them printable for logs and tools. */
static bool name_ok(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strnlen(name, LPW_STORE_NAME_MAX + 1);
	if (n == 0 || n > LPW_STORE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static bool in_tx(const lpw_store_t *s)
{
	return !sqlite3_get_autocommit(s->db);
}

/* synchronous can only change outside a transaction (SQLite refuses it inside). */
static int set_sync(lpw_store_t *s, bool full)
{
	int rc;

	if (s->sync_full == full)
		return 0;
	rc = sqlite3_exec(s->db, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, "set synchronous");
	s->sync_full = full;
	return 0;
}

/* Guard of every writing call. SQLite may have rolled a transaction back on its own (I/O error, disk full):
 * then FULL is no longer wanted. */
static int check_write(lpw_store_t *s, const char *device_id, const char *key)
{
	if (!s || !name_ok(device_id) || (key && !name_ok(key)))
		return -EINVAL;
	if (s->iterating)
		return -EBUSY;
	if (s->sync_full && !in_tx(s))
		(void)set_sync(s, false);
	return 0;
}

static void done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st); /* bindings are SQLITE_STATIC: drop the caller's pointers */
}

/* Binds ?1 = device_id and, if key is not NULL, ?2 = key. Borrowed until done(). */
static int bind_names(lpw_store_t *s, sqlite3_stmt *st, const char *device_id, const char *key)
{
	int rc = sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);

	if (rc == SQLITE_OK && key)
		rc = sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	return rc == SQLITE_OK ? 0 : fail(s, rc, "bind");
}

/* Steps a statement that returns no rows, then resets it. */
static int run(lpw_store_t *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	int ret = rc == SQLITE_DONE ? 0 : fail(s, rc, what);

	done(st);
	return ret;
}

int lpw_store_begin(lpw_store_t *s)
{
	int ret;

	if (!s)
		return -EINVAL;
	if (s->iterating || in_tx(s))
		return -EBUSY;
	/* Explicit transactions are the multi-record logical changes (a join): sync them, and any reservation
	 * written inside them, at commit. */
	ret = set_sync(s, true);
	if (ret)
		return ret;
	ret = run(s, s->st[ST_BEGIN], "begin");
	if (ret)
		(void)set_sync(s, false);
	return ret;
}

static int end_tx(lpw_store_t *s, enum stmt_id id, const char *what)
{
	int ret;

	if (!s)
		return -EINVAL;
	if (s->iterating)
		return -EBUSY;
	if (!in_tx(s)) {
		(void)set_sync(s, false);
		return -EINVAL;
	}
	ret = run(s, s->st[id], what);
	/* A failed COMMIT (SQLITE_BUSY) leaves the transaction open: the caller may retry or roll back. */
	if (!in_tx(s))
		(void)set_sync(s, false);
	return ret;
}

int lpw_store_commit(lpw_store_t *s)
{
	return end_tx(s, ST_COMMIT, "commit");
}

int lpw_store_rollback(lpw_store_t *s)
{
	return end_tx(s, ST_ROLLBACK, "rollback");
}

int lpw_store_put(lpw_store_t *s, const char *device_id, const char *key, const void *val, size_t len)
{
	sqlite3_stmt *st;
	int ret = check_write(s, device_id, key);

	if (ret)
		return ret;
	if (!key || (!val && len))
		return -EINVAL;
	if (len > LPW_STORE_VALUE_MAX)
		return -EMSGSIZE;
	st = s->st[ST_PUT];
	ret = bind_names(s, st, device_id, key);
	if (!ret) {
		/* A non-NULL pointer even for length 0: a NULL one would bind SQL NULL, refused by NOT NULL. */
		int rc = sqlite3_bind_blob(st, 3, len ? val : "", (int)len, SQLITE_STATIC);
		if (rc != SQLITE_OK)
			ret = fail(s, rc, "bind value");
	}
	if (ret) {
		done(st);
		return ret;
	}
	return run(s, st, "put");
}

int lpw_store_get(lpw_store_t *s, const char *device_id, const char *key, void *buf, size_t cap, size_t *out_len)
{
	sqlite3_stmt *st;
	int rc, ret;

	if (!s || !name_ok(device_id) || !name_ok(key) || (!buf && cap))
		return -EINVAL;
	st = s->st[ST_GET];
	ret = bind_names(s, st, device_id, key);
	if (ret) {
		done(st);
		return ret;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = -ENOENT;
	} else if (rc != SQLITE_ROW) {
		ret = fail(s, rc, "get");
	} else {
		const void *v = sqlite3_column_blob(st, 0); /* before column_bytes, as SQLite documents */
		size_t n = (size_t)sqlite3_column_bytes(st, 0);

		if (out_len)
			*out_len = n;
		if (n > cap)
			ret = -ENOSPC;
		else if (n && !v)
			ret = -ENOMEM;
		else if (n)
			memcpy(buf, v, n);
	}
	done(st);
	return ret;
}

int lpw_store_delete(lpw_store_t *s, const char *device_id, const char *key)
{
	sqlite3_stmt *st;
	int ret = check_write(s, device_id, key);

	if (ret)
		return ret;
	if (!key)
		return -EINVAL;
	st = s->st[ST_DEL];
	ret = bind_names(s, st, device_id, key);
	if (ret) {
		done(st);
		return ret;
	}
	ret = run(s, st, "delete");
	if (!ret && sqlite3_changes(s->db) == 0)
		ret = -ENOENT;
	return ret;
}

int lpw_store_delete_device(lpw_store_t *s, const char *device_id)
{
	sqlite3_stmt *st;
	int ret = check_write(s, device_id, NULL);

	if (ret)
		return ret;
	st = s->st[ST_DEL_DEV];
	ret = bind_names(s, st, device_id, NULL);
	if (ret) {
		done(st);
		return ret;
	}
	return run(s, st, "delete device");
}

/* Steps the bound ITER statement, calling cb for each key with the prefix. */
static int iterate(lpw_store_t *s, sqlite3_stmt *st, const char *prefix, lpw_store_foreach_cb cb, void *arg)
{
	size_t plen = strlen(prefix);

	for (;;) {
		int rc = sqlite3_step(st);
		const char *key;
		const void *val;
		size_t len;
		int ret;

		if (rc == SQLITE_DONE)
			return 0;
		if (rc != SQLITE_ROW)
			return fail(s, rc, "foreach");
		key = (const char *)sqlite3_column_text(st, 0);
		val = sqlite3_column_blob(st, 1);
		len = (size_t)sqlite3_column_bytes(st, 1);
		if (!key || (len && !val))
			return -ENOMEM; /* the columns are NOT NULL: only an allocation failure gives NULL */
		if (strncmp(key, prefix, plen) != 0)
			return 0; /* past the last key with the prefix */
		ret = cb(arg, key, val, len);
		if (ret)
			return ret;
	}
}

int lpw_store_foreach(lpw_store_t *s, const char *device_id, const char *key_prefix, lpw_store_foreach_cb cb,
	void *arg)
{
	sqlite3_stmt *st;
	int ret;

	if (!key_prefix)
		key_prefix = "";
	if (!s || !cb || !name_ok(device_id) || (*key_prefix && !name_ok(key_prefix)))
		return -EINVAL;
	if (s->iterating)
		return -EBUSY;
	st = s->st[ST_ITER];
	ret = bind_names(s, st, device_id, key_prefix);
	if (!ret) {
		s->iterating = true;
		ret = iterate(s, st, key_prefix, cb, arg);
		s->iterating = false;
	}
	done(st);
	return ret;
}

int lpw_store_put_u64(lpw_store_t *s, const char *device_id, const char *key, uint64_t value)
{
	uint8_t b[8];

	for (int i = 7; i >= 0; i--, value >>= 8)
		b[i] = (uint8_t)value;
	return lpw_store_put(s, device_id, key, b, sizeof(b));
}

int lpw_store_get_u64(lpw_store_t *s, const char *device_id, const char *key, uint64_t *out_value)
{
	uint8_t b[8];
	size_t len = 0;
	uint64_t v = 0;
	int ret;

	if (!out_value)
		return -EINVAL;
	ret = lpw_store_get(s, device_id, key, b, sizeof(b), &len);
	if (ret == -ENOSPC || (!ret && len != sizeof(b))) {
		LPW_ERR("store", "device %s: record %s is %zu bytes, not a 64-bit counter", device_id, key, len);
		return -EBADMSG;
	}
	if (ret)
		return ret;
	for (size_t i = 0; i < sizeof(b); i++)
		v = v << 8 | b[i];
	*out_value = v;
	return 0;
}

/* Writes a reservation so that it survives a power loss before the caller may use the value it covers. */
static int put_durable(lpw_store_t *s, const char *device_id, const char *key, uint64_t value)
{
	int ret, ret2;

	if (in_tx(s))
		return lpw_store_put_u64(s, device_id, key, value); /* synced by the FULL commit */
	ret = set_sync(s, true);
	if (ret)
		return ret;
	ret = lpw_store_put_u64(s, device_id, key, value);
	ret2 = set_sync(s, false);
	return ret ? ret : ret2;
}

int lpw_store_reserve_u64(lpw_store_t *s, const char *device_id, const char *key, uint64_t value, uint64_t margin,
	uint64_t *out_resume)
{
	uint64_t r = 0;
	int ret = check_write(s, device_id, key);

	if (ret)
		return ret;
	if (!key || margin == 0)
		return -EINVAL;
	if (value == UINT64_MAX)
		return -ERANGE;
	ret = lpw_store_get_u64(s, device_id, key, &r);
	if (ret && ret != -ENOENT)
		return ret;
	if (ret == -ENOENT || value >= r) {
		uint64_t next = margin > UINT64_MAX - value ? UINT64_MAX : value + margin;

		ret = put_durable(s, device_id, key, next);
		if (ret)
			return ret;
		LPW_DEBUG("store", "device %s: %s reserved up to %llu", device_id, key, (unsigned long long)next);
		r = next;
	}
	if (out_resume)
		*out_resume = r;
	return 0;
}

/* Creates the directory (mode 0700: it holds session keys) or checks the one that is there. */
static int prepare_dir(const char *dir, char *err, size_t errlen)
{
	struct stat sb;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST) {
		int e = errno;
		say(err, errlen, "cannot create state directory %s: %s", dir, strerror(e));
		return -e;
	}
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		say(err, errlen, "state directory %s is not a directory", dir);
		return -ENOTDIR;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		int e = errno;
		say(err, errlen, "state directory %s is not writable: %s", dir, strerror(e));
		return -e;
	}
	return 0;
}

/* One daemon per store: a second one handing out the same frame counters would reuse LoRaWAN nonces.
 * flock, not SQLite's own POSIX locks, which only last per transaction. */
static int take_lock(lpw_store_t *s, const char *dir, char *err, size_t errlen)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, LOCK_NAME);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		int e = errno;
		say(err, errlen, "cannot open lock file %s: %s", path, strerror(e));
		return -e;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		say(err, errlen, "state directory %s is in use by another lpwagw (%s is locked): %s", dir, path,
			strerror(e));
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	return 0;
}

/* SQLite would create the file 0644 and its -wal/-shm files like it; the records include session keys. */
static int create_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd >= 0)
		return close(fd) == 0 ? 0 : -errno;
	if (errno == EEXIST)
		return 0;
	int e = errno;
	say(err, errlen, "cannot create %s: %s", path, strerror(e));
	return -e;
}

/* Runs a query whose first row's first column is wanted, as text (into buf) or as an int. */
static int query_one(sqlite3 *db, const char *sql, char *buf, size_t cap, int *out_int)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(st, 0);
			if (buf)
				snprintf(buf, cap, "%s", t ? (const char *)t : "");
			if (out_int)
				*out_int = sqlite3_column_int(st, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			rc = SQLITE_EMPTY;
		}
	}
	/* finalize keeps the error message of the failed step for sqlite3_errmsg */
	sqlite3_finalize(st);
	return rc;
}

/* Refuses what is not a healthy database of ours. The first read of a garbage file fails with SQLITE_NOTADB,
 * a truncated one with SQLITE_CORRUPT; quick_check finds damaged pages now rather than in the middle of a join. */
static int check_file(lpw_store_t *s, int *out_version, char *err, size_t errlen)
{
	char text[256];
	int app_id = 0, tables = 0;
	int rc = query_one(s->db, "PRAGMA user_version", NULL, 0, out_version);

	if (rc == SQLITE_OK)
		rc = query_one(s->db, "PRAGMA quick_check(1)", text, sizeof(text), NULL);
	if (rc != SQLITE_OK) {
		say(err, errlen, "%s: not a usable SQLite database: %s", s->path, sqlite3_errmsg(s->db));
		return errno_of(rc) ? errno_of(rc) : -EIO;
	}
	if (strcmp(text, "ok") != 0) {
		say(err, errlen, "%s: database is corrupt: %s", s->path, text);
		return -EBADMSG;
	}
	rc = query_one(s->db, "PRAGMA application_id", NULL, 0, &app_id);
	if (rc == SQLITE_OK)
		rc = query_one(s->db, "SELECT count(*) FROM sqlite_master", NULL, 0, &tables);
	if (rc != SQLITE_OK) {
		say(err, errlen, "%s: cannot read the schema: %s", s->path, sqlite3_errmsg(s->db));
		return errno_of(rc) ? errno_of(rc) : -EIO;
	}
	if (app_id != APP_ID && (app_id != 0 || *out_version != 0 || tables != 0)) {
		say(err, errlen, "%s: not an lpwagw database (application_id 0x%08x)", s->path, (unsigned)app_id);
		return -EBADMSG;
	}
	if (*out_version > LPW_STORE_SCHEMA_VERSION || *out_version < 0) {
		say(err, errlen, "%s: database schema version %d is newer than this lpwagw (supports up to %d)",
			s->path, *out_version, LPW_STORE_SCHEMA_VERSION);
		return -EPROTO;
	}
	return 0;
}

/* WAL: readers never block the writer and a commit is one sequential append. NORMAL: no fsync per commit; the
 * database stays consistent after a power loss, only the newest commits may be lost. What must never be lost (a
 * counter reservation, an explicit transaction) switches to FULL for its commit. */
static int configure(lpw_store_t *s, char *err, size_t errlen)
{
	char mode[32] = "";
	int rc;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	/* Defensive: no writable_schema tricks, even from a crafted database file. */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	rc = query_one(s->db, "PRAGMA journal_mode = WAL", mode, sizeof(mode), NULL);
	if (rc == SQLITE_OK && strcmp(mode, "wal") != 0) {
		say(err, errlen, "%s: cannot use WAL mode (journal_mode is %s)", s->path, mode);
		return -EIO;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		say(err, errlen, "%s: cannot configure the database: %s", s->path, sqlite3_errmsg(s->db));
		return errno_of(rc) ? errno_of(rc) : -EIO;
	}
	return 0;
}

/* One transaction per step, so an interrupted migration leaves a consistent older version to retry from. */
static int migrate(lpw_store_t *s, int from, char *err, size_t errlen)
{
	for (int v = from; v < LPW_STORE_SCHEMA_VERSION; v++) {
		char sql[64];
		int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (rc == SQLITE_OK)
			rc = migrations[v](s->db);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			say(err, errlen, "%s: migration to schema version %d failed: %s", s->path, v + 1,
				sqlite3_errmsg(s->db));
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return errno_of(rc) ? errno_of(rc) : -EIO;
		}
		LPW_NOTICE("store", "%s: schema migrated to version %d", s->path, v + 1);
	}
	return 0;
}

static int prepare_all(lpw_store_t *s, char *err, size_t errlen)
{
	for (int i = 0; i < ST_COUNT; i++) {
		int rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		if (rc != SQLITE_OK) {
			say(err, errlen, "%s: cannot prepare statement: %s", s->path, sqlite3_errmsg(s->db));
			return errno_of(rc) ? errno_of(rc) : -EIO;
		}
	}
	return 0;
}

lpw_store_t *lpw_store_open(const char *state_dir, char *err, size_t errlen)
{
	lpw_store_t *s = NULL;
	int version = 0, rc;

	if (err && errlen)
		err[0] = '\0';
	if (!state_dir || !*state_dir || strlen(state_dir) > 3000) {
		say(err, errlen, "state directory: missing or too long a path");
		return NULL;
	}
	if (prepare_dir(state_dir, err, errlen) != 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		say(err, errlen, "state store: out of memory");
		return NULL;
	}
	s->lock_fd = -1;
	if (asprintf(&s->path, "%s/%s", state_dir, DB_NAME) < 0) {
		s->path = NULL;
		say(err, errlen, "state store: out of memory");
		goto fail;
	}
	if (take_lock(s, state_dir, err, errlen) != 0 || create_file(s->path, err, errlen) != 0)
		goto fail;
	rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		say(err, errlen, "%s: cannot open: %s", s->path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto fail;
	}
	if (check_file(s, &version, err, errlen) != 0 || configure(s, err, errlen) != 0 ||
		migrate(s, version, err, errlen) != 0 || prepare_all(s, err, errlen) != 0)
		goto fail;
	LPW_INFO("store", "%s: open, schema version %d", s->path, LPW_STORE_SCHEMA_VERSION);
	return s;
fail:
	lpw_store_close(s);
	return NULL;
}

void lpw_store_close(lpw_store_t *s)
{
	if (!s)
		return;
	if (s->db && in_tx(s))
		LPW_WARN("store", "%s: closed with an open transaction; it is rolled back", s->path);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	/* The last connection to close checkpoints the WAL into the database file and removes it. */
	if (s->db && sqlite3_close(s->db) != SQLITE_OK)
		LPW_ERR("store", "%s: close: %s", s->path, sqlite3_errmsg(s->db));
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->path);
	free(s);
}
