/*
 * sieve.h: the Sieve mail filtering language (RFC 5228 and extensions) as a
 * library: sluice-lmtpd runs scripts per recipient, sluice-sieved (ManageSieve)
 * compiles uploads to report errors, sluice-sieve prints what a script would do.
 *
 * sieve_compile() turns script bytes into an immutable program (shareable
 * between threads) or a list of errors with line and column. sieve_run()
 * evaluates a program against a parsed message and an envelope; the outside
 * world (mailboxes, duplicate and vacation databases) is reached only through
 * the callbacks of struct sieve_env. The result is the ordered, merged list of
 * actions, or a runtime error: the caller then keeps the message, so a broken
 * script never loses mail. No global state; every resource is bounded.
 */
#ifndef SLUICE_SIEVE_H
#define SLUICE_SIEVE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "message.h"
#include "util.h"

/* Extensions, one bit each; all are enabled by default. */
enum sieve_extension {
	SIEVE_EXT_FILEINTO,
	SIEVE_EXT_REJECT,
	SIEVE_EXT_EREJECT,
	SIEVE_EXT_ENVELOPE,
	SIEVE_EXT_ENCODED_CHARACTER,
	SIEVE_EXT_VARIABLES,
	SIEVE_EXT_RELATIONAL,
	SIEVE_EXT_COMPARATOR_NUMERIC,
	SIEVE_EXT_COMPARATOR_OCTET,
	SIEVE_EXT_COMPARATOR_CASEMAP,
	SIEVE_EXT_SUBADDRESS,
	SIEVE_EXT_COPY,
	SIEVE_EXT_IMAP4FLAGS,
	SIEVE_EXT_BODY,
	SIEVE_EXT_VACATION,
	SIEVE_EXT_VACATION_SECONDS,
	SIEVE_EXT_DATE,
	SIEVE_EXT_INDEX,
	SIEVE_EXT_MAILBOX,
	SIEVE_EXT_EDITHEADER,
	SIEVE_EXT_DUPLICATE,
	SIEVE_EXT_INCLUDE,
	SIEVE_EXT_REGEX,
	SIEVE_EXT_ENOTIFY,
	SIEVE_EXT_ENVIRONMENT,
	SIEVE_EXT_IHAVE,
	SIEVE_EXT_MIME,
	SIEVE_EXT_FOREVERYPART,
	SIEVE_EXT_EXTRACTTEXT,
	SIEVE_EXT_SPAMTEST,
	SIEVE_EXT_SPAMTESTPLUS,
	SIEVE_EXT_VIRUSTEST,
	SIEVE_EXT_COUNT
};

#define SIEVE_EXT_ALL ((UINT64_C(1) << SIEVE_EXT_COUNT) - 1)

/* The capability name of an extension ("fileinto", "comparator-i;ascii-numeric"). */
const char *sieve_extension_name(enum sieve_extension ext);
/* Parse a space-separated list of capability names into a mask; -1 on an unknown name. */
int sieve_extensions_parse(const char *list, uint64_t *mask_r, const char **error_r);
/* The SIEVE capability string for ManageSieve: enabled names, space-separated. */
void sieve_extensions_string(uint64_t mask, struct sbuf *out);

struct sieve_error {
	unsigned int line, column; /* 1-based; 0 when not tied to a place */
	char *script;              /* NULL for the main script, else the included name */
	char *message;
};

struct sieve_errors {
	struct sieve_error *items;
	size_t count;
};

void sieve_errors_clear(struct sieve_errors *errors);
/* "line L, column C: message" lines (the script name first for includes). */
void sieve_errors_format(const struct sieve_errors *errors, struct sbuf *out);

enum sieve_script_location {
	SIEVE_LOCATION_PERSONAL, /* the owner's scripts (include :personal, the default) */
	SIEVE_LOCATION_GLOBAL,   /* scripts the administrator installed (include :global) */
};

/*
 * Load an included script: 1 with *data_r (xmalloc'd) and *len_r set, 0 when
 * there is no such script, -1 with *error_r on an error of the store.
 */
typedef int sieve_include_loader(void *ctx, enum sieve_script_location location, const char *name,
                                 char **data_r, size_t *len_r, const char **error_r);

