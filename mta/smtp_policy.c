/*
 * smtp_policy.c: sluice-smtpd's access decisions (see smtp_policy.h).
 *
 * Reads the session's state (service, TLS, trust, login) and the database
 * through lib/recipient.h; writes only the RCPT reply and the transaction's
 * final destinations. Client-supplied addresses reach here parsed and
 * normalized; they are logged through log_untrusted(). The networks list
 * and the rate table are built here too, so every input to a decision is
 * defined in this file.
 */
#include "smtp_policy.h"

#include "db.h"
#include "iostream.h"
#include "log.h"
#include "recipient.h"
#include "server.h"
#include "smtp_session.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Final recipients one message may have, after alias expansion. */
#define SMTP_MAX_DESTINATIONS 100000

/* ---- trusted networks ---- */

struct smtp_network {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned int prefix;
};

struct smtp_networks {
	struct smtp_network *v;
	size_t n;
};

static int network_parse(const char *word, struct smtp_network *net)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned long prefix;

	if (strlen(word) >= sizeof(buf))
		return -1;
	strcpy(buf, word);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, buf, net->addr) == 1) {
		net->family = AF_INET;
		net->prefix = 32;
	} else if (inet_pton(AF_INET6, buf, net->addr) == 1) {
		net->family = AF_INET6;
		net->prefix = 128;
	} else {
		return -1;
	}
	if (slash != NULL) {
		prefix = strtoul(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || prefix > net->prefix)
			return -1;
		net->prefix = (unsigned int)prefix;
	}
	return 0;
}

int smtp_networks_parse(const char *spec, struct smtp_networks **nets_r, const char **error_r)
{
	struct smtp_networks *nets = xcalloc(1, sizeof(*nets));
	char *copy = xstrdup(spec), *save = NULL;

	for (char *w = strtok_r(copy, " ,\t", &save); w != NULL;
	     w = strtok_r(NULL, " ,\t", &save)) {
		nets->v = xrealloc(nets->v, (nets->n + 1) * sizeof(*nets->v));
		if (network_parse(w, &nets->v[nets->n]) < 0) {
			*error_r = errorf("'%s' is no network (address or address/prefix)", w);
			free(copy);
			smtp_networks_free(&nets);
			return -1;
		}
		nets->n++;
	}
	free(copy);
	*nets_r = nets;
	return 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff00 >> rest)) == 0;
}

bool smtp_networks_match(const struct smtp_networks *nets, const struct sockaddr_storage *addr)
{
	const uint8_t *bytes;
	int family = addr->ss_family;

	if (nets == NULL)
		return false;
	if (family == AF_INET)
		bytes = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
	else if (family == AF_INET6)
		bytes = ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
	else
		return false;
	for (size_t i = 0; i < nets->n; i++) {
		if (nets->v[i].family == family &&
		    prefix_match(nets->v[i].addr, bytes, nets->v[i].prefix))
			return true;
	}
	return false;
}

void smtp_networks_free(struct smtp_networks **nets)
{
	if (*nets == NULL)
		return;
	free((*nets)->v);
	free(*nets);
	*nets = NULL;
}

/* ---- connection rate ---- */

#define RATE_BUCKETS 4096
#define RATE_WINDOW_MS 60000

struct rate_entry {
	uint8_t key[9]; /* family, then 4 or 8 address bytes */
	int64_t window_start;
	unsigned int count;
	struct rate_entry *next;
};

struct smtp_ratelimit {
	pthread_mutex_t lock;
	struct rate_entry *buckets[RATE_BUCKETS];
	int64_t last_purge;
};

struct smtp_ratelimit *smtp_ratelimit_create(void)
{
	struct smtp_ratelimit *rl = xcalloc(1, sizeof(*rl));

	pthread_mutex_init(&rl->lock, NULL);
	return rl;
}

/* Forget windows that ended; called at most once a window, under the lock. */
static void rate_purge(struct smtp_ratelimit *rl, int64_t now)
{
	for (size_t i = 0; i < RATE_BUCKETS; i++) {
		struct rate_entry **ep = &rl->buckets[i];

		while (*ep != NULL) {
			if (now - (*ep)->window_start >= RATE_WINDOW_MS) {
				struct rate_entry *e = *ep;
				*ep = e->next;
				free(e);
			} else {
				ep = &(*ep)->next;
			}
		}
	}
	rl->last_purge = now;
}

