/*
 * auth_penalty.c: the penalty table (see auth_penalty.h for the rules).
 *
 * Owns one hash table of fixed-size entries, keyed by a 64-bit SipHash
 * (libsodium crypto_shorthash) of the IP or user under a random key made at
 * start, so a client cannot aim many keys at one bucket. Entries sit on a list
 * ordered by last failure: the tail is the oldest, which is what both expiry
 * and eviction remove. A wrong password is remembered only as a keyed hash of
 * (hash of user, hash of password). One mutex guards everything; no call
 * blocks while holding it.
 */
#include "auth_penalty.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

enum penalty_kind { KIND_IP, KIND_USER };

struct penalty_entry {
	struct penalty_entry *hnext;       /* bucket chain */
	struct penalty_entry *prev, *next; /* by last failure, newest at head */
	uint64_t key;
	enum penalty_kind kind;
	unsigned int failures;
	int64_t last_failure_ms;
	unsigned int seen_count, seen_next;
	uint64_t seen[AUTH_PENALTY_REMEMBERED];
};

struct auth_penalty {
	struct auth_penalty_settings set;
	pthread_mutex_t lock;
	struct penalty_entry **buckets;
	size_t bucket_mask;
	struct penalty_entry *head, *tail;
	unsigned int count;
	unsigned char ip_key[crypto_shorthash_KEYBYTES];
	unsigned char user_key[crypto_shorthash_KEYBYTES];
	unsigned char pw_key[crypto_shorthash_KEYBYTES];
};

static uint64_t shorthash(const void *data, size_t len, const unsigned char *key)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(out, data, len, key);
	memcpy(&v, out, sizeof(v));
	return v;
}

/* The IP's key; 0 (no IP penalty) when local or not an address. IPv6 by /64. */
static int ip_key(const struct auth_penalty *p, const char *ip, uint64_t *key_r)
{
	unsigned char buf[1 + sizeof(struct in6_addr)];

	if (ip == NULL || ip[0] == '\0')
		return 0;
	if (inet_pton(AF_INET, ip, buf + 1) == 1) {
		buf[0] = 4;
		*key_r = shorthash(buf, 1 + 4, p->ip_key);
		return 1;
	}
	if (inet_pton(AF_INET6, ip, buf + 1) == 1) {
		/* One end user usually holds a whole /64. */
		buf[0] = 6;
		*key_r = shorthash(buf, 1 + 8, p->ip_key);
		return 1;
	}
	return 0;
}

static uint64_t user_key(const struct auth_penalty *p, const char *user)
{
	return shorthash(user, strlen(user), p->user_key);
}

/* Spraying one password over many users is many failures for the IP. */
static uint64_t password_key(const struct auth_penalty *p, const char *user, const void *password,
                             size_t len)
{
	uint64_t pair[2] = {user_key(p, user), shorthash(password, len, p->pw_key)};
	uint64_t v = shorthash(pair, sizeof(pair), p->pw_key);

	sodium_memzero(pair, sizeof(pair));
	return v;
}

void auth_penalty_set_timing(struct auth_penalty *p, const struct auth_penalty_settings *set)
{
	pthread_mutex_lock(&p->lock);
	p->set.initial_ms = set->initial_ms;
	p->set.max_ms = set->max_ms;
	p->set.expire_ms = set->expire_ms;
	pthread_mutex_unlock(&p->lock);
}

struct auth_penalty *auth_penalty_create(const struct auth_penalty_settings *set)
{
	struct auth_penalty *p = xcalloc(1, sizeof(*p));
	size_t nbuckets = 16;

