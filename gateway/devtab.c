/* Device table on uthash (Debian uthash-dev, header only): three hash indexes over the same entries. */
#include "gateway/devtab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* uthash exits the process when it cannot grow a table; ours reports it instead (no exit() outside main). The
 * flag is per call: the table is used from the single loop thread only. */
static int hash_oom;
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(elt) (hash_oom = 1)
#include <uthash.h>

struct entry {
	lpw_device_t *dev;
	char *id;                 /* copied: the configuration's string is replaced on reload */
	uint8_t *ident;           /* binding kind, then identity bytes */
	size_t ident_len;
	uint8_t key[1 + LPW_DEVTAB_KEY_MAX]; /* binding kind, then the secondary key */
	size_t key_len;           /* 0: no secondary key */
	UT_hash_handle hh_id, hh_ident, hh_key;
};

struct lpw_devtab {
	struct entry *by_id, *by_ident, *by_key;
	uint32_t next_handle;
};

static struct entry *entry_of(const lpw_device_t *dev)
{
	return lpw_device_slot(dev, LPW_SLOT_TABLE);
}

static uint8_t *ident_of(lpw_binding_kind_t kind, const char *identity, size_t *out_len)
{
	size_t n = strlen(identity);
	uint8_t *b = malloc(n + 1);
	if (!b)
		return NULL;
	b[0] = (uint8_t)kind;
	memcpy(b + 1, identity, n);
	*out_len = n + 1;
	return b;
}

lpw_devtab_t *lpw_devtab_new(void)
{
	return calloc(1, sizeof(lpw_devtab_t));
}

static void entry_free(struct entry *e)
{
	lpw_device_set_slot(e->dev, LPW_SLOT_TABLE, NULL);
	lpw_device_free(e->dev);
	free(e->id);
	free(e->ident);
	free(e);
}

void lpw_devtab_free(lpw_devtab_t *t)
{
	if (!t)
		return;
	struct entry *e, *tmp;
	HASH_ITER(hh_id, t->by_id, e, tmp)
	{
		lpw_devtab_remove(t, e->dev);
	}
	free(t);
}

int lpw_devtab_add(lpw_devtab_t *t, const lpw_config_device_t *cfg, lpw_device_t **out_dev)
{
	if (lpw_devtab_find_id(t, cfg->id) || lpw_devtab_find(t, cfg->binding, cfg->identity))
		return -EEXIST;
	struct entry *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->id = strdup(cfg->id);
	e->ident = ident_of(cfg->binding, cfg->identity, &e->ident_len);
	e->dev = lpw_device_new(cfg, ++t->next_handle);
	if (!e->id || !e->ident || !e->dev) {
		lpw_device_free(e->dev);
		free(e->id);
		free(e->ident);
		free(e);
		return -ENOMEM;
	}
	lpw_device_set_slot(e->dev, LPW_SLOT_TABLE, e);
	hash_oom = 0;
	HASH_ADD_KEYPTR(hh_id, t->by_id, e->id, strlen(e->id), e);
	if (!hash_oom)
		HASH_ADD_KEYPTR(hh_ident, t->by_ident, e->ident, e->ident_len, e);
	if (hash_oom) {
		if (lpw_devtab_find_id(t, e->id) == e->dev)
			HASH_DELETE(hh_id, t->by_id, e);
		entry_free(e);
		return -ENOMEM;
	}
	*out_dev = e->dev;
	return 0;
}

int lpw_devtab_update(lpw_devtab_t *t, lpw_device_t *dev, const lpw_config_device_t *cfg)
{
	struct entry *e = entry_of(dev);
	const lpw_config_device_t *old = lpw_device_config(dev);
	if (old->binding != cfg->binding || strcmp(old->identity, cfg->identity) != 0) {
		lpw_device_t *other = lpw_devtab_find(t, cfg->binding, cfg->identity);
		if (other && other != dev)
			return -EEXIST;
		size_t len;
		uint8_t *ident = ident_of(cfg->binding, cfg->identity, &len);
		if (!ident)
			return -ENOMEM;
		HASH_DELETE(hh_ident, t->by_ident, e);
		uint8_t *prev = e->ident;
		size_t prev_len = e->ident_len;
		e->ident = ident;
		e->ident_len = len;
		hash_oom = 0;
		HASH_ADD_KEYPTR(hh_ident, t->by_ident, e->ident, e->ident_len, e);
		if (hash_oom) { /* back to the old identity: its bucket entry was just removed, so re-adding fits */
			free(ident);
			e->ident = prev;
			e->ident_len = prev_len;
			HASH_ADD_KEYPTR(hh_ident, t->by_ident, e->ident, e->ident_len, e);
			return -ENOMEM;
		}
		free(prev);
		if (old->binding != cfg->binding && e->key_len) { /* a key belongs to its binding's space */
			HASH_DELETE(hh_key, t->by_key, e);
			e->key_len = 0;
		}
	}
	lpw_device_set_config(dev, cfg);
	return 0;
}

