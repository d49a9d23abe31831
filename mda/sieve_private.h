/*
 * sieve_private.h: what the Sieve compiler and interpreter files share and
 * nobody else sees: tokens, the syntax tree (which, once validated, is the
 * compiled program), the command and tag tables, and the run-time context.
 *
 * A compiled program is never written after sieve_compile() returns, so
 * many threads may run it at once; everything a run changes lives in
 * struct sieve_run.
 */
#ifndef SLUICE_SIEVE_PRIVATE_H
#define SLUICE_SIEVE_PRIVATE_H

#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

#include "mime.h"
#include "sieve.h"

#define EXT_BIT(e) (UINT64_C(1) << (e))

/* ---- lexer (sieve_lexer.c) ---- */

enum sieve_token_type {
	TOK_EOF,
	TOK_IDENT,
	TOK_TAG,
	TOK_NUMBER,
	TOK_STRING, /* quoted or text: (multi-line), already unescaped */
	TOK_LBRACKET,
	TOK_RBRACKET,
	TOK_LBRACE,
	TOK_RBRACE,
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_COMMA,
	TOK_SEMICOLON,
};

struct sieve_token {
	enum sieve_token_type type;
	unsigned int line, column;
	const char *text; /* IDENT, TAG (without ':'): points into the script */
	size_t len;
	char *str; /* STRING: owned by the token until taken */
	size_t str_len;
	uint64_t number;
};

struct sieve_lexer {
	const char *src;
	size_t len, pos;
	unsigned int line;
	size_t line_start;
};

void sieve_lexer_init(struct sieve_lexer *lx, const char *src, size_t len);
/* The next token; -1 with *error_r (and tok->line/column set) on a lexical error. */
int sieve_lexer_next(struct sieve_lexer *lx, struct sieve_token *tok, const char **error_r);

/* ---- syntax tree (sieve_parser.c) ---- */

enum sieve_seg_kind {
	SEG_LITERAL,
	SEG_LOCAL,  /* a variable of the script */
	SEG_GLOBAL, /* a global variable (include) */
	SEG_MATCH,  /* ${N} */
	SEG_EMPTY,  /* a reference that always expands to "" */
};

struct sieve_seg {
	enum sieve_seg_kind kind;
	uint32_t index;
	char *text;
	size_t len;
};

struct sieve_string {
	char *data; /* the string; after validation its constant value when is_const */
	size_t len;
	unsigned int line, column;
	int is_const;           /* no variable references */
	struct sieve_seg *segs; /* when !is_const */
	size_t nsegs;
};

enum sieve_arg_kind { ARG_NUMBER, ARG_STRING, ARG_STRLIST, ARG_TAG };

struct sieve_arg {
	enum sieve_arg_kind kind;
	unsigned int line, column;
	uint64_t number;
	struct sieve_string *strs; /* STRING: one, STRLIST: nstrs */
	size_t nstrs;
	char *tag; /* TAG: lower case, without ':' */
};

struct sieve_tagval {
	uint8_t tag;
	struct sieve_arg *arg; /* the tag's parameter, NULL when it takes none */
};

struct sieve_program;
struct sieve_cmd_def;

struct sieve_node {
	char *name; /* lower case */
	unsigned int line, column;
	const struct sieve_cmd_def *def;
	struct sieve_arg *args;
	size_t nargs;
	struct sieve_node *tests;
	size_t ntests;
	int test_list; /* tests were given in parentheses */
	struct sieve_node *block;
	size_t nblock;
	int has_block;
	/* filled by validation */
	uint64_t tags; /* bit per enum sieve_tag given */
	struct sieve_tagval *tagvals;
	size_t ntagvals;
	struct sieve_arg *pos[4];
	unsigned int npos;
	uint8_t comparator, match_type, relop, addrpart;
	unsigned int modifiers; /* set / extracttext: bit per modifier tag */
	int ihave_ok;           /* ihave: every capability is known and enabled */
	uint64_t ihave_mask;    /* ihave: the capabilities it names */
	int skip;               /* a block under a failed ihave: never validated or run */
	int var_kind;           /* target variable of set, extracttext, flag commands */
	uint32_t var_index;     /* (SEG_LOCAL / SEG_GLOBAL, -1 for the internal flags) */
	const struct sieve_program *include;
};

/* ---- tags and commands (sieve_commands.c) ---- */