bool smtp_ratelimit_allow(struct smtp_ratelimit *rl, const struct sockaddr_storage *addr,
                          unsigned int per_minute, int64_t now_ms)
{
	uint8_t key[9] = {0};
	uint32_t h = 2166136261u;
	struct rate_entry *e;
	bool allow;

	if (per_minute == 0)
		return true;
	if (addr->ss_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)addr)->sin_addr, 4);
	} else if (addr->ss_family == AF_INET6) {
		/* an IPv6 client usually holds a whole /64 */
		key[0] = 6;
		memcpy(key + 1, ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr, 8);
	} else {
		return true;
	}
	for (size_t i = 0; i < sizeof(key); i++)
		h = (h ^ key[i]) * 16777619u;
	pthread_mutex_lock(&rl->lock);
	if (now_ms - rl->last_purge >= RATE_WINDOW_MS)
		rate_purge(rl, now_ms);
	for (e = rl->buckets[h % RATE_BUCKETS]; e != NULL; e = e->next) {
		if (memcmp(e->key, key, sizeof(key)) == 0)
			break;
	}
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		memcpy(e->key, key, sizeof(key));
		e->window_start = now_ms;
		e->next = rl->buckets[h % RATE_BUCKETS];
		rl->buckets[h % RATE_BUCKETS] = e;
	} else if (now_ms - e->window_start >= RATE_WINDOW_MS) {
		e->window_start = now_ms;
		e->count = 0;
	}
	e->count++;
	allow = e->count <= per_minute;
	pthread_mutex_unlock(&rl->lock);
	return allow;
}

void smtp_ratelimit_destroy(struct smtp_ratelimit **rlp)
{
	struct smtp_ratelimit *rl = *rlp;

	if (rl == NULL)
		return;
	rate_purge(rl, INT64_MAX / 2);
	pthread_mutex_destroy(&rl->lock);
	free(rl);
	*rlp = NULL;
}

/* ---- AUTH, STARTTLS, MAIL ---- */

static bool is_submission(const struct smtp_session *sess)
{
	return sess->service == SMTP_SERVICE_SUBMISSION ||
	       sess->service == SMTP_SERVICE_SUBMISSIONS;
}

/* RFC 4954 4 and the rule: passwords travel only under TLS, except
 * from trusted networks when smtpd_auth_plaintext_trusted says so. */
static bool auth_transport_ok(const struct smtp_session *sess)
{
	return iostream_is_tls(sess->s) || (sess->trusted && sess->set->auth_plaintext_trusted);
}

bool smtp_policy_auth_offered(const struct smtp_session *sess)
{
	return is_submission(sess) && sess->auth_user == NULL && auth_transport_ok(sess);
}

const char *smtp_policy_auth_refusal(const struct smtp_session *sess)
{
	if (!is_submission(sess))
		return "503 5.5.1 Authentication is not offered on this port";
	if (sess->auth_user != NULL)
		return "503 5.5.1 Already authenticated"; /* RFC 4954 4 */
	if (sess->in_mail)
		return "503 5.5.1 AUTH not allowed during a mail transaction";
	if (!auth_transport_ok(sess))
		return "538 5.7.11 Encryption required for requested authentication mechanism";
	return NULL;
}

bool smtp_policy_starttls_offered(const struct smtp_session *sess)
{
	return sess->d->tls != NULL && !iostream_is_tls(sess->s) &&
	       (sess->service == SMTP_SERVICE_MX || sess->service == SMTP_SERVICE_SUBMISSION);
}

const char *smtp_policy_mail_refusal(const struct smtp_session *sess)
{
	if (is_submission(sess) && sess->auth_user == NULL) {
		if (!auth_transport_ok(sess))
			return "530 5.7.0 Must issue a STARTTLS command first";
		return "530 5.7.0 Authentication required";
	}
	return NULL;
}

int smtp_policy_sender(struct smtp_session *sess, const struct mail_address *sender,
                       bool *allowed_r)
{
	struct db_conn *conn;
	const char *error;
	enum db_status st;

	*allowed_r = true;
	if (sess->auth_user == NULL || !sess->set->sender_login_check)
		return 0;
	conn = db_acquire(sess->d->pool, &error);
	if (conn == NULL) {
		log_warn("sender check: database unavailable: %s", error);
		return -1;
	}
	st = recipient_may_send_as(conn, &sess->conf->rset, sess->auth_user, sender, allowed_r,
	                           &error);
	db_release(&conn);
	if (st != DB_OK) {
		log_warn("sender check: %s", error);
		return -1;
	}
	return 0;
}

/* ---- RCPT ---- */

static const char *proto_name(const struct smtp_session *sess)
{
	return sess->esmtp ? "ESMTP" : "SMTP";
}

/* Reply and log a refused recipient the way Postfix admins grep for. */
static void reject_rcpt(struct smtp_session *sess, const char *rcpt, const char *code,
                        const char *text)
{
	char from[LOG_UNTRUSTED_BUFSZ], to[LOG_UNTRUSTED_BUFSZ], helo[LOG_UNTRUSTED_BUFSZ],
	    client[SMTP_CLIENT_BUFSZ], sender[ADDR_BUFSZ];

	addr_format(&sess->sender, sender);
	smtp_replyf(sess, "%s <%s>: %s", code, rcpt, text);
	log_info("NOQUEUE: reject: RCPT from %s: %s <%s>: %s; from=<%s> to=<%s> proto=%s helo=<%s>",
	         smtp_client_text(sess, client, sizeof(client)), code,
	         log_untrusted(to, rcpt, strlen(rcpt)), text,
	         log_untrusted(from, sender, strlen(sender)), to, proto_name(sess),
	         log_untrusted(helo, sess->helo, strlen(sess->helo)));
}