void lpw_devtab_remove(lpw_devtab_t *t, lpw_device_t *dev)
{
	struct entry *e = entry_of(dev);
	if (!e)
		return;
	HASH_DELETE(hh_id, t->by_id, e);
	HASH_DELETE(hh_ident, t->by_ident, e);
	if (e->key_len)
		HASH_DELETE(hh_key, t->by_key, e);
	entry_free(e);
}

lpw_device_t *lpw_devtab_find_id(const lpw_devtab_t *t, const char *id)
{
	struct entry *e = NULL;
	if (id)
		HASH_FIND(hh_id, t->by_id, id, strlen(id), e);
	return e ? e->dev : NULL;
}

lpw_device_t *lpw_devtab_find(const lpw_devtab_t *t, lpw_binding_kind_t kind, const char *identity)
{
	if (!identity)
		return NULL;
	size_t n = strlen(identity);
	uint8_t stackbuf[128];
	uint8_t *b = n < sizeof(stackbuf) ? stackbuf : malloc(n + 1);
	if (!b)
		return NULL;
	b[0] = (uint8_t)kind;
	memcpy(b + 1, identity, n);
	struct entry *e = NULL;
	HASH_FIND(hh_ident, t->by_ident, b, n + 1, e);
	if (b != stackbuf)
		free(b);
	return e ? e->dev : NULL;
}

static size_t make_key(uint8_t out[1 + LPW_DEVTAB_KEY_MAX], lpw_binding_kind_t kind, const void *key, size_t len)
{
	out[0] = (uint8_t)kind;
	memcpy(out + 1, key, len);
	return len + 1;
}

lpw_device_t *lpw_devtab_find_key(const lpw_devtab_t *t, lpw_binding_kind_t kind, const void *key, size_t len)
{
	if (!len || len > LPW_DEVTAB_KEY_MAX)
		return NULL;
	uint8_t k[1 + LPW_DEVTAB_KEY_MAX];
	size_t n = make_key(k, kind, key, len);
	struct entry *e = NULL;
	HASH_FIND(hh_key, t->by_key, k, n, e);
	return e ? e->dev : NULL;
}

int lpw_devtab_set_key(lpw_devtab_t *t, lpw_device_t *dev, const void *key, size_t len)
{
	struct entry *e = entry_of(dev);
	if (len > LPW_DEVTAB_KEY_MAX)
		return -EINVAL;
	lpw_device_t *other = lpw_devtab_find_key(t, lpw_device_binding(dev), key, len);
	if (other == dev)
		return 0;
	if (other)
		return -EEXIST;
	if (e->key_len)
		HASH_DELETE(hh_key, t->by_key, e);
	e->key_len = 0;
	if (!len)
		return 0;
	e->key_len = make_key(e->key, lpw_device_binding(dev), key, len);
	hash_oom = 0;
	HASH_ADD_KEYPTR(hh_key, t->by_key, e->key, e->key_len, e);
	if (hash_oom) {
		e->key_len = 0;
		return -ENOMEM;
	}
	return 0;
}

size_t lpw_devtab_count(const lpw_devtab_t *t)
{
	return HASH_CNT(hh_id, t->by_id);
}

void lpw_devtab_foreach(const lpw_devtab_t *t, void (*fn)(lpw_device_t *dev, void *arg), void *arg)
{
	for (struct entry *e = t->by_id; e; e = e->hh_id.next)
		fn(e->dev, arg);
}
