/*
 * sieve_parser.c: the grammar of RFC 5228 section 8.2 into a syntax tree.
 *
 *   commands = *command
 *   command  = identifier arguments (";" / block)
 *   block    = "{" commands "}"
 *   arguments = *argument [ test / test-list ]
 *   argument = string-list / number / tag
 *   test     = identifier arguments
 *   test-list = "(" test *("," test) ")"
 *
 * Trust: the script is untrusted. Recursion depth is bounded by max_nesting
 * (blocks and tests counted together), so a script of "((((((" cannot
 * exhaust the stack. The first syntax error stops parsing.
 */
#include "sieve_private.h"

#include <string.h>

struct parser {
	struct sieve_lexer lx;
	struct sieve_token tok; /* the lookahead */
	unsigned int max_nesting;
	const char *error;
	unsigned int err_line, err_col;
};

static int fail(struct parser *p, const char *error)
{
	if (p->error == NULL) {
		p->error = error;
		p->err_line = p->tok.line;
		p->err_col = p->tok.column;
	}
	return -1;
}

static void token_release(struct sieve_token *tok)
{
	free(tok->str);
	tok->str = NULL;
}

static int advance(struct parser *p)
{
	const char *error;

	token_release(&p->tok);
	if (sieve_lexer_next(&p->lx, &p->tok, &error) < 0)
		return fail(p, error);
	return 0;
}

static char *lower_ident(const struct sieve_token *tok)
{
	char *s = xstrndup(tok->text, tok->len);
	ascii_lower(s);
	return s;
}

static void take_string(struct parser *p, struct sieve_string *s)
{
	memset(s, 0, sizeof(*s));
	s->data = p->tok.str;
	s->len = p->tok.str_len;
	s->line = p->tok.line;
	s->column = p->tok.column;
	s->is_const = 1;
	p->tok.str = NULL;
}

static void args_grow(struct sieve_node *node)
{
	/* Grow in powers of two: nargs is a power of two exactly when full. */
	if (node->nargs == 0 || (node->nargs & (node->nargs - 1)) == 0)
		node->args = xrealloc(node->args, (node->nargs == 0 ? 1 : node->nargs * 2) *
		                                      sizeof(*node->args));
}

static int parse_string_list(struct parser *p, struct sieve_arg *arg)
{
	size_t cap = 0;

	arg->kind = ARG_STRLIST;
	if (advance(p) < 0)
		return -1;
	for (;;) {
		if (p->tok.type != TOK_STRING)
			return fail(p, "expected a string in the string list");
		if (arg->nstrs == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			arg->strs = xrealloc(arg->strs, cap * sizeof(*arg->strs));
		}
		take_string(p, &arg->strs[arg->nstrs++]);
		if (advance(p) < 0)
			return -1;
		if (p->tok.type == TOK_RBRACKET)
			return advance(p);
		if (p->tok.type != TOK_COMMA)
			return fail(p, "expected ',' or ']' in the string list");
		if (advance(p) < 0)
			return -1;
	}
}

static int parse_test(struct parser *p, struct sieve_node *node, unsigned int depth);

static int parse_test_list(struct parser *p, struct sieve_node *node, unsigned int depth)
{
	size_t cap = 0;

	node->test_list = 1;
	if (advance(p) < 0)
		return -1;
	for (;;) {
		if (node->ntests == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			node->tests = xrealloc(node->tests, cap * sizeof(*node->tests));
		}
		memset(&node->tests[node->ntests], 0, sizeof(*node->tests));
		node->ntests++;
		if (parse_test(p, &node->tests[node->ntests - 1], depth + 1) < 0)
			return -1;
		if (p->tok.type == TOK_RPAREN)
			return advance(p);
		if (p->tok.type != TOK_COMMA)
			return fail(p, "expected ',' or ')' in the test list");
		if (advance(p) < 0)
			return -1;
	}
}

/* arguments = *argument [ test / test-list ] */
static int parse_arguments(struct parser *p, struct sieve_node *node, unsigned int depth)
{
	for (;;) {
		struct sieve_arg *arg;

		switch (p->tok.type) {
		case TOK_STRING:
		case TOK_NUMBER:
		case TOK_TAG:
		case TOK_LBRACKET:
			break;
		case TOK_IDENT:
			node->tests = xcalloc(1, sizeof(*node->tests));
			node->ntests = 1;
			return parse_test(p, &node->tests[0], depth + 1);
		case TOK_LPAREN:
			return parse_test_list(p, node, depth);
		default:
			return 0;
		}
		args_grow(node);
		arg = &node->args[node->nargs++];
		memset(arg, 0, sizeof(*arg));
		arg->line = p->tok.line;
		arg->column = p->tok.column;
		if (p->tok.type == TOK_LBRACKET) {
			if (parse_string_list(p, arg) < 0)
				return -1;
			continue;
		}
		if (p->tok.type == TOK_STRING) {
			arg->kind = ARG_STRING;
			arg->strs = xmalloc(sizeof(*arg->strs));
			arg->nstrs = 1;
			take_string(p, &arg->strs[0]);
		} else if (p->tok.type == TOK_NUMBER) {
			arg->kind = ARG_NUMBER;
			arg->number = p->tok.number;
		} else {
			arg->kind = ARG_TAG;
			arg->tag = lower_ident(&p->tok);
		}
		if (advance(p) < 0)
			return -1;
	}
}