	if (sodium_init() < 0)
		log_panic("libsodium failed to initialize");
	p->set = *set;
	if (p->set.max_entries < 1)
		p->set.max_entries = 1;
	while (nbuckets < p->set.max_entries)
		nbuckets *= 2;
	p->buckets = xcalloc(nbuckets, sizeof(*p->buckets));
	p->bucket_mask = nbuckets - 1;
	randombytes_buf(p->ip_key, sizeof(p->ip_key));
	randombytes_buf(p->user_key, sizeof(p->user_key));
	randombytes_buf(p->pw_key, sizeof(p->pw_key));
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

void auth_penalty_destroy(struct auth_penalty **penalty)
{
	struct auth_penalty *p = *penalty;

	if (p == NULL)
		return;
	for (struct penalty_entry *e = p->head, *next; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	free(p->buckets);
	pthread_mutex_destroy(&p->lock);
	sodium_memzero(p, sizeof(*p));
	free(p);
	*penalty = NULL;
}

static struct penalty_entry **bucket(struct auth_penalty *p, uint64_t key)
{
	return &p->buckets[key & p->bucket_mask];
}

static void list_unlink(struct auth_penalty *p, struct penalty_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		p->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		p->tail = e->prev;
	e->prev = e->next = NULL;
}

static void list_push_head(struct auth_penalty *p, struct penalty_entry *e)
{
	e->prev = NULL;
	e->next = p->head;
	if (p->head != NULL)
		p->head->prev = e;
	p->head = e;
	if (p->tail == NULL)
		p->tail = e;
}

static void entry_remove(struct auth_penalty *p, struct penalty_entry *e)
{
	struct penalty_entry **pp = bucket(p, e->key);

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	list_unlink(p, e);
	p->count--;
	free(e);
}

static int expired(const struct auth_penalty *p, const struct penalty_entry *e, int64_t now_ms)
{
	return now_ms - e->last_failure_ms >= p->set.expire_ms;
}

/* Drop expired entries: they are all at the tail. */
static void sweep(struct auth_penalty *p, int64_t now_ms)
{
	while (p->tail != NULL && expired(p, p->tail, now_ms))
		entry_remove(p, p->tail);
}

static struct penalty_entry *lookup(struct auth_penalty *p, enum penalty_kind kind, uint64_t key)
{
	for (struct penalty_entry *e = *bucket(p, key); e != NULL; e = e->hnext) {
		if (e->key == key && e->kind == kind)
			return e;
	}
	return NULL;
}

/* penalty(n) = initial * 2^(n-1), capped at max. */
static int64_t penalty_ms(const struct auth_penalty *p, unsigned int failures)
{
	int64_t d = p->set.initial_ms;

	if (failures == 0 || d <= 0)
		return 0;
	for (unsigned int i = 1; i < failures && d < p->set.max_ms; i++)
		d *= 2;
	return d < p->set.max_ms ? d : p->set.max_ms;
}

static int64_t entry_not_before(const struct auth_penalty *p, const struct penalty_entry *e,
                                int64_t now_ms)
{
	if (e == NULL || expired(p, e, now_ms))
		return 0;
	return e->last_failure_ms + penalty_ms(p, e->failures);
}

int64_t auth_penalty_not_before(struct auth_penalty *p, const char *ip, const char *user,
                                int64_t now_ms)
{
	int64_t t = 0, u;
	uint64_t key;

	pthread_mutex_lock(&p->lock);
	sweep(p, now_ms);
	if (ip_key(p, ip, &key))
		t = entry_not_before(p, lookup(p, KIND_IP, key), now_ms);
	u = entry_not_before(p, lookup(p, KIND_USER, user_key(p, user)), now_ms);
	pthread_mutex_unlock(&p->lock);
	return u > t ? u : t;
}

static void count_failure(struct auth_penalty *p, enum penalty_kind kind, uint64_t key, uint64_t pw,
                          int64_t now_ms)
{
	struct penalty_entry *e = lookup(p, kind, key);

	if (e == NULL) {
		if (p->count >= p->set.max_entries)
			entry_remove(p, p->tail);
		e = xcalloc(1, sizeof(*e));
		e->key = key;
		e->kind = kind;
		e->hnext = *bucket(p, key);
		*bucket(p, key) = e;
		p->count++;
	} else {
		list_unlink(p, e);
		if (expired(p, e, now_ms)) {
			/* Callers' clocks may interleave by a tick: not yet swept. */
			e->failures = e->seen_count = e->seen_next = 0;
		}
	}
	list_push_head(p, e);
	e->last_failure_ms = now_ms;
	for (unsigned int i = 0; i < e->seen_count; i++) {
		if (e->seen[i] == pw)
			return; /* the same wrong password again: no escalation */
	}
	e->failures++;
	e->seen[e->seen_next] = pw;
	e->seen_next = (e->seen_next + 1) % AUTH_PENALTY_REMEMBERED;
	if (e->seen_count < AUTH_PENALTY_REMEMBERED)
		e->seen_count++;
}

void auth_penalty_failure(struct auth_penalty *p, const char *ip, const char *user,
                          const void *password, size_t password_len, int64_t now_ms)
{
	uint64_t pw = password_key(p, user, password, password_len), key;

	pthread_mutex_lock(&p->lock);
	sweep(p, now_ms);
	if (ip_key(p, ip, &key))
		count_failure(p, KIND_IP, key, pw, now_ms);
	count_failure(p, KIND_USER, user_key(p, user), pw, now_ms);
	pthread_mutex_unlock(&p->lock);
}

void auth_penalty_success(struct auth_penalty *p, const char *ip, const char *user)
{
	struct penalty_entry *e;
	uint64_t key;

	pthread_mutex_lock(&p->lock);
	if (ip_key(p, ip, &key) && (e = lookup(p, KIND_IP, key)) != NULL)
		entry_remove(p, e);
	if ((e = lookup(p, KIND_USER, user_key(p, user))) != NULL)
		entry_remove(p, e);
	pthread_mutex_unlock(&p->lock);
}

unsigned int auth_penalty_failures(struct auth_penalty *p, const char *ip, const char *user,
                                   int64_t now_ms)
{
	struct penalty_entry *e;
	unsigned int n = 0;
	uint64_t key;

	pthread_mutex_lock(&p->lock);
	sweep(p, now_ms);
	if (ip_key(p, ip, &key) && (e = lookup(p, KIND_IP, key)) != NULL && !expired(p, e, now_ms))
		n = e->failures;
	if ((e = lookup(p, KIND_USER, user_key(p, user))) != NULL && !expired(p, e, now_ms) &&
	    e->failures > n)
		n = e->failures;
	pthread_mutex_unlock(&p->lock);
	return n;
}

unsigned int auth_penalty_entries(struct auth_penalty *p)
{
	unsigned int n;

	pthread_mutex_lock(&p->lock);
	n = p->count;
	pthread_mutex_unlock(&p->lock);
	return n;
}
