/*
 * sieve_validate.c: turns a parsed script into a checked program, driven by
 * the command table: commands and tests must exist and be enabled by
 * require (RFC 5228 3.2), tagged arguments must be known, unique and come
 * first, positional arguments must have the right number and types, blocks
 * and test lists must be where they belong, comparators and match types
 * must be known and compatible (RFC 5228 2.7, RFC 5231), and each command's
 * own rules are checked by its validate function.
 *
 * Errors name the line and column and validation goes on after one so an
 * upload reports several at once (up to max_errors). The node fields filled
 * here (def, tags, pos, comparator ...) are what the interpreter reads.
 */
#include "sieve_private.h"
#include "sieve_commands.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sieve_vc_error(struct sieve_vctx *vc, unsigned int line, unsigned int column, const char *fmt,
                   ...)
{
	struct sieve_errors *errors = vc->state->errors;
	struct sieve_error *e;
	char buf[512];
	va_list ap;

	if (errors->count >= vc->opts->max_errors)
		return -1;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	errors->items = xrealloc(errors->items, (errors->count + 1) * sizeof(*errors->items));
	e = &errors->items[errors->count++];
	e->line = line;
	e->column = column;
	e->script = vc->prog->name != NULL ? xstrdup(vc->prog->name) : NULL;
	e->message = xstrdup(buf);
	return -1;
}

int sieve_vc_has(const struct sieve_vctx *vc, int ext)
{
	return ext < 0 || (vc->required & EXT_BIT(ext)) != 0;
}

static int too_many_errors(const struct sieve_vctx *vc)
{
	return vc->state->errors->count >= vc->opts->max_errors;
}

static const char *kind_name(int kind)
{
	return kind == KIND_TEST ? "test" : "command";
}

/* Find a tag among those a command accepts (with its extension enabled). */
static int find_tag(const struct sieve_vctx *vc, const struct sieve_cmd_def *def, const char *name)
{
	const struct sieve_tag_use *u;

	for (u = def->tags; u->tag >= 0; u++) {
		if (strcmp(sieve_tag_defs[u->tag].name, name) == 0 && sieve_vc_has(vc, u->ext))
			return u->tag;
	}
	return -1;
}

static int validate_tags_and_positionals(struct sieve_vctx *vc, struct sieve_node *node)
{
	const struct sieve_cmd_def *def = node->def;
	unsigned int offset, i;
	size_t a;

	for (a = 0; a < node->nargs; a++) {
		struct sieve_arg *arg = &node->args[a];
		const struct sieve_tag_def *td;
		int tag;

		if (arg->kind != ARG_TAG) {
			if (node->npos >= ARRAY_SIZE(node->pos) || node->npos >= def->pos_max)
				return sieve_vc_error(vc, arg->line, arg->column,
				                      "too many arguments for the %s %s",
				                      node->name, kind_name(def->kind));
			node->pos[node->npos++] = arg;
			continue;
		}
		if (node->npos > 0)
			return sieve_vc_error(vc, arg->line, arg->column,
			                      "tagged argument :%s after the positional "
			                      "arguments of %s",
			                      arg->tag, node->name);
		tag = find_tag(vc, def, arg->tag);
		if (tag < 0)
			return sieve_vc_error(vc, arg->line, arg->column,
			                      "unknown tagged argument :%s for %s", arg->tag,
			                      node->name);
		td = &sieve_tag_defs[tag];
		if (NODE_HAS(node, tag))
			return sieve_vc_error(vc, arg->line, arg->column,
			                      "tagged argument :%s given twice", arg->tag);
		if (td->group != G_NONE) {
			for (i = 0; i < TAG_MAX; i++) {
				if (NODE_HAS(node, i) && sieve_tag_defs[i].group == td->group)
					return sieve_vc_error(vc, arg->line, arg->column,
					                      ":%s cannot be used with :%s",
					                      arg->tag, sieve_tag_defs[i].name);
			}
		}
		node->tags |= UINT64_C(1) << tag;
		node->tagvals =
		    xrealloc(node->tagvals, (node->ntagvals + 1) * sizeof(*node->tagvals));
		node->tagvals[node->ntagvals].tag = (uint8_t)tag;
		node->tagvals[node->ntagvals].arg = NULL;
		node->ntagvals++;
		if (td->param == TP_NONE)
			continue;
		if (a + 1 >= node->nargs)
			return sieve_vc_error(vc, arg->line, arg->column, ":%s needs an argument",
			                      arg->tag);
		a++;
		if ((td->param == TP_NUMBER && node->args[a].kind != ARG_NUMBER) ||
		    (td->param == TP_STRING && node->args[a].kind != ARG_STRING) ||
		    (td->param == TP_STRLIST && node->args[a].kind != ARG_STRING &&
		     node->args[a].kind != ARG_STRLIST))
			return sieve_vc_error(vc, node->args[a].line, node->args[a].column,
			                      ":%s needs a %s argument", arg->tag,
			                      td->param == TP_NUMBER   ? "number"
			                      : td->param == TP_STRING ? "string"
			                                               : "string-list");
		node->tagvals[node->ntagvals - 1].arg = &node->args[a];
	}
	if (node->npos < def->pos_min)
		return sieve_vc_error(vc, node->line, node->column,
		                      "the %s %s needs %u positional argument%s, %u given",
		                      node->name, kind_name(def->kind), def->pos_min,
		                      def->pos_min == 1 ? "" : "s", node->npos);
	offset = def->opt_leading ? def->pos_max - node->npos : 0;
	for (i = 0; i < node->npos; i++) {
		char want = def->pos_types[i + offset];
		enum sieve_arg_kind k = node->pos[i]->kind;
		if ((want == 'N' && k != ARG_NUMBER) || (want == 'S' && k != ARG_STRING) ||
		    (want == 'L' && k != ARG_STRING && k != ARG_STRLIST))
			return sieve_vc_error(vc, node->pos[i]->line, node->pos[i]->column,
			                      "argument %u of %s must be a %s", i + 1, node->name,
			                      want == 'N'   ? "number"
			                      : want == 'S' ? "string"
			                                    : "string or string-list");
	}
	return 0;
}