/* The postmaster address "<Postmaster>" stands for (RFC 5321 4.1.1.3). */
static int postmaster_address(const struct smtp_session *sess, struct mail_address *addr)
{
	const char *error;

	return addr_parse_mailbox(sess->set->postmaster, strlen(sess->set->postmaster),
	                          ADDR_SMTPUTF8, addr, &error);
}

bool smtp_policy_rcpt(struct smtp_session *sess, const struct mail_address *given,
                      const struct smtp_rcpt_params *params)
{
	struct mail_address addr = *given;
	struct recipient_result rr;
	struct db_conn *conn;
	char rcpt[ADDR_BUFSZ];
	const char *error;
	enum db_status st;
	bool may_relay = sess->trusted || sess->auth_user != NULL;
	size_t deliverable = 0, mailboxes = 0, full = 0, elsewhere = 0;

	if (addr.domain[0] == '\0' && postmaster_address(sess, &addr) < 0) {
		addr_format(given, rcpt);
		reject_rcpt(sess, rcpt, "550 5.1.1", "Recipient address rejected: User unknown");
		return false;
	}
	addr_format(&addr, rcpt);
	conn = db_acquire(sess->d->pool, &error);
	if (conn == NULL) {
		log_warn("recipient lookup: database unavailable: %s", error);
		reject_rcpt(sess, rcpt, "451 4.3.0", "Temporary lookup failure");
		return false;
	}
	st = recipient_resolve(conn, &sess->conf->rset, &addr, 0, &rr, &error);
	db_release(&conn);
	if (st != DB_OK) {
		log_warn("recipient lookup: %s", error);
		reject_rcpt(sess, rcpt, "451 4.3.0", "Temporary lookup failure");
		return false;
	}
	if (rr.truncated) {
		log_warn("alias expansion of %s exceeds %u destinations", rcpt,
		         sess->conf->rset.max_destinations);
		reject_rcpt(sess, rcpt, "451 4.3.0", "Alias expansion too large");
		goto refused;
	}
	for (size_t i = 0; i < rr.count; i++) {
		const struct recipient_dest *d = &rr.dests[i];

		if (d->kind == RECIPIENT_MAILBOX) {
			deliverable++;
			mailboxes++;
			if (recipient_dest_over_quota(d,
			                              sess->mail.size_given ? sess->mail.size : 0))
				full++;
		} else if (d->kind == RECIPIENT_REMOTE || d->kind == RECIPIENT_RELAY) {
			deliverable++;
			elsewhere++;
		}
	}
	if (!rr.ours) {
		/* Not one of our domains: a backup-MX domain, or relaying. */
		bool remote = rr.count == 0 || rr.dests[0].kind == RECIPIENT_REMOTE;

		if (remote && !may_relay) {
			reject_rcpt(sess, rcpt, "554 5.7.1", "Relay access denied");
			goto refused;
		}
	} else if (deliverable == 0) {
		if (rr.loop) {
			log_warn("alias loop or too deep alias nesting at %s", rcpt);
			reject_rcpt(sess, rcpt, "451 4.4.6", "Alias expansion loop");
		} else {
			reject_rcpt(sess, rcpt, "550 5.1.1",
			            "Recipient address rejected: User unknown");
		}
		goto refused;
	} else if (mailboxes > 0 && full == mailboxes && elsewhere == 0) {
		/* Every mailbox it reaches is full: refuse now, so no bounce is needed. */
		reject_rcpt(sess, rcpt, "552 5.2.2", "Recipient address rejected: Mailbox full");
		goto refused;
	}
	if (rr.loop)
		log_warn("alias loop or too deep alias nesting at %s (other destinations kept)",
		         rcpt);
	if (sess->dest_count + rr.count > SMTP_MAX_DESTINATIONS) {
		smtp_reply(sess, "452 4.5.3 Too many recipients");
		goto refused;
	}
	for (size_t i = 0; i < rr.count; i++) {
		const struct recipient_dest *d = &rr.dests[i];
		bool local = d->kind != RECIPIENT_REMOTE && d->kind != RECIPIENT_RELAY;

		if (strcasecmp(d->address, rcpt) != 0)
			log_debug("%s: expanded to %s (%s)", rcpt, d->address,
			          recipient_kind_name(d->kind));
		smtp_dest_add(sess, d->address, rcpt, params->orcpt_given ? params->orcpt : NULL,
		              params->notify, local);
	}
	recipient_result_free(&rr);
	smtp_reply(sess, "250 2.1.5 Ok");
	return true;
refused:
	recipient_result_free(&rr);
	return false;
}
