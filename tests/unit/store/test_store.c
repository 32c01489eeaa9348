/* Unit tests of the state store: the real module on real SQLite files in temporary directories. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "core/log.h"
#include "core/store.h"

typedef struct {
	char base[64];   /* mkdtemp directory, removed after each test */
	char state[128]; /* <base>/state: not created, so lpw_store_open must create it */
	char db[160];    /* <state>/lpwagw.db */
	char err[512];
} fixture_t;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	chmod(path, 0700); /* undo the unwritable-directory test */
	return remove(path);
}

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->base, "/tmp/lpw-store-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	snprintf(f->state, sizeof(f->state), "%s/state", f->base);
	snprintf(f->db, sizeof(f->db), "%s/lpwagw.db", f->state);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;

	chmod(f->state, 0700);
	nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static lpw_store_t *open_ok(fixture_t *f)
{
	lpw_store_t *s = lpw_store_open(f->state, f->err, sizeof(f->err));

	if (!s)
		fail_msg("open failed: %s", f->err);
	return s;
}

static void open_fails(fixture_t *f, const char *expect)
{
	lpw_store_t *s;

	f->err[0] = '\0';
	s = lpw_store_open(f->state, f->err, sizeof(f->err));
	if (s) {
		lpw_store_close(s);
		fail_msg("open succeeded, expected \"%s\"", expect);
	}
	if (!strstr(f->err, expect))
		fail_msg("message \"%s\" lacks \"%s\"", f->err, expect);
}

/* Raw SQLite, for what the store API deliberately does not expose. */
static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	return db;
}