struct sieve_compile_options {
	uint64_t extensions;                  /* enabled extensions (SIEVE_EXT_ALL) */
	sieve_include_loader *include_loader; /* NULL: include fails to compile */
	void *include_ctx;
	size_t max_script_size;         /* bytes (1 MiB) */
	unsigned int max_nesting;       /* blocks and tests inside each other (32) */
	unsigned int max_include_depth; /* includes inside includes (10) */
	unsigned int max_includes;      /* different scripts included in all (32) */
	unsigned int max_variables;     /* variables per script (255) */
	unsigned int max_errors;        /* errors reported before giving up (10) */
};

void sieve_compile_options_default(struct sieve_compile_options *opts);

struct sieve_program;

/*
 * Compile a script (UTF-8, any line ends). On success *program_r is set and
 * errors_r is empty; on failure -1 and errors_r holds at least one error.
 * opts may be NULL for the defaults. Arbitrary bytes never crash or hang it.
 */
int sieve_compile(const char *script, size_t len, const struct sieve_compile_options *opts,
                  struct sieve_program **program_r, struct sieve_errors *errors_r);
void sieve_program_free(struct sieve_program **program);

struct sieve_envelope {
	const char *from;    /* MAIL FROM, bare address; "" for the null sender */
	const char *to;      /* RCPT TO: the script owner's address */
	const char *orig_to; /* the original recipient (ORCPT), NULL when unknown */
	const char *auth;    /* the authenticated submitter, NULL when none */
};

struct sieve_limits {
	unsigned int max_actions;       /* actions in one result (32) */
	unsigned int max_redirects;     /* redirect actions (4) */
	unsigned int max_steps;         /* commands and tests executed, and match work (10^6) */
	unsigned int max_cpu_ms;        /* wall time of one run (10 s) */
	unsigned int max_variable_size; /* bytes of one variable value (4096) */
	unsigned int max_header_edits;  /* addheader + deleteheader (64) */
	unsigned int max_foreverypart_depth; /* nested foreverypart loops (4) */
	uint64_t vacation_min_period;        /* seconds (86400) */
	uint64_t vacation_max_period;        /* seconds, 0 = no limit */
	uint64_t vacation_default_period;    /* seconds (7 days) */
	uint64_t duplicate_default_period;   /* seconds (7 days) */
	uint64_t duplicate_max_period;       /* seconds (7 days) */
};

void sieve_limits_default(struct sieve_limits *limits);

enum sieve_score_type {
	SIEVE_SCORE_NUMBER, /* the header holds a number; max gives the spam end of the scale */
	SIEVE_SCORE_STRLEN, /* the length of the header value counts (X-Spam-Level: *****) */
	SIEVE_SCORE_TEXT,   /* the value is looked up in text_values */
};

/* How a spamtest / virustest value is read from the message (RFC 5235). */
struct sieve_score_source {
	const char *header; /* field name; NULL or "" disables the test (value "0") */
	enum sieve_score_type type;
	double max; /* NUMBER and STRLEN: the value meaning "certainly spam" */
	/* TEXT: text_values[i] (case-insensitive, prefix match) gives value i+1 */
	const char *const *text_values;
	size_t text_count;
};

/* The world outside the interpreter. Unset callbacks mean "no" / "not known". */
struct sieve_env {
	void *ctx;
	/* mailboxexists: 1 exists, 0 not, -1 temporary failure (a runtime error). */
	int (*mailbox_exists)(void *ctx, const char *mailbox);
	/* duplicate (RFC 7352): 1 when handle+id was seen within `seconds`, 0 not, -1 failure. */
	int (*duplicate_check)(void *ctx, const char *handle, const char *id, uint64_t seconds,
	                       int last);
	/* vacation: 1 when this sender already got the reply `handle` within `seconds`. */
	int (*vacation_replied)(void *ctx, const char *sender, const char *handle,
	                        uint64_t seconds);
	const char *default_mailbox;     /* "INBOX" */
	const char *recipient_delimiter; /* subaddress separators ("+") */
	struct sieve_score_source spam, spam_percent, virus;
	/* environment (RFC 5183) items; NULL = unknown */
	const char *env_domain, *env_host, *env_remote_host, *env_remote_ip;
	/* redirect loop protection: a field naming the owner means "been here" */
	const char *loop_header; /* "X-Sluice-Loop" */
	time_t now;              /* 0: the current time */
	struct sieve_limits limits;
	struct message_limits message_limits;
};

