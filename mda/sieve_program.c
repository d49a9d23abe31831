/*
 * sieve_program.c: sieve_compile() and what surrounds it: the extension
 * names, compile options, the script size limit, compiling included scripts
 * (RFC 6609) once each through the caller's loader with recursion, depth and
 * count limits, and freeing programs and error lists.
 *
 * Includes are resolved at compile time, so a compiled program is complete
 * and immutable: the main program owns every script it includes, directly
 * or not, and each appears once however often it is included.
 */
#include "sieve_private.h"

#include <string.h>

static const char *const ext_names[SIEVE_EXT_COUNT] = {
    [SIEVE_EXT_FILEINTO] = "fileinto",
    [SIEVE_EXT_REJECT] = "reject",
    [SIEVE_EXT_EREJECT] = "ereject",
    [SIEVE_EXT_ENVELOPE] = "envelope",
    [SIEVE_EXT_ENCODED_CHARACTER] = "encoded-character",
    [SIEVE_EXT_VARIABLES] = "variables",
    [SIEVE_EXT_RELATIONAL] = "relational",
    [SIEVE_EXT_COMPARATOR_NUMERIC] = "comparator-i;ascii-numeric",
    [SIEVE_EXT_COMPARATOR_OCTET] = "comparator-i;octet",
    [SIEVE_EXT_COMPARATOR_CASEMAP] = "comparator-i;ascii-casemap",
    [SIEVE_EXT_SUBADDRESS] = "subaddress",
    [SIEVE_EXT_COPY] = "copy",
    [SIEVE_EXT_IMAP4FLAGS] = "imap4flags",
    [SIEVE_EXT_BODY] = "body",
    [SIEVE_EXT_VACATION] = "vacation",
    [SIEVE_EXT_VACATION_SECONDS] = "vacation-seconds",
    [SIEVE_EXT_DATE] = "date",
    [SIEVE_EXT_INDEX] = "index",
    [SIEVE_EXT_MAILBOX] = "mailbox",
    [SIEVE_EXT_EDITHEADER] = "editheader",
    [SIEVE_EXT_DUPLICATE] = "duplicate",
    [SIEVE_EXT_INCLUDE] = "include",
    [SIEVE_EXT_REGEX] = "regex",
    [SIEVE_EXT_ENOTIFY] = "enotify",
    [SIEVE_EXT_ENVIRONMENT] = "environment",
    [SIEVE_EXT_IHAVE] = "ihave",
    [SIEVE_EXT_MIME] = "mime",
    [SIEVE_EXT_FOREVERYPART] = "foreverypart",
    [SIEVE_EXT_EXTRACTTEXT] = "extracttext",
    [SIEVE_EXT_SPAMTEST] = "spamtest",
    [SIEVE_EXT_SPAMTESTPLUS] = "spamtestplus",
    [SIEVE_EXT_VIRUSTEST] = "virustest",
};

struct sieve_include_entry {
	enum sieve_script_location location;
	char *name;
	struct sieve_program *prog; /* NULL while it is being compiled */
};

const char *sieve_extension_name(enum sieve_extension ext)
{
	return (unsigned int)ext < SIEVE_EXT_COUNT ? ext_names[ext] : "";
}

int sieve_extensions_parse(const char *list, uint64_t *mask_r, const char **error_r)
{
	char *copy = xstrdup(list), *save = NULL, *word;
	uint64_t mask = 0;
	int ext;

	for (word = strtok_r(copy, " \t,", &save); word != NULL;
	     word = strtok_r(NULL, " \t,", &save)) {
		for (ext = 0; ext < SIEVE_EXT_COUNT; ext++) {
			if (strcmp(ext_names[ext], word) == 0)
				break;
		}
		if (ext == SIEVE_EXT_COUNT) {
			*error_r = errorf("unknown Sieve extension '%s'", word);
			free(copy);
			return -1;
		}
		mask |= EXT_BIT(ext);
	}
	free(copy);
	*mask_r = mask;
	return 0;
}