enum sieve_tag {
	TAG_COMPARATOR,
	TAG_IS,
	TAG_CONTAINS,
	TAG_MATCHES,
	TAG_REGEX,
	TAG_VALUE,
	TAG_COUNT,
	TAG_ALL,
	TAG_LOCALPART,
	TAG_DOMAIN,
	TAG_USER,
	TAG_DETAIL,
	TAG_OVER,
	TAG_UNDER,
	TAG_INDEX,
	TAG_LAST,
	TAG_ZONE,
	TAG_ORIGINALZONE,
	TAG_RAW,
	TAG_CONTENT,
	TAG_TEXT,
	TAG_COPY,
	TAG_CREATE,
	TAG_FLAGS,
	TAG_LOWER,
	TAG_UPPER,
	TAG_LOWERFIRST,
	TAG_UPPERFIRST,
	TAG_QUOTEWILDCARD,
	TAG_QUOTEREGEX,
	TAG_ENCODEURL,
	TAG_LENGTH,
	TAG_DAYS,
	TAG_SECONDS,
	TAG_SUBJECT,
	TAG_FROM,
	TAG_ADDRESSES,
	TAG_MIME,
	TAG_HANDLE,
	TAG_IMPORTANCE,
	TAG_OPTIONS,
	TAG_MESSAGE,
	TAG_HEADER,
	TAG_UNIQUEID,
	TAG_PERSONAL,
	TAG_GLOBAL,
	TAG_ONCE,
	TAG_OPTIONAL,
	TAG_NAME,
	TAG_FIRST,
	TAG_ANYCHILD,
	TAG_TYPE,
	TAG_SUBTYPE,
	TAG_CONTENTTYPE,
	TAG_PARAM,
	TAG_PERCENT,
	TAG_MAX
};

enum sieve_tag_param { TP_NONE, TP_NUMBER, TP_STRING, TP_STRLIST };

enum sieve_tag_group {
	G_NONE,
	G_MATCH,
	G_ADDRPART,
	G_SIZE,
	G_ZONE,
	G_TRANSFORM,
	G_MOD40,
	G_MOD30,
	G_MOD20,
	G_MOD10,
	G_LOCATION,
	G_DUPID,
	G_MIMEOPT,
	G_PERIOD,
};

struct sieve_tag_def {
	const char *name;
	enum sieve_tag_param param;
	enum sieve_tag_group group;
};

extern const struct sieve_tag_def sieve_tag_defs[TAG_MAX];

struct sieve_tag_use {
	int8_t tag; /* -1 ends a list */
	int8_t ext; /* the extension the tag needs here, -1 for none */
};

enum { KIND_COMMAND, KIND_TEST };
enum { CMP_OCTET, CMP_CASEMAP, CMP_NUMERIC };
enum { MT_IS, MT_CONTAINS, MT_MATCHES, MT_REGEX, MT_VALUE, MT_COUNT };
enum { REL_GT, REL_GE, REL_LT, REL_LE, REL_EQ, REL_NE };
enum { AP_ALL, AP_LOCALPART, AP_DOMAIN, AP_USER, AP_DETAIL };

struct sieve_vctx;
struct sieve_run;

/* Commands return one of these; tests return 1 (true), 0 (false) or EXEC_ERROR. */
enum sieve_exec_status {
	EXEC_OK = 0,
	EXEC_STOP = 2,
	EXEC_RETURN = 3,
	EXEC_BREAK = 4,
	EXEC_ERROR = -1
};

struct sieve_cmd_def {
	const char *name;
	int kind;
	int ext; /* -1: core */
	const struct sieve_tag_use *tags;
	unsigned int pos_min, pos_max; /* positional arguments */
	const char *pos_types;         /* for pos_max arguments: N number, S string, L list */
	int opt_leading;               /* missing optional positionals are the first ones */
	int block;                     /* a block is required */
	int tests;                     /* 0 none, 1 one test, 2 a test list */
	int (*validate)(struct sieve_vctx *vc, struct sieve_node *node);
	int (*exec)(struct sieve_run *run, const struct sieve_node *node);
};

const struct sieve_cmd_def *sieve_command_find(const char *name, int kind);
/* The argument of a tag given on a node, NULL when absent or parameterless. */
struct sieve_arg *sieve_node_tag(const struct sieve_node *node, enum sieve_tag tag);
#define NODE_HAS(node, t) (((node)->tags & (UINT64_C(1) << (t))) != 0)

/* ---- programs and validation (sieve_validate.c, sieve_strings.c) ---- */

struct sieve_program {
	char *name; /* NULL for the main script */
	struct sieve_node *commands;
	size_t ncommands;
	uint64_t required; /* extensions the script required */
	char **locals;     /* variable names of this script */
	size_t nlocals;
	/* the main program owns these; included ones point at the main's */
	char **globals;
	size_t nglobals;
	struct sieve_program **included;
	size_t nincluded;
	unsigned int include_id; /* index in the main's `included` (:once) */
	int is_main;
};

struct sieve_include_entry;