/* RFC 5228 2.7.3 comparators, 2.7.1 match types, RFC 5231 relational operators. */
static int validate_match(struct sieve_vctx *vc, struct sieve_node *node)
{
	static const char *const relops[] = {"gt", "ge", "lt", "le", "eq", "ne"};
	struct sieve_arg *arg;
	size_t i;

	/* RFC 5228 2.7.3: i;ascii-casemap by default. The string test (RFC 5229 5)
	   compares octets by default, as Pigeonhole does. */
	node->comparator = strcmp(node->name, "string") == 0 ? CMP_OCTET : CMP_CASEMAP;
	node->match_type = MT_IS;
	node->addrpart = AP_ALL;
	if ((arg = sieve_node_tag(node, TAG_COMPARATOR)) != NULL) {
		const char *name = arg->strs[0].data;
		if (strcmp(name, "i;octet") == 0)
			node->comparator = CMP_OCTET;
		else if (strcmp(name, "i;ascii-casemap") == 0)
			node->comparator = CMP_CASEMAP;
		else if (strcmp(name, "i;ascii-numeric") == 0 &&
		         sieve_vc_has(vc, SIEVE_EXT_COMPARATOR_NUMERIC))
			node->comparator = CMP_NUMERIC;
		else
			return sieve_vc_error(vc, arg->line, arg->column, "unknown comparator '%s'",
			                      name);
	}
	if (NODE_HAS(node, TAG_CONTAINS))
		node->match_type = MT_CONTAINS;
	else if (NODE_HAS(node, TAG_MATCHES))
		node->match_type = MT_MATCHES;
	else if (NODE_HAS(node, TAG_REGEX))
		node->match_type = MT_REGEX;
	else if (NODE_HAS(node, TAG_VALUE) || NODE_HAS(node, TAG_COUNT)) {
		int count = NODE_HAS(node, TAG_COUNT);
		arg = sieve_node_tag(node, count ? TAG_COUNT : TAG_VALUE);
		node->match_type = count ? MT_COUNT : MT_VALUE;
		for (i = 0; i < ARRAY_SIZE(relops); i++) {
			if (strcmp(arg->strs[0].data, relops[i]) == 0)
				break;
		}
		if (i == ARRAY_SIZE(relops))
			return sieve_vc_error(vc, arg->line, arg->column,
			                      "relational operator must be one of gt, ge, lt, le, "
			                      "eq or ne");
		node->relop = (uint8_t)i;
	}
	if (node->comparator == CMP_NUMERIC &&
	    (node->match_type == MT_CONTAINS || node->match_type == MT_MATCHES ||
	     node->match_type == MT_REGEX))
		return sieve_vc_error(vc, node->line, node->column,
		                      "the i;ascii-numeric comparator supports only :is, :value "
		                      "and :count");
	if (node->match_type == MT_REGEX && node->npos > 0) {
		struct sieve_arg *keys = node->pos[node->npos - 1];
		for (i = 0; i < keys->nstrs; i++) {
			const char *err;
			if (!keys->strs[i].is_const)
				continue;
			err = sieve_regex_check(keys->strs[i].data, node->comparator);
			if (err != NULL)
				return sieve_vc_error(vc, keys->strs[i].line, keys->strs[i].column,
				                      "invalid regular expression: %s", err);
		}
	}
	if (NODE_HAS(node, TAG_LOCALPART))
		node->addrpart = AP_LOCALPART;
	else if (NODE_HAS(node, TAG_DOMAIN))
		node->addrpart = AP_DOMAIN;
	else if (NODE_HAS(node, TAG_USER))
		node->addrpart = AP_USER;
	else if (NODE_HAS(node, TAG_DETAIL))
		node->addrpart = AP_DETAIL;
	return 0;
}