static int parse_test(struct parser *p, struct sieve_node *node, unsigned int depth)
{
	if (depth > p->max_nesting)
		return fail(p, "tests nested too deeply");
	if (p->tok.type != TOK_IDENT)
		return fail(p, "expected a test");
	node->name = lower_ident(&p->tok);
	node->line = p->tok.line;
	node->column = p->tok.column;
	if (advance(p) < 0)
		return -1;
	return parse_arguments(p, node, depth);
}

static int parse_commands(struct parser *p, struct sieve_node **cmds_r, size_t *n_r,
                          unsigned int depth);

static int parse_command(struct parser *p, struct sieve_node *node, unsigned int depth)
{
	node->name = lower_ident(&p->tok);
	node->line = p->tok.line;
	node->column = p->tok.column;
	if (advance(p) < 0)
		return -1;
	if (parse_arguments(p, node, depth) < 0)
		return -1;
	if (p->tok.type == TOK_SEMICOLON)
		return advance(p);
	if (p->tok.type != TOK_LBRACE)
		return fail(p, "expected ';' or '{' after the command's arguments");
	if (depth + 1 > p->max_nesting)
		return fail(p, "blocks nested too deeply");
	node->has_block = 1;
	if (advance(p) < 0)
		return -1;
	if (parse_commands(p, &node->block, &node->nblock, depth + 1) < 0)
		return -1;
	if (p->tok.type != TOK_RBRACE)
		return fail(p, "expected '}' to close the block");
	return advance(p);
}

static int parse_commands(struct parser *p, struct sieve_node **cmds_r, size_t *n_r,
                          unsigned int depth)
{
	size_t cap = 0;

	*cmds_r = NULL;
	*n_r = 0;
	while (p->tok.type == TOK_IDENT) {
		if (*n_r == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			*cmds_r = xrealloc(*cmds_r, cap * sizeof(**cmds_r));
		}
		memset(&(*cmds_r)[*n_r], 0, sizeof(**cmds_r));
		(*n_r)++;
		if (parse_command(p, &(*cmds_r)[*n_r - 1], depth) < 0)
			return -1;
	}
	return 0;
}

int sieve_parse(const char *src, size_t len, unsigned int max_nesting, struct sieve_node **cmds_r,
                size_t *n_r, unsigned int *line_r, unsigned int *col_r, const char **error_r)
{
	struct parser p;
	int r;

	memset(&p, 0, sizeof(p));
	p.max_nesting = max_nesting;
	sieve_lexer_init(&p.lx, src, len);
	*cmds_r = NULL;
	*n_r = 0;
	r = advance(&p);
	if (r == 0)
		r = parse_commands(&p, cmds_r, n_r, 0);
	if (r == 0 && p.tok.type != TOK_EOF)
		r = fail(&p, p.tok.type == TOK_RBRACE ? "unexpected '}'" : "expected a command");
	token_release(&p.tok);
	if (r < 0) {
		sieve_nodes_free(*cmds_r, *n_r);
		*cmds_r = NULL;
		*n_r = 0;
		*error_r = p.error;
		*line_r = p.err_line;
		*col_r = p.err_col;
		return -1;
	}
	return 0;
}

static void string_free(struct sieve_string *s)
{
	size_t i;

	free(s->data);
	for (i = 0; i < s->nsegs; i++)
		free(s->segs[i].text);
	free(s->segs);
}

static void node_clear(struct sieve_node *node)
{
	size_t i, j;

	free(node->name);
	for (i = 0; i < node->nargs; i++) {
		for (j = 0; j < node->args[i].nstrs; j++)
			string_free(&node->args[i].strs[j]);
		free(node->args[i].strs);
		free(node->args[i].tag);
	}
	free(node->args);
	free(node->tagvals);
	sieve_nodes_free(node->tests, node->ntests);
	sieve_nodes_free(node->block, node->nblock);
}

void sieve_nodes_free(struct sieve_node *nodes, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		node_clear(&nodes[i]);
	free(nodes);
}