static void raw_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static long long raw_int(sqlite3 *db, const char *sql)
{
	char buf[64];

	raw_text(db, sql, buf, sizeof(buf));
	return atoll(buf);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_fresh_open_creates_schema_and_wal(void **state)
{
	fixture_t *f = *state;
	struct stat sb;
	char mode[16];
	lpw_store_t *s = open_ok(f);
	sqlite3 *db;

	assert_int_equal(stat(f->state, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(stat(f->db, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	db = raw_open(f->db);
	raw_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	assert_int_equal(raw_int(db, "PRAGMA user_version"), LPW_STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(db, "PRAGMA application_id"), 0x4c505741);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'kv'"), 1);
	sqlite3_close(db);
	lpw_store_close(s);
	lpw_store_close(NULL);
}

static void test_put_get_delete(void **state)
{
	fixture_t *f = *state;
	lpw_store_t *s = open_ok(f);
	char buf[32];
	size_t len = 99;

	assert_int_equal(lpw_store_get(s, "dev1", "session", buf, sizeof(buf), &len), -ENOENT);
	assert_int_equal(lpw_store_put(s, "dev1", "session", "abc", 3), 0);
	assert_int_equal(lpw_store_put(s, "dev2", "session", "other", 5), 0);
	assert_int_equal(lpw_store_get(s, "dev1", "session", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "abc", 3);
	/* replace */
	assert_int_equal(lpw_store_put(s, "dev1", "session", "\0\1\2\3\4", 5), 0);
	assert_int_equal(lpw_store_get(s, "dev1", "session", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "\0\1\2\3\4", 5);
	/* an empty value is a value, not an absence */
	assert_int_equal(lpw_store_put(s, "dev1", "empty", NULL, 0), 0);
	assert_int_equal(lpw_store_get(s, "dev1", "empty", NULL, 0, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(lpw_store_delete(s, "dev1", "session"), 0);
	assert_int_equal(lpw_store_get(s, "dev1", "session", buf, sizeof(buf), &len), -ENOENT);
	assert_int_equal(lpw_store_delete(s, "dev1", "session"), -ENOENT);
	/* the other device is untouched */
	assert_int_equal(lpw_store_get(s, "dev2", "session", buf, sizeof(buf), &len), 0);
	assert_memory_equal(buf, "other", 5);
	assert_int_equal(lpw_store_put(s, "dev2", "fcnt", "x", 1), 0);
	assert_int_equal(lpw_store_delete_device(s, "dev2"), 0);
	assert_int_equal(lpw_store_get(s, "dev2", "session", buf, sizeof(buf), &len), -ENOENT);
	assert_int_equal(lpw_store_get(s, "dev2", "fcnt", buf, sizeof(buf), &len), -ENOENT);
	assert_int_equal(lpw_store_get(s, "dev1", "empty", NULL, 0, &len), 0);
	assert_int_equal(lpw_store_delete_device(s, "nobody"), 0);
	lpw_store_close(s);
}

static void test_get_too_small(void **state)
{
	fixture_t *f = *state;
	lpw_store_t *s = open_ok(f);
	char buf[4] = "zzz";
	size_t len = 0;

	assert_int_equal(lpw_store_put(s, "d", "k", "0123456789", 10), 0);
	assert_int_equal(lpw_store_get(s, "d", "k", buf, 3, &len), -ENOSPC);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "zzz"); /* untouched */
	len = 0;
	assert_int_equal(lpw_store_get(s, "d", "k", NULL, 0, &len), -ENOSPC); /* size query */
	assert_int_equal(len, 10);
	lpw_store_close(s);
}

static void test_bad_input(void **state)
{
	fixture_t *f = *state;
	lpw_store_t *s = open_ok(f);
	char longname[LPW_STORE_NAME_MAX + 2];
	char *big = calloc(1, LPW_STORE_VALUE_MAX + 1);
	char buf[8];
	uint64_t v;

	assert_non_null(big);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(lpw_store_put(s, NULL, "k", "v", 1), -EINVAL);
	assert_int_equal(lpw_store_put(s, "", "k", "v", 1), -EINVAL);
	assert_int_equal(lpw_store_put(s, "d", NULL, "v", 1), -EINVAL);
	assert_int_equal(lpw_store_put(s, "d", "k\n", "v", 1), -EINVAL);
	assert_int_equal(lpw_store_put(s, longname, "k", "v", 1), -EINVAL);
	assert_int_equal(lpw_store_put(s, "d", "k", NULL, 1), -EINVAL);
	assert_int_equal(lpw_store_put(s, "d", "k", big, LPW_STORE_VALUE_MAX + 1), -EMSGSIZE);
	assert_int_equal(lpw_store_put(s, "d", "k", big, LPW_STORE_VALUE_MAX), 0);
	assert_int_equal(lpw_store_get(s, "d", "\x7f", buf, sizeof(buf), NULL), -EINVAL);
	assert_int_equal(lpw_store_get(s, "d", "k", NULL, 5, NULL), -EINVAL);
	assert_int_equal(lpw_store_delete(s, "d", ""), -EINVAL);
	assert_int_equal(lpw_store_delete_device(s, NULL), -EINVAL);
	assert_int_equal(lpw_store_foreach(s, "d", "q/", NULL, NULL), -EINVAL);
	/* a record that is not 8 bytes is not a counter */
	assert_int_equal(lpw_store_get_u64(s, "d", "k", &v), -EBADMSG);
	assert_int_equal(lpw_store_put(s, "d", "short", "1234", 4), 0);
	assert_int_equal(lpw_store_get_u64(s, "d", "short", &v), -EBADMSG);
	assert_int_equal(lpw_store_reserve_u64(s, "d", "short", 1, 10, &v), -EBADMSG);
	free(big);
	lpw_store_close(s);
}

static void test_u64(void **state)
{
	fixture_t *f = *state;
	lpw_store_t *s = open_ok(f);
	uint64_t v = 0;
	uint8_t raw[8];
	size_t len;

	assert_int_equal(lpw_store_get_u64(s, "d", "fcnt", &v), -ENOENT);
	assert_int_equal(lpw_store_put_u64(s, "d", "fcnt", 0x0102030405060708ULL), 0);
	assert_int_equal(lpw_store_get_u64(s, "d", "fcnt", &v), 0);
	assert_true(v == 0x0102030405060708ULL);
	assert_int_equal(lpw_store_get(s, "d", "fcnt", raw, sizeof(raw), &len), 0);
	assert_int_equal(raw[0], 0x01); /* big-endian on disk, whatever the host */
	assert_int_equal(raw[7], 0x08);
	assert_int_equal(lpw_store_put_u64(s, "d", "fcnt", UINT64_MAX), 0);
	assert_int_equal(lpw_store_get_u64(s, "d", "fcnt", &v), 0);
	assert_true(v == UINT64_MAX);
	lpw_store_close(s);
}

typedef struct {
	lpw_store_t *s;
	char keys[16][32];
	int n;
	int stop_after; /* return 7 after this many; 0 = never */
	int nested_write, nested_foreach, nested_get;
} walk_t;

static int walk_cb(void *arg, const char *key, const void *val, size_t len)
{
	walk_t *w = arg;
	char buf[32];

	assert_true(len == strlen(key)); /* the tests store each key as its own value */
	assert_memory_equal(val, key, len);
	snprintf(w->keys[w->n++], sizeof(w->keys[0]), "%s", key);
	w->nested_write = lpw_store_put(w->s, "d", "other", "x", 1);
	w->nested_foreach = lpw_store_foreach(w->s, "d", NULL, walk_cb, w);
	w->nested_get = lpw_store_get(w->s, "d", key, buf, sizeof(buf), NULL);
	return w->stop_after && w->n == w->stop_after ? 7 : 0;
}

static void test_foreach_prefix_order(void **state)
{
	fixture_t *f = *state;
	lpw_store_t *s = open_ok(f);
	static const char *const keys[] = { "q/000000000010", "r/1", "q/000000000002", "p", "q/000000000001", "qa",
		"q0" };
	walk_t w = { .s = s };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(lpw_store_put(s, "d", keys[i], keys[i], strlen(keys[i])), 0);
	assert_int_equal(lpw_store_put(s, "e", "q/000000000005", "q/000000000005", 14), 0);
	assert_int_equal(lpw_store_foreach(s, "d", "q/", walk_cb, &w), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.keys[0], "q/000000000001");
	assert_string_equal(w.keys[1], "q/000000000002");
	assert_string_equal(w.keys[2], "q/000000000010");
	/* writes and nested iteration are refused inside the callback; reads work */
	assert_int_equal(w.nested_write, -EBUSY);
	assert_int_equal(w.nested_foreach, -EBUSY);
	assert_int_equal(w.nested_get, 0);
	assert_int_equal(lpw_store_get(s, "d", "other", NULL, 0, NULL), -ENOENT);

	memset(&w, 0, sizeof(w));
	w.s = s;
	assert_int_equal(lpw_store_foreach(s, "d", NULL, walk_cb, &w), 0);
	assert_int_equal(w.n, 7);
	assert_string_equal(w.keys[0], "p");
	assert_string_equal(w.keys[6], "r/1");

	memset(&w, 0, sizeof(w));
	w.s = s;
	w.stop_after = 2;
	assert_int_equal(lpw_store_foreach(s, "d", "q", walk_cb, &w), 7);
	assert_int_equal(w.n, 2);

	memset(&w, 0, sizeof(w));
	w.s = s;
	assert_int_equal(lpw_store_foreach(s, "d", "zz", walk_cb, &w), 0);
	assert_int_equal(lpw_store_foreach(s, "nobody", "", walk_cb, &w), 0);
	assert_int_equal(w.n, 0);
	/* after the iteration, writes work again */
	assert_int_equal(lpw_store_put(s, "d", "other", "x", 1), 0);
	lpw_store_close(s);
}

static void test_transactions(void **state)
{
	fixture_t *f = *state;
	lpw_store_t *s = open_ok(f);
	uint64_t v;

	assert_int_equal(lpw_store_commit(s), -EINVAL);
	assert_int_equal(lpw_store_rollback(s), -EINVAL);
	assert_int_equal(lpw_store_begin(s), 0);
	assert_int_equal(lpw_store_begin(s), -EBUSY);
	assert_int_equal(lpw_store_put_u64(s, "d", "a", 1), 0);
	assert_int_equal(lpw_store_put_u64(s, "d", "b", 2), 0);
	assert_int_equal(lpw_store_rollback(s), 0);
	assert_int_equal(lpw_store_get_u64(s, "d", "a", &v), -ENOENT);
	assert_int_equal(lpw_store_get_u64(s, "d", "b", &v), -ENOENT);

	assert_int_equal(lpw_store_begin(s), 0);
	assert_int_equal(lpw_store_put_u64(s, "d", "a", 1), 0);
	assert_int_equal(lpw_store_put_u64(s, "d", "b", 2), 0);
	assert_int_equal(lpw_store_reserve_u64(s, "d", "fc", 0, 100, &v), 0);
	assert_int_equal(lpw_store_commit(s), 0);
	assert_int_equal(lpw_store_commit(s), -EINVAL);
	assert_int_equal(lpw_store_get_u64(s, "d", "a", &v), 0);
	assert_true(v == 1);
	assert_int_equal(lpw_store_get_u64(s, "d", "fc", &v), 0);
	assert_true(v == 100);

	/* an open transaction is rolled back by close */
	assert_int_equal(lpw_store_begin(s), 0);
	assert_int_equal(lpw_store_put_u64(s, "d", "c", 3), 0);
	lpw_store_close(s);
	s = open_ok(f);
	assert_int_equal(lpw_store_get_u64(s, "d", "c", &v), -ENOENT);
	assert_int_equal(lpw_store_get_u64(s, "d", "b", &v), 0);
	assert_true(v == 2);
	lpw_store_close(s);
}

static void test_reopen_keeps_data(void **state)
{
	fixture_t *f = *state;
	lpw_store_t *s = open_ok(f);
	char buf[16];
	size_t len;

	assert_int_equal(lpw_store_put(s, "dev", "loc", "/rd/5a3f", 8), 0);
	lpw_store_close(s);
	s = open_ok(f);
	assert_int_equal(lpw_store_get(s, "dev", "loc", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 8);
	assert_memory_equal(buf, "/rd/5a3f", 8);
	lpw_store_close(s);
}

static void test_single_owner_lock(void **state)
{
	fixture_t *f = *state;
	lpw_store_t *s = open_ok(f);

	open_fails(f, "in use by another lpwagw");
	lpw_store_close(s);
	s = open_ok(f);
	lpw_store_close(s);
}

static void test_reserve_semantics(void **state)
{
	fixture_t *f = *state;
	lpw_store_t *s = open_ok(f);
	uint64_t r = 0, stored = 0;
	long long dv;
	sqlite3 *db;

	assert_int_equal(lpw_store_reserve_u64(s, "d", "fcnt_down", 0, 10, &r), 0);
	assert_true(r == 10);
	/* Values below the reservation write nothing: another connection sees no new commit. */
	db = raw_open(f->db);
	dv = raw_int(db, "PRAGMA data_version");
	for (uint64_t v = 1; v < 10; v++) {
		assert_int_equal(lpw_store_reserve_u64(s, "d", "fcnt_down", v, 10, &r), 0);
		assert_true(r == 10);
	}
	assert_int_equal(raw_int(db, "PRAGMA data_version"), dv);
	assert_int_equal(lpw_store_get_u64(s, "d", "fcnt_down", &stored), 0);
	assert_true(stored == 10);
	/* Reaching the reservation moves it, and that is a commit. */
	assert_int_equal(lpw_store_reserve_u64(s, "d", "fcnt_down", 10, 10, &r), 0);
	assert_true(r == 20);
	assert_true(raw_int(db, "PRAGMA data_version") != dv);
	sqlite3_close(db);
	/* A value below never lowers it; a jump reserves past the jump. */
	assert_int_equal(lpw_store_reserve_u64(s, "d", "fcnt_down", 3, 10, &r), 0);
	assert_true(r == 20);
	assert_int_equal(lpw_store_reserve_u64(s, "d", "fcnt_down", 1000, 10, NULL), 0);
	assert_int_equal(lpw_store_get_u64(s, "d", "fcnt_down", &stored), 0);
	assert_true(stored == 1010);
	/* Limits. */
	assert_int_equal(lpw_store_reserve_u64(s, "d", "fcnt_down", 5, 0, &r), -EINVAL);
	assert_int_equal(lpw_store_reserve_u64(s, "d", "fcnt_down", UINT64_MAX, 1, &r), -ERANGE);
	assert_int_equal(lpw_store_reserve_u64(s, "d", "big", UINT64_MAX - 3, 10, &r), 0);
	assert_true(r == UINT64_MAX);
	assert_int_equal(lpw_store_reserve_u64(s, "d", "big", UINT64_MAX - 1, 10, &r), 0);
	assert_true(r == UINT64_MAX);
	/* Rolled back with its transaction. */
	assert_int_equal(lpw_store_begin(s), 0);
	assert_int_equal(lpw_store_reserve_u64(s, "d", "tx", 5, 10, &r), 0);
	assert_int_equal(lpw_store_rollback(s), 0);
	assert_int_equal(lpw_store_get_u64(s, "d", "tx", &stored), -ENOENT);
	lpw_store_close(s);
}

/* Child: hands out counter values as a frame-counter user would, reports each on the pipe only once reserve
 * allowed it, then dies by SIGKILL without closing the store. */
static void crash_child(const char *dir, int wfd, uint64_t count, uint64_t margin)
{
	char err[256];
	lpw_store_t *s = lpw_store_open(dir, err, sizeof(err));
	uint64_t next = 0;

	if (!s)
		_exit(2);
	if (lpw_store_get_u64(s, "dev", "fcnt_down", &next) != 0)
		next = 0;
	for (uint64_t i = 0; i < count; i++, next++) {
		if (lpw_store_reserve_u64(s, "dev", "fcnt_down", next, margin, NULL) != 0)
			_exit(3);
		if (write(wfd, &next, sizeof(next)) != (ssize_t)sizeof(next))
			_exit(4);
	}
	raise(SIGKILL);
	_exit(5);
}

/* Runs one crashing child, returns the largest value it handed out. */
static uint64_t run_crash(fixture_t *f, uint64_t count, uint64_t margin, uint64_t *out_n)
{
	int fds[2];
	pid_t pid;
	uint64_t v, max = 0, n = 0;
	int status;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		crash_child(f->state, fds[1], count, margin);
	}
	close(fds[1]);
	while (read(fds[0], &v, sizeof(v)) == (ssize_t)sizeof(v)) {
		max = n == 0 || v > max ? v : max;
		n++;
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	*out_n = n;
	return max;
}

static void test_reserve_survives_crash(void **state)
{
	fixture_t *f = *state;
	uint64_t n, max, resume = 0, margin = 16;
	lpw_store_t *s;

	/* 537 is not a multiple of the margin: the crash falls between two reservations. */
	max = run_crash(f, 537, margin, &n);
	assert_int_equal(n, 537);
	s = open_ok(f);
	assert_int_equal(lpw_store_get_u64(s, "dev", "fcnt_down", &resume), 0);
	assert_true(resume > max);
	assert_true(resume <= max + margin); /* skips at most one margin */
	lpw_store_close(s);

	/* A second life resumes there, crashes again; still never behind. */
	max = run_crash(f, 100, margin, &n);
	assert_int_equal(n, 100);
	assert_true(max >= resume);
	s = open_ok(f);
	assert_int_equal(lpw_store_get_u64(s, "dev", "fcnt_down", &resume), 0);
	assert_true(resume > max);
	/* A clean stop may store the exact next value. */
	assert_int_equal(lpw_store_put_u64(s, "dev", "fcnt_down", max + 1), 0);
	lpw_store_close(s);
	s = open_ok(f);
	assert_int_equal(lpw_store_get_u64(s, "dev", "fcnt_down", &resume), 0);
	assert_true(resume == max + 1);
	lpw_store_close(s);
}

static void test_newer_schema_refused(void **state)
{
	fixture_t *f = *state;
	lpw_store_t *s = open_ok(f);
	sqlite3 *db;
	char expect[128];

	assert_int_equal(lpw_store_put(s, "d", "k", "v", 1), 0);
	lpw_store_close(s);
	db = raw_open(f->db);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	snprintf(expect, sizeof(expect), "database schema version 99 is newer than this lpwagw (supports up to %d)",
		LPW_STORE_SCHEMA_VERSION);
	open_fails(f, expect);
	/* refused, not touched: the version is still 99 */
	db = raw_open(f->db);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 99);
	sqlite3_close(db);
}

static void test_garbage_file_refused(void **state)
{
	fixture_t *f = *state;
	unsigned char junk[8192];

	assert_int_equal(mkdir(f->state, 0700), 0);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	write_file(f->db, junk, sizeof(junk));
	open_fails(f, "not a usable SQLite database");
	write_file(f->db, "hello", 5);
	open_fails(f, "not a usable SQLite database");
	write_file(f->db, "SQLite format 3", 16); /* a header cut short */
	open_fails(f, "lpwagw.db");
}

/* A database with enough records to span many pages. */
static long long make_big_db(fixture_t *f)
{
	lpw_store_t *s = open_ok(f);
	char key[32], val[300];
	sqlite3 *db;
	long long pages;

	memset(val, 'v', sizeof(val));
	assert_int_equal(lpw_store_begin(s), 0);
	for (int i = 0; i < 400; i++) {
		snprintf(key, sizeof(key), "q/%012d", i);
		assert_int_equal(lpw_store_put(s, "dev", key, val, sizeof(val)), 0);
	}
	assert_int_equal(lpw_store_commit(s), 0);
	lpw_store_close(s);
	db = raw_open(f->db);
	pages = raw_int(db, "PRAGMA page_count");
	assert_int_equal(raw_int(db, "PRAGMA page_size"), 4096);
	sqlite3_close(db);
	assert_true(pages > 10);
	return pages;
}

static void test_truncated_file_refused(void **state)
{
	fixture_t *f = *state;
	long long pages = make_big_db(f);

	assert_int_equal(truncate(f->db, 4096 * (pages / 2)), 0);
	open_fails(f, "lpwagw.db");
	assert_true(strstr(f->err, "malformed") || strstr(f->err, "corrupt"));
}

static void test_damaged_page_refused(void **state)
{
	fixture_t *f = *state;
	long long pages = make_big_db(f);
	unsigned char junk[4096];
	int fd;

	memset(junk, 0x55, sizeof(junk));
	fd = open(f->db, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 4096 * (pages / 2)), (ssize_t)sizeof(junk));
	close(fd);
	open_fails(f, "lpwagw.db");
	assert_true(strstr(f->err, "corrupt") || strstr(f->err, "malformed"));
}

static void test_foreign_database_refused(void **state)
{
	fixture_t *f = *state;
	sqlite3 *db = NULL;

	assert_int_equal(mkdir(f->state, 0700), 0);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE kv (a)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	open_fails(f, "not an lpwagw database");
}

static void test_unusable_state_dir(void **state)
{
	fixture_t *f = *state;
	lpw_store_t *s;

	/* parent is a regular file: refused even for root */
	snprintf(f->state, sizeof(f->state), "%s/file", f->base);
	write_file(f->state, "x", 1);
	open_fails(f, "is not a directory");
	snprintf(f->state, sizeof(f->state), "%s/file/state", f->base);
	open_fails(f, "cannot create state directory");
	snprintf(f->state, sizeof(f->state), "%s/missing/state", f->base);
	open_fails(f, "cannot create state directory");
	s = lpw_store_open("", f->err, sizeof(f->err));
	assert_null(s);
	assert_null(lpw_store_open(NULL, NULL, 0));

	/* permissions do not stop root, so this part only runs unprivileged */
	snprintf(f->state, sizeof(f->state), "%s/state", f->base);
	assert_int_equal(mkdir(f->state, 0500), 0);
	if (geteuid() != 0)
		open_fails(f, "not writable");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_open_creates_schema_and_wal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_get_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_too_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_u64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach_prefix_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_owner_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_survives_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_page_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_database_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unusable_state_dir, setup, teardown),
	};

	lpw_log_setup(LOG_WARNING, LPW_LOG_TO_STDERR, "unit_store");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