void sieve_extensions_string(uint64_t mask, struct sbuf *out)
{
	int ext;

	for (ext = 0; ext < SIEVE_EXT_COUNT; ext++) {
		if ((mask & EXT_BIT(ext)) == 0)
			continue;
		if (out->len > 0)
			sbuf_append_str(out, " ");
		sbuf_append_str(out, ext_names[ext]);
	}
}

void sieve_compile_options_default(struct sieve_compile_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->extensions = SIEVE_EXT_ALL;
	opts->max_script_size = 1024 * 1024;
	opts->max_nesting = 32;
	opts->max_include_depth = 10;
	opts->max_includes = 32;
	opts->max_variables = 255;
	opts->max_errors = 10;
}

void sieve_errors_clear(struct sieve_errors *errors)
{
	size_t i;

	for (i = 0; i < errors->count; i++) {
		free(errors->items[i].script);
		free(errors->items[i].message);
	}
	free(errors->items);
	memset(errors, 0, sizeof(*errors));
}

void sieve_errors_format(const struct sieve_errors *errors, struct sbuf *out)
{
	size_t i;

	for (i = 0; i < errors->count; i++) {
		const struct sieve_error *e = &errors->items[i];
		if (e->script != NULL)
			sbuf_appendf(out, "%s: ", e->script);
		if (e->line > 0)
			sbuf_appendf(out, "line %u, column %u: ", e->line, e->column);
		sbuf_appendf(out, "%s\n", e->message);
	}
}

static void add_error(struct sieve_compile_state *state, const char *script, unsigned int line,
                      unsigned int column, const char *message)
{
	struct sieve_error *e;

	if (state->errors->count >= state->opts->max_errors)
		return;
	state->errors->items =
	    xrealloc(state->errors->items, (state->errors->count + 1) * sizeof(*e));
	e = &state->errors->items[state->errors->count++];
	e->line = line;
	e->column = column;
	e->script = script != NULL ? xstrdup(script) : NULL;
	e->message = xstrdup(message);
}

static void program_free(struct sieve_program *prog)
{
	size_t i;

	sieve_nodes_free(prog->commands, prog->ncommands);
	for (i = 0; i < prog->nlocals; i++)
		free(prog->locals[i]);
	free(prog->locals);
	if (prog->is_main) {
		for (i = 0; i < prog->nglobals; i++)
			free(prog->globals[i]);
		free(prog->globals);
		for (i = 0; i < prog->nincluded; i++)
			program_free(prog->included[i]);
		free(prog->included);
	}
	free(prog->name);
	free(prog);
}

static struct sieve_program *compile_script(struct sieve_compile_state *state, const char *src,
                                            size_t len, const char *name, unsigned int depth)
{
	struct sieve_program *prog = xcalloc(1, sizeof(*prog));
	struct sieve_vctx vc;
	const char *error;
	unsigned int line, column;
	size_t i;

	prog->name = name != NULL ? xstrdup(name) : NULL;
	if (state->main == NULL) {
		prog->is_main = 1;
		state->main = prog;
	}
	if (len > state->opts->max_script_size) {
		add_error(state, name, 0, 0, "script too large");
		return prog;
	}
	if (sieve_parse(src, len, state->opts->max_nesting, &prog->commands, &prog->ncommands,
	                &line, &column, &error) < 0) {
		add_error(state, name, line, column, error);
		return prog;
	}
	memset(&vc, 0, sizeof(vc));
	vc.opts = state->opts;
	vc.state = state;
	vc.prog = prog;
	vc.enabled = state->opts->extensions;
	vc.require_allowed = 1;
	vc.include_depth = depth;
	sieve_validate_block(&vc, prog->commands, prog->ncommands);
	for (i = 0; i < vc.ndeclared_globals; i++)
		free(vc.declared_globals[i]);
	free(vc.declared_globals);
	return prog;
}