/* Compile the strings of a node; the comparator and relational names stay literal. */
static int compile_strings(struct sieve_vctx *vc, struct sieve_node *node)
{
	size_t a, i;
	int r = 0;

	if (strcmp(node->name, "require") == 0 || strcmp(node->name, "ihave") == 0)
		return 0;
	for (a = 0; a < node->nargs; a++) {
		struct sieve_arg *arg = &node->args[a];
		if (arg->kind != ARG_STRING && arg->kind != ARG_STRLIST)
			continue;
		if (a > 0 && node->args[a - 1].kind == ARG_TAG &&
		    (strcmp(node->args[a - 1].tag, "comparator") == 0 ||
		     strcmp(node->args[a - 1].tag, "value") == 0 ||
		     strcmp(node->args[a - 1].tag, "count") == 0))
			continue;
		for (i = 0; i < arg->nstrs; i++) {
			if (sieve_string_compile(vc, &arg->strs[i]) < 0)
				r = -1;
		}
	}
	return r;
}

static int validate_node(struct sieve_vctx *vc, struct sieve_node *node, int kind);

static int validate_tests(struct sieve_vctx *vc, struct sieve_node *node)
{
	const struct sieve_cmd_def *def = node->def;
	size_t i;

	if (def->tests == 0 && node->ntests > 0)
		return sieve_vc_error(vc, node->line, node->column, "the %s %s takes no tests",
		                      node->name, kind_name(def->kind));
	if (def->tests == 1 && (node->ntests != 1 || node->test_list))
		return sieve_vc_error(vc, node->line, node->column,
		                      "the %s %s needs exactly one test", node->name,
		                      kind_name(def->kind));
	if (def->tests == 2 && !node->test_list)
		return sieve_vc_error(vc, node->line, node->column,
		                      "the %s test needs a list of tests in parentheses",
		                      node->name);
	for (i = 0; i < node->ntests; i++) {
		if (validate_node(vc, &node->tests[i], KIND_TEST) < 0)
			return -1;
	}
	return 0;
}

static int validate_node(struct sieve_vctx *vc, struct sieve_node *node, int kind)
{
	const struct sieve_cmd_def *def = sieve_command_find(node->name, kind);
	uint64_t saved = vc->required;
	unsigned int saved_loops = vc->loop_depth;
	int r;

	if (def == NULL || !sieve_vc_has(vc, def->ext)) {
		if (def == NULL && sieve_command_find(node->name, !kind) != NULL)
			return sieve_vc_error(vc, node->line, node->column,
			                      "'%s' is a %s, not a %s", node->name,
			                      kind_name(!kind), kind_name(kind));
		return sieve_vc_error(
		    vc, node->line, node->column, "unknown %s '%s'%s%s%s", kind_name(kind),
		    node->name, def != NULL ? " (require \"" : "",
		    def != NULL ? sieve_extension_name(def->ext) : "", def != NULL ? "\")" : "");
	}
	node->def = def;
	if (validate_tags_and_positionals(vc, node) < 0)
		return -1;
	if (validate_tests(vc, node) < 0)
		return -1;
	if (def->block && !node->has_block)
		return sieve_vc_error(vc, node->line, node->column, "the %s command needs a block",
		                      node->name);
	if (!def->block && node->has_block)
		return sieve_vc_error(vc, node->line, node->column,
		                      "the %s command does not take a block", node->name);
	r = compile_strings(vc, node);
	if (r == 0)
		r = validate_match(vc, node);
	if (r == 0 && def->validate != NULL)
		r = def->validate(vc, node);
	if (r == 0 && node->has_block && !node->skip) {
		r = sieve_validate_block(vc, node->block, node->nblock);
	}
	if (strcmp(node->name, "require") != 0)
		vc->required = saved;
	vc->loop_depth = saved_loops;
	return r;
}