/* Defaults: every callback unset, INBOX, "+", X-Spam-Score 0..10, X-Virus-Score 0..5. */
void sieve_env_default(struct sieve_env *env);

enum sieve_action_type {
	SIEVE_ACTION_KEEP,     /* store into the default mailbox */
	SIEVE_ACTION_FILEINTO, /* store into another mailbox */
	SIEVE_ACTION_REDIRECT,
	SIEVE_ACTION_REJECT,
	SIEVE_ACTION_EREJECT,
	SIEVE_ACTION_DISCARD,
	SIEVE_ACTION_VACATION,
	SIEVE_ACTION_NOTIFY,
};

struct sieve_vacation {
	char *to;           /* the envelope sender the reply goes to */
	char *from;         /* the From field of the reply (":from" as written, or the address) */
	char *from_address; /* the bare address of from */
	char *subject;      /* UTF-8, trimmed */
	char *reason;       /* body text, or a MIME entity when mime is set */
	int mime;
	char *handle;     /* the key for the vacation_replied database */
	uint64_t seconds; /* the response period */
	char **addresses; /* :addresses, normalized */
	size_t naddresses;
	char *in_reply_to; /* the original Message-ID, NULL when absent */
	char *references;  /* References for the reply */
	int send;          /* 0 when suppressed (RFC 5230 4.5/4.6, RFC 3834) */
	const char *suppress_reason;
};

struct sieve_notify {
	char *method;   /* the URI ("mailto:...") */
	char *from;     /* NULL: the server's own address */
	int importance; /* 1 high .. 3 low (2 by default) */
	char **options;
	size_t noptions;
	char *message;     /* the text of the notification */
	char **recipients; /* mailto: the addresses the notification goes to */
	size_t nrecipients;
	char *subject; /* mailto: the subject (the message text unless the URI sets one) */
	char *body;    /* mailto: the body from the URI, NULL when none */
	int send;      /* 0 when suppressed (RFC 5436 2.7: auto-submitted mail) */
};

struct sieve_action {
	enum sieve_action_type type;
	unsigned int line; /* where the script first asked for it; 0 for the implicit keep */
	int implicit;      /* the implicit keep */
	char *mailbox;     /* KEEP / FILEINTO */
	char **flags;      /* KEEP / FILEINTO: IMAP flags, sorted, canonical spelling */
	size_t nflags;
	int create;    /* fileinto :create (RFC 5490) */
	int copy;      /* :copy given on every merged request */
	char *address; /* REDIRECT: domain in lower case */
	char *reason;  /* REJECT / EREJECT */
	struct sieve_vacation *vacation;
	struct sieve_notify *notify;
	/* KEEP / FILEINTO / REDIRECT: the header as editheader left it when the
	   action ran, NULL when unchanged */
	struct message_header *edited_header;
};

struct sieve_duplicate_mark {
	char *handle, *id;
	uint64_t seconds;
	int last;
};

struct sieve_result {
	struct sieve_action *actions; /* in execution order, merged (FORMAT.md rules) */
	size_t count;
	int implicit_keep; /* the last action is the implicit keep */
	/* after success: the ids to record as seen (duplicate extension) */
	struct sieve_duplicate_mark *duplicates;
	size_t nduplicates;
	/* runtime failure: the caller keeps the message and logs this */
	int failed;
	char *error;
	unsigned int error_line;
};

/*
 * Run a compiled script. Always returns a result (never NULL); when
 * result->failed, the actions must be ignored and the message kept.
 */
struct sieve_result *sieve_run(const struct sieve_program *program, const struct message *msg,
                               const struct sieve_envelope *envelope, const struct sieve_env *env);

/*
 * Run global "before" scripts, the user's script (NULL when none) and global
 * "after" scripts into one result. The next script runs only while the
 * implicit keep is in effect and no script executed `stop`.
 */
struct sieve_result *sieve_run_chain(const struct sieve_program *const *before, size_t nbefore,
                                     const struct sieve_program *user,
                                     const struct sieve_program *const *after, size_t nafter,
                                     const struct message *msg,
                                     const struct sieve_envelope *envelope,
                                     const struct sieve_env *env);
void sieve_result_free(struct sieve_result **result);

/* The result in the line format of sluice-sieve (shared/sieve/FORMAT.md). */
void sieve_result_format(const struct sieve_result *result, const char *default_mailbox,
                         struct sbuf *out);

#endif