/* Shared by a main script and every script it includes, while compiling. */
struct sieve_compile_state {
	const struct sieve_compile_options *opts;
	struct sieve_errors *errors;
	struct sieve_program *main;
	struct sieve_include_entry *includes;
	size_t nincludes;
};

struct sieve_vctx {
	const struct sieve_compile_options *opts;
	struct sieve_compile_state *state;
	struct sieve_program *prog;
	uint64_t enabled;  /* what the options allow */
	uint64_t required; /* what require (and ihave blocks) made usable */
	int require_allowed;
	unsigned int loop_depth; /* foreverypart nesting */
	const char *loop_names[16];
	unsigned int include_depth;
	char **declared_globals; /* names this script declared global */
	size_t ndeclared_globals;
};

int sieve_vc_error(struct sieve_vctx *vc, unsigned int line, unsigned int column, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
int sieve_vc_has(const struct sieve_vctx *vc, int ext);
/* An enabled extension by capability name; -1 when unknown or disabled. */
int sieve_vc_capability(const struct sieve_vctx *vc, const char *name);
/* Validate a block of commands (recursively). */
int sieve_validate_block(struct sieve_vctx *vc, struct sieve_node *nodes, size_t n);
/* Compile an included script within the main's compile state. */
int sieve_compile_include(struct sieve_vctx *vc, struct sieve_node *node,
                          enum sieve_script_location loc, const char *name, int optional,
                          const struct sieve_program **prog_r);

/* Compile a string argument: encoded-character and variable references. */
int sieve_string_compile(struct sieve_vctx *vc, struct sieve_string *s);
/* Declare or look up a variable of this script (set/extracttext targets). */
int sieve_variable_target(struct sieve_vctx *vc, const struct sieve_string *name,
                          struct sieve_node *node);
int sieve_identifier_valid(const char *s, size_t len);
/* Global variable index by name, added when new; -1 (an error) past max_variables. */
int sieve_global_index(struct sieve_vctx *vc, const char *name, unsigned int line,
                       unsigned int column);

/* Parse a script into a command list (sieve_parser.c). */
int sieve_parse(const char *src, size_t len, unsigned int max_nesting, struct sieve_node **cmds_r,
                size_t *n_r, unsigned int *line_r, unsigned int *col_r, const char **error_r);
void sieve_nodes_free(struct sieve_node *nodes, size_t n);

/* ---- run time (sieve_interp.c and the extension files) ---- */

#define SIEVE_MAX_MATCH 32
/* Longest string an expansion produces (a script's strings are at most this too). */
#define SIEVE_MAX_EXPANSION (1024 * 1024)
#define SIEVE_MAX_LOOP_DEPTH 16
/* foreverypart loops inside each other, checked when compiling (as Pigeonhole: 4) */
#define SIEVE_MAX_LOOP_NESTING 4

struct sieve_run {
	const struct message *msg;
	const struct sieve_envelope *envelope;
	const struct sieve_env *env;
	struct sieve_result *result;
	const struct sieve_program *main;
	const struct sieve_program *prog; /* the script running now */
	struct message_header *edited;    /* NULL until editheader changes something */
	unsigned int header_edits;
	struct mime_part *mime; /* parsed on first need */
	int mime_failed;
	struct sbuf *locals;
	size_t nlocals;
	struct sbuf *globals;
	size_t nglobals;
	struct sbuf match[SIEVE_MAX_MATCH];
	unsigned int nmatch;
	struct sbuf flags; /* the internal imap4flags variable */
	const struct mime_part *loop_part[SIEVE_MAX_LOOP_DEPTH];
	const struct mime_part *loop_top[SIEVE_MAX_LOOP_DEPTH];
	unsigned int loop_depth;
	const char *break_name;
	unsigned char *once_done;
	uint64_t steps;
	int64_t start_ms;
	int implicit_keep;
	int failed;
	unsigned int line; /* of the command running now */
	time_t now;
};

/* Record a runtime error (the first one wins); returns EXEC_ERROR. */
int sieve_run_error(struct sieve_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Count work; EXEC_ERROR past the step or time limit. */
int sieve_run_charge(struct sieve_run *run, uint64_t units);
int sieve_exec_block(struct sieve_run *run, const struct sieve_node *nodes, size_t n);
int sieve_eval_test(struct sieve_run *run, const struct sieve_node *node);
/* Run a program (main or included) with a fresh variable scope. */
int sieve_exec_program(struct sieve_run *run, const struct sieve_program *prog);

/* Expand a string with variables into out (reset first); bounded. */
void sieve_expand(struct sieve_run *run, const struct sieve_string *s, struct sbuf *out);
/* Expand into a new C string. */
char *sieve_expand_dup(struct sieve_run *run, const struct sieve_string *s);
struct sbuf *sieve_variable(struct sieve_run *run, int kind, uint32_t index);
void sieve_variable_set(struct sieve_run *run, struct sbuf *var, const char *value, size_t len);
/* Apply set modifiers (RFC 5229 4) in precedence order. */
void sieve_apply_modifiers(unsigned int modifiers, struct sbuf *value);

/* The header fields as editheader left them. */
const struct message_header *sieve_run_header(const struct sieve_run *run);
/* The MIME tree, parsed on first use (NULL when the message cannot be parsed). */
const struct mime_part *sieve_run_mime(struct sieve_run *run);

/* ---- matching (sieve_match.c) ---- */

struct sieve_matcher {
	struct sieve_run *run;
	const struct sieve_node *node;
	const struct sieve_arg *keys;
	unsigned int count; /* values seen, for :count */
	int matched;
	int error;
	int set_vars;           /* a match may set match variables */
	struct sbuf *key_cache; /* expanded keys */
	size_t nkeys;
};

void sieve_matcher_init(struct sieve_matcher *m, struct sieve_run *run,
                        const struct sieve_node *node, const struct sieve_arg *keys);
/* Offer one value; returns 1 once a value matched (stop offering), -1 on error. */
int sieve_matcher_value(struct sieve_matcher *m, const char *value, size_t len);
/* After the last value: 1 true, 0 false, EXEC_ERROR. */
int sieve_matcher_finish(struct sieve_matcher *m);
void sieve_matcher_deinit(struct sieve_matcher *m);

int sieve_compare_eq(int comparator, const char *a, size_t alen, const char *b, size_t blen);
int sieve_compare_order(int comparator, const char *a, size_t alen, const char *b, size_t blen);
int sieve_relop_holds(int relop, int order);
/* Validate a constant regex at compile time; NULL when fine, else the error text. */
const char *sieve_regex_check(const char *pattern, int comparator);

/* Call fn for each field of the names given (expanded) in each header the node
   looks at (the message, or with :mime the current MIME part and, with
   :anychild, its children), honoring :index / :last (RFC 5260 6). Stops when
   fn returns nonzero and returns that. */
typedef int sieve_field_fn(struct sieve_run *run, void *ctx, const struct message_field *f);
int sieve_for_each_field(struct sieve_run *run, const struct sieve_node *node,
                         const struct sieve_arg *names, sieve_field_fn *fn, void *ctx);

/* ---- flags, addresses, results ---- */

/* Normalize a list of flag strings (space-separated) and merge into/out of a set. */
void sieve_flags_add(struct sbuf *set, const char *flags, size_t len);
void sieve_flags_remove(struct sbuf *set, const char *flags, size_t len);
/* The flags of a set as a sorted array (caller frees each and the array). */
char **sieve_flags_array(const char *set, size_t *n_r);

/* Address parts (RFC 5228 2.7.4, RFC 5233) of one address into out; 0 when absent. */
int sieve_address_part(struct sieve_run *run, int part, const char *local, const char *domain,
                       struct sbuf *out);
/* Parse one address ("a@b" or "Name <a@b>") into normalized "local@domain". */
int sieve_address_normalize(const char *s, size_t len, char *out, size_t outsz);

int sieve_result_add_store(struct sieve_run *run, const char *mailbox, int copy, int create,
                           const char *flags_set);
int sieve_result_add_redirect(struct sieve_run *run, const char *address, int copy);
int sieve_result_add_reject(struct sieve_run *run, const char *reason, int extended);
int sieve_result_add_discard(struct sieve_run *run);
int sieve_result_add_vacation(struct sieve_run *run, struct sieve_vacation *vac);
int sieve_result_add_notify(struct sieve_run *run, struct sieve_notify *notify);
void sieve_result_add_duplicate(struct sieve_run *run, const char *handle, const char *id,
                                uint64_t seconds, int last);
/* At the end of a successful run: the implicit keep, when still in effect. */
int sieve_result_finish(struct sieve_run *run);
/* Drop every action (after a runtime error the caller keeps the message). */
void sieve_result_drop_actions(struct sieve_result *result);
int sieve_utf8_valid(const char *s, size_t len);
void sieve_vacation_free(struct sieve_vacation *vac);
/* At the end of a run: whether a vacation reply is really sent (sieve_ext_vacation.c). */
void sieve_vacation_decide(struct sieve_run *run, struct sieve_vacation *vac);
void sieve_notify_free(struct sieve_notify *notify);

/* ---- extension entry points used by the command table ---- */

int sieve_ext_html_to_text(const char *html, size_t len, struct sbuf *out);
/* Body text of a part for body :text / extracttext (decoded, UTF-8, HTML as text). */
void sieve_part_text(struct sieve_run *run, const struct mime_part *part, struct sbuf *out);

#endif