int sieve_validate_block(struct sieve_vctx *vc, struct sieve_node *nodes, size_t n)
{
	int r = 0, allowed = vc->require_allowed;
	size_t i;

	vc->require_allowed = 0;
	for (i = 0; i < n && !too_many_errors(vc); i++) {
		struct sieve_node *node = &nodes[i];
		if (strcmp(node->name, "require") == 0 && !allowed) {
			r = sieve_vc_error(vc, node->line, node->column,
			                   "require must come before any other command, at the "
			                   "top level");
			continue;
		}
		if (strcmp(node->name, "require") != 0)
			allowed = 0;
		if ((strcmp(node->name, "elsif") == 0 || strcmp(node->name, "else") == 0) &&
		    (i == 0 || (strcmp(nodes[i - 1].name, "if") != 0 &&
		                strcmp(nodes[i - 1].name, "elsif") != 0))) {
			r = sieve_vc_error(vc, node->line, node->column,
			                   "%s without a preceding if", node->name);
			continue;
		}
		vc->require_allowed = allowed;
		if (validate_node(vc, node, KIND_COMMAND) < 0)
			r = -1;
		vc->require_allowed = 0;
	}
	if (too_many_errors(vc))
		r = -1;
	return r;
}

/* Extensions a capability also makes usable (RFC 6131, RFC 5235 3.2). */
static uint64_t implied(int ext)
{
	if (ext == SIEVE_EXT_VACATION_SECONDS)
		return EXT_BIT(SIEVE_EXT_VACATION);
	if (ext == SIEVE_EXT_SPAMTESTPLUS)
		return EXT_BIT(SIEVE_EXT_SPAMTEST);
	return 0;
}

/* Look up a capability name among the enabled extensions; -1 when unknown. */
int sieve_vc_capability(const struct sieve_vctx *vc, const char *name)
{
	int ext;

	for (ext = 0; ext < SIEVE_EXT_COUNT; ext++) {
		if (strcmp(sieve_extension_name(ext), name) == 0 &&
		    (vc->enabled & EXT_BIT(ext)) != 0)
			return ext;
	}
	return -1;
}

SIEVE_VALIDATE(require)
{
	struct sieve_arg *list = node->pos[0];
	int r = 0, ext;
	size_t i;

	for (i = 0; i < list->nstrs; i++) {
		ext = sieve_vc_capability(vc, list->strs[i].data);
		if (ext < 0) {
			r = sieve_vc_error(vc, list->strs[i].line, list->strs[i].column,
			                   "unknown extension '%s' in require", list->strs[i].data);
			continue;
		}
		vc->required |= EXT_BIT(ext) | implied(ext);
		vc->prog->required |= EXT_BIT(ext) | implied(ext);
	}
	if (r == 0 && (vc->required & EXT_BIT(SIEVE_EXT_EXTRACTTEXT)) &&
	    !(vc->required & EXT_BIT(SIEVE_EXT_VARIABLES)))
		r = sieve_vc_error(vc, node->line, node->column,
		                   "extracttext cannot be used without variables");
	/* validate_node restores vc->required after each node; require must stick. */
	return r;
}

/* Walk an if's test for ihave tests: what they enable, and whether one that fails
   makes the block unreachable (RFC 5463 4: its block need not be valid). */
static void ihave_scan(const struct sieve_node *test, int direct, uint64_t *mask, int *dead)
{
	size_t i;

	if (strcmp(test->name, "ihave") == 0) {
		if (test->ihave_ok)
			*mask |= test->ihave_mask;
		else if (direct)
			*dead = 1;
		return;
	}
	for (i = 0; i < test->ntests; i++)
		ihave_scan(&test->tests[i], direct && strcmp(test->name, "allof") == 0, mask, dead);
}

SIEVE_VALIDATE(if)
{
	uint64_t mask = 0;
	int dead = 0;
	size_t i;

	for (i = 0; i < node->ntests; i++)
		ihave_scan(&node->tests[i], 1, &mask, &dead);
	if (dead)
		node->skip = 1;
	for (i = 0; i < SIEVE_EXT_COUNT; i++) {
		if (mask & EXT_BIT(i))
			mask |= implied((int)i);
	}
	vc->required |= mask;
	return 0;
}
