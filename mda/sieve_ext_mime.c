/*
 * sieve_ext_mime.c: foreverypart and break (RFC 5703 3) and extracttext
 * (RFC 5703 7). The :mime options of header, address and exists live in
 * sieve_tests.c, which reads the loop position kept here.
 *
 * An outermost loop visits the message itself and then every part below
 * it, depth first; a nested loop visits the parts below the current one.
 * Loops nest at most max_foreverypart_depth deep and visit at most the
 * MIME part limit, so a run stays bounded.
 */
#include "sieve_private.h"
#include "sieve_commands.h"

#include <string.h>

SIEVE_VALIDATE(foreverypart)
{
	struct sieve_arg *name = sieve_node_tag(node, TAG_NAME);

	if (vc->loop_depth >= SIEVE_MAX_LOOP_NESTING)
		return sieve_vc_error(vc, node->line, node->column,
		                      "foreverypart loops nested more than %d deep",
		                      SIEVE_MAX_LOOP_NESTING);
	if (name != NULL && !name->strs[0].is_const)
		return sieve_vc_error(vc, name->line, name->column,
		                      "the loop name must be a constant string");
	vc->loop_names[vc->loop_depth++] = name != NULL ? name->strs[0].data : NULL;
	return 0;
}

SIEVE_VALIDATE(break)
{
	struct sieve_arg *name = sieve_node_tag(node, TAG_NAME);
	unsigned int i;

	if (vc->loop_depth == 0)
		return sieve_vc_error(vc, node->line, node->column,
		                      "break outside a foreverypart loop");
	if (name == NULL)
		return 0;
	if (!name->strs[0].is_const)
		return sieve_vc_error(vc, name->line, name->column,
		                      "the loop name must be a constant string");
	for (i = 0; i < vc->loop_depth; i++) {
		if (vc->loop_names[i] != NULL && strcmp(vc->loop_names[i], name->strs[0].data) == 0)
			return 0;
	}
	return sieve_vc_error(vc, name->line, name->column, "no enclosing loop named '%s'",
	                      name->strs[0].data);
}

SIEVE_VALIDATE(extracttext)
{
	int t;

	if (vc->loop_depth == 0)
		return sieve_vc_error(vc, node->line, node->column,
		                      "extracttext outside a foreverypart loop");
	for (t = TAG_LOWER; t <= TAG_LENGTH; t++) {
		if (NODE_HAS(node, t))
			node->modifiers |= 1u << (t - TAG_LOWER);
	}
	return sieve_variable_target(vc, &node->pos[0]->strs[0], node);
}

SIEVE_EXEC(foreverypart)
{
	struct sieve_arg *name = sieve_node_tag(node, TAG_NAME);
	const struct mime_part *top, *p;
	unsigned int depth = run->loop_depth;
	int r = EXEC_OK;

	if (depth >= run->env->limits.max_foreverypart_depth || depth >= SIEVE_MAX_LOOP_DEPTH)
		return sieve_run_error(run, "foreverypart loops nested too deeply");
	if (depth > 0) {
		top = run->loop_part[depth - 1];
		p = mime_part_next(top, top);
	} else {
		top = sieve_run_mime(run);
		p = top;
	}
	for (; p != NULL; p = mime_part_next(p, top)) {
		run->loop_part[depth] = p;
		run->loop_depth = depth + 1;
		r = sieve_exec_block(run, node->block, node->nblock);
		run->loop_depth = depth;
		if (r == EXEC_BREAK) {
			if (run->break_name == NULL ||
			    (name != NULL && strcmp(run->break_name, name->strs[0].data) == 0)) {
				run->break_name = NULL;
				r = EXEC_OK;
			}
			break;
		}
		if (r != EXEC_OK)
			break;
	}
	return r;
}

SIEVE_EXEC(break)
{
	struct sieve_arg *name = sieve_node_tag(node, TAG_NAME);

	run->break_name = name != NULL ? name->strs[0].data : NULL;
	return EXEC_BREAK;
}

SIEVE_EXEC(extracttext)
{
	struct sieve_arg *first = sieve_node_tag(node, TAG_FIRST);
	struct sbuf text = {0};
	struct sbuf *var;

	if (run->loop_depth == 0)
		return EXEC_OK;
	sieve_part_text(run, run->loop_part[run->loop_depth - 1], &text);
	if (first != NULL) {
		/* :first counts characters, never splitting one. */
		size_t i = 0;
		uint64_t chars = 0;
		while (i < text.len && chars < first->number) {
			i += mime_utf8_char_len(text.data + i, text.len - i);
			chars++;
		}
		text.len = i;
		text.data[i] = '\0';
	}
	sieve_apply_modifiers(node->modifiers, &text);
	var = sieve_variable(run, node->var_kind, node->var_index);
	if (var != NULL)
		sieve_variable_set(run, var, sbuf_str(&text), text.len);
	sbuf_free(&text);
	return EXEC_OK;
}