int sieve_compile_include(struct sieve_vctx *vc, struct sieve_node *node,
                          enum sieve_script_location loc, const char *name, int optional,
                          const struct sieve_program **prog_r)
{
	struct sieve_compile_state *state = vc->state;
	struct sieve_program *main = state->main, *prog;
	const char *error = NULL;
	char *data = NULL;
	size_t i, len = 0;
	int r;

	*prog_r = NULL;
	for (i = 0; i < state->nincludes; i++) {
		if (state->includes[i].location == loc &&
		    strcmp(state->includes[i].name, name) == 0) {
			if (state->includes[i].prog == NULL)
				return sieve_vc_error(vc, node->line, node->column,
				                      "script '%s' includes itself (recursion)",
				                      name);
			*prog_r = state->includes[i].prog;
			return 0;
		}
	}
	if (vc->include_depth + 1 > state->opts->max_include_depth)
		return sieve_vc_error(vc, node->line, node->column,
		                      "includes nested more than %u deep",
		                      state->opts->max_include_depth);
	if (state->nincludes >= state->opts->max_includes)
		return sieve_vc_error(vc, node->line, node->column, "more than %u scripts included",
		                      state->opts->max_includes);
	if (state->opts->include_loader == NULL)
		r = 0;
	else
		r = state->opts->include_loader(state->opts->include_ctx, loc, name, &data, &len,
		                                &error);
	if (r < 0)
		return sieve_vc_error(vc, node->line, node->column, "cannot load script '%s': %s",
		                      name, error != NULL ? error : "error");
	if (r == 0) {
		if (optional)
			return 0;
		return sieve_vc_error(vc, node->line, node->column,
		                      "included script '%s' not found", name);
	}
	state->includes =
	    xrealloc(state->includes, (state->nincludes + 1) * sizeof(*state->includes));
	state->includes[state->nincludes].location = loc;
	state->includes[state->nincludes].name = xstrdup(name);
	state->includes[state->nincludes].prog = NULL;
	state->nincludes++;
	prog = compile_script(state, data, len, name, vc->include_depth + 1);
	free(data);
	main->included = xrealloc(main->included, (main->nincluded + 1) * sizeof(*main->included));
	prog->include_id = (unsigned int)main->nincluded;
	main->included[main->nincluded++] = prog;
	for (i = 0; i < state->nincludes; i++) {
		if (state->includes[i].location == loc &&
		    strcmp(state->includes[i].name, name) == 0)
			state->includes[i].prog = prog;
	}
	*prog_r = prog;
	return 0;
}

int sieve_compile(const char *script, size_t len, const struct sieve_compile_options *opts,
                  struct sieve_program **program_r, struct sieve_errors *errors_r)
{
	struct sieve_compile_options o;
	struct sieve_compile_state state;
	struct sieve_program *prog;
	size_t i;

	if (opts != NULL)
		o = *opts;
	else
		sieve_compile_options_default(&o);
	/* Limits of 0 would hide errors or refuse every script: use at least 1. */
	if (o.max_errors == 0)
		o.max_errors = 1;
	if (o.max_nesting == 0)
		o.max_nesting = 1;
	opts = &o;
	memset(errors_r, 0, sizeof(*errors_r));
	memset(&state, 0, sizeof(state));
	state.opts = opts;
	state.errors = errors_r;
	prog = compile_script(&state, script, len, NULL, 0);
	for (i = 0; i < state.nincludes; i++)
		free(state.includes[i].name);
	free(state.includes);
	if (errors_r->count > 0) {
		program_free(prog);
		*program_r = NULL;
		return -1;
	}
	*program_r = prog;
	return 0;
}

void sieve_program_free(struct sieve_program **program)
{
	if (*program == NULL)
		return;
	program_free(*program);
	*program = NULL;
}
