/*
 * imap_search_private.h: the search program shared by its parser
 * (imap_search_parse.c) and its evaluator (imap_search_eval.c). Not for
 * other files.
 */
#ifndef SLUICE_IMAP_SEARCH_PRIVATE_H
#define SLUICE_IMAP_SEARCH_PRIVATE_H

#include "imap_search.h"

enum skey_type {
	SK_ALL,
	SK_RECENT,  /* \Recent in the view (not with negate: OLD); flag: and not \Seen (NEW) */
	SK_AND,     /* (keys) and the top level */
	SK_OR,
	SK_NOT,
	SK_SEQSET,  /* message numbers */
	SK_UIDSET,  /* UID set, or $ (the saved result) */
	SK_FLAG,    /* flag bit set (or not, with negate) */
	SK_KEYWORD, /* keyword set (or not, with negate) */
	SK_LARGER,
	SK_SMALLER,
	SK_BEFORE,
	SK_ON,
	SK_SINCE,
	SK_SENTBEFORE,
	SK_SENTON,
	SK_SENTSINCE,
	SK_ADDRESS, /* FROM, TO, CC, BCC: the envelope's addresses */
	SK_SUBJECT,
	SK_HEADER,
	SK_BODY,
	SK_TEXT,
	SK_MODSEQ,
};

/* What evaluating a key needs beyond the index row. */
enum skey_needs {
	NEEDS_ENVELOPE = 1 << 0,
	NEEDS_HEADER = 1 << 1,
	NEEDS_BODY = 1 << 2,
};

struct skey {
	enum skey_type type;
	bool negate;           /* SK_FLAG, SK_KEYWORD: the flag is not set */
	struct skey *kids;     /* SK_AND, SK_OR, SK_NOT */
	size_t nkids;
	struct imap_seqset set;
	unsigned int flag;
	char *str;             /* case-folded UTF-8 (strings), the keyword (SK_KEYWORD) */
	size_t len;
	char *field;           /* SK_HEADER field name; SK_ADDRESS: "from", "to", "cc", "bcc" */
	int64_t num;           /* sizes, days since 1970, mod-sequences */
};

struct imap_search {
	struct skey root; /* an SK_AND */
	unsigned int needs;
	bool has_modseq;
};

#endif
