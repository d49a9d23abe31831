/*
 * recipient.h: what an address means to us, from the database: the address
 * classes (a mailbox of ours, an alias, a catch-all, an alias domain, a
 * backup-MX domain, somewhere else) and alias expansion to final recipients.
 *
 * sluice-smtpd asks at RCPT time (one statement per address, a recursive
 * walk over the alias graph inside PostgreSQL) and queues the final
 * recipients; sluice-lmtpd asks recipient_mailbox_lookup() for the mailbox
 * behind a final address; the submission policy asks recipient_may_send_as().
 *
 * The rules, applied at every step of the walk (an address local@domain):
 *   - domain is an active alias domain: go on with local@target;
 *   - domain is not ours: a remote destination; a backup-MX domain: relay;
 *   - domain is ours but inactive: unknown;
 *   - an active alias of local: its destinations (a destination that is the
 *     alias's own address, when a mailbox has that address, is that mailbox:
 *     "forward and keep a copy");
 *   - else a mailbox of local: that mailbox (inactive: disabled);
 *   - else, when local has an extension (recipient_delimiter, "bob+tag"),
 *     the same two rules for the base "bob"; the extension follows the
 *     message to the mailboxes it reaches;
 *   - else the domain's catch-all alias "@domain", when the caller allows;
 *   - else unknown.
 * The walk is bounded (max_depth steps, max_destinations results), never
 * visits an address twice on one path (a loop ends there and is reported),
 * and results are de-duplicated. Thread-safe: state lives in the caller's
 * connection and result.
 */
#ifndef SLUICE_RECIPIENT_H
#define SLUICE_RECIPIENT_H

#include "addr.h"
#include "db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum recipient_kind {
	RECIPIENT_MAILBOX,  /* an active mailbox of ours */
	RECIPIENT_DISABLED, /* a mailbox of ours that is inactive (or whose domain is) */
	RECIPIENT_UNKNOWN,  /* in one of our domains, but nothing answers to it */
	RECIPIENT_RELAY,    /* a backup-MX domain: queue for the next hop */
	RECIPIENT_REMOTE,   /* not one of our domains */
};

/* One final destination. */
struct recipient_dest {
	enum recipient_kind kind;
	/* The final address: for mailboxes the stored local part, the
	 * extension ("+tag", may be "") and the domain; else as found. */
	char address[ADDR_BUFSZ];
	/* Mailboxes only (0 / NULL otherwise). */
	int64_t mailbox_id;
	char extension[ADDR_LOCAL_BUFSZ];    /* with its delimiter: "+tag", or "" */
	char *storage_dir;                   /* heap, freed with the result */
	int64_t quota_bytes, quota_messages; /* 0: no limit */
	int64_t used_bytes, used_messages;
	bool via_catchall; /* reached through a catch-all alias */
};

struct recipient_result {
	struct recipient_dest *dests; /* de-duplicated by address (ignoring case) */
	size_t count;
	bool ours;      /* the address is in one of our (alias) domains */
	bool loop;      /* some branch came back to an address on its path, or went too deep */
	bool truncated; /* more than max_destinations: dests holds the first ones */
};

struct recipient_settings {
	const char *delimiters;        /* recipient_delimiter ("+", "" for none) */
	unsigned int max_depth;        /* steps of the walk, at least 1 */
	unsigned int max_destinations; /* final destinations at most */
};

enum recipient_flags {
	/* Do not follow catch-all aliases (the sender check). */
	RECIPIENT_NO_CATCHALL = 1 << 0,
};

/*
 * Expand addr (a parsed address with a domain) into its final destinations,
 * in one statement on conn. Returns DB_OK with *res_r filled (free it with
 * recipient_result_free()), or DB_TEMPFAIL / DB_ERROR with *error_r; the
 * caller answers both with a temporary failure.
 */
enum db_status recipient_resolve(struct db_conn *conn, const struct recipient_settings *set,
                                 const struct mail_address *addr, unsigned int flags,
                                 struct recipient_result *res_r, const char **error_r);
/* Free what a result holds and zero it; accepts a zeroed result. */
void recipient_result_free(struct recipient_result *res);

/* Whether a mailbox destination has no room for a message of size bytes (0: unknown size). */
bool recipient_dest_over_quota(const struct recipient_dest *dest, uint64_t size);
/* "mailbox", "disabled", "unknown", "relay", "remote". */
const char *recipient_kind_name(enum recipient_kind kind);

/*
 * The mailbox behind a final address, without alias expansion (for the
 * delivery agent): local part exact, else its base without the extension;
 * an alias domain is mapped to its target. Returns DB_OK with *found_r false
 * when there is no mailbox (aliases are not consulted), true with *dest_r
 * filled (kind MAILBOX or DISABLED; free with recipient_dest_free()).
 */
enum db_status recipient_mailbox_lookup(struct db_conn *conn, const struct recipient_settings *set,
                                        const struct mail_address *addr, bool *found_r,
                                        struct recipient_dest *dest_r, const char **error_r);
/* Free what one destination holds (its storage_dir). */
void recipient_dest_free(struct recipient_dest *dest);

/*
 * Submission: may the mailbox `login` (the canonical name sluice-authd
 * returned, "local@domain") use `sender` as its envelope sender? Yes for the
 * null sender; its own address and its extension forms; the same local part
 * in an alias domain of its domain; any address of its domain (and its
 * alias domains) when the mailbox or its domain has send_as_domain; any
 * address whose mail reaches this mailbox
 * (the aliases that point to it, directly or through other aliases, but not
 * through a catch-all). DB_OK with *allowed_r set, else a temporary failure.
 */
enum db_status recipient_may_send_as(struct db_conn *conn, const struct recipient_settings *set,
                                     const char *login, const struct mail_address *sender,
                                     bool *allowed_r, const char **error_r);

#endif
