/*
 * sieve_ext_include.c: include, return and global (RFC 6609). Included
 * scripts are compiled with the including one (sieve_program.c), so a
 * missing script, a recursive include or a too deep chain is a compile
 * error; ":optional" turns "not found" into nothing. At run time an included
 * script gets fresh local variables; variables declared "global" (or named
 * "global.x") are shared by every script of the run.
 */
#include "sieve_private.h"
#include "sieve_commands.h"

#include <string.h>

SIEVE_VALIDATE(include)
{
	const struct sieve_string *name = &node->pos[0]->strs[0];
	enum sieve_script_location loc =
	    NODE_HAS(node, TAG_GLOBAL) ? SIEVE_LOCATION_GLOBAL : SIEVE_LOCATION_PERSONAL;

	/* RFC 6609 3.2: the name is a constant; it names a script, not a path. */
	if (!name->is_const)
		return sieve_vc_error(vc, name->line, name->column,
		                      "include: the script name must be a constant string");
	if (name->len == 0 || memchr(name->data, '/', name->len) != NULL ||
	    memchr(name->data, '\0', name->len) != NULL || !sieve_utf8_valid(name->data, name->len))
		return sieve_vc_error(vc, name->line, name->column,
		                      "include: invalid script name '%s'", name->data);
	return sieve_compile_include(vc, node, loc, name->data, NODE_HAS(node, TAG_OPTIONAL),
	                             &node->include);
}

SIEVE_VALIDATE(global)
{
	struct sieve_arg *names = node->pos[0];
	size_t i;
	int j;

	if (!sieve_vc_has(vc, SIEVE_EXT_VARIABLES))
		return sieve_vc_error(vc, node->line, node->column,
		                      "global needs require \"variables\"");
	for (i = 0; i < names->nstrs; i++) {
		const struct sieve_string *s = &names->strs[i];
		char *lower;
		if (!s->is_const || !sieve_identifier_valid(s->data, s->len))
			return sieve_vc_error(vc, s->line, s->column,
			                      "invalid global variable name");
		lower = xstrndup(s->data, s->len);
		ascii_lower(lower);
		for (j = 0; j < (int)vc->prog->nlocals; j++) {
			if (strcmp(vc->prog->locals[j], lower) == 0) {
				free(lower);
				return sieve_vc_error(vc, s->line, s->column,
				                      "global variable '%s' was already used as a "
				                      "local variable",
				                      s->data);
			}
		}
		vc->declared_globals =
		    xrealloc(vc->declared_globals, (vc->ndeclared_globals + 1) * sizeof(char *));
		vc->declared_globals[vc->ndeclared_globals++] = lower;
		if (sieve_global_index(vc, lower, s->line, s->column) < 0)
			return -1;
	}
	return 0;
}

SIEVE_EXEC(include)
{
	const struct sieve_program *inc = node->include;

	if (inc == NULL)
		return EXEC_OK; /* :optional and not there */
	if (NODE_HAS(node, TAG_ONCE)) {
		if (run->once_done[inc->include_id])
			return EXEC_OK;
	}
	run->once_done[inc->include_id] = 1;
	return sieve_exec_program(run, inc);
}

SIEVE_EXEC(return )
{
	(void)run;
	(void)node;
	return EXEC_RETURN;
}
