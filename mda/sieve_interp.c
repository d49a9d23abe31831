/*
 * sieve_interp.c: the core of the interpreter: running a block of commands
 * with if/elsif/else chains (RFC 5228 3.1), stop, the logical tests
 * (allof, anyof, not, true, false; RFC 5228 5.2, 5.3, 5.8, 5.10, 5.5),
 * running a whole program in its own variable scope, runtime errors, and
 * the step and time budget that bounds every run.
 *
 * Sieve has no loops; foreverypart and include are bounded where they are
 * implemented. Every command and test, and matching work, is charged to the
 * budget, so a run always ends within max_steps / max_cpu_ms.
 */
#include "sieve_private.h"
#include "sieve_commands.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sieve_run_error(struct sieve_run *run, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!run->failed) {
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		run->failed = 1;
		free(run->result->error);
		run->result->error = xstrdup(buf);
		run->result->error_line = run->line;
	}
	return EXEC_ERROR;
}

int sieve_run_charge(struct sieve_run *run, uint64_t units)
{
	if (run->failed)
		return EXEC_ERROR;
	run->steps += units;
	if (run->steps > run->env->limits.max_steps)
		return sieve_run_error(run, "the script ran too long (step limit)");
	if (monotonic_ms() - run->start_ms > (int64_t)run->env->limits.max_cpu_ms)
		return sieve_run_error(run, "the script ran too long (time limit)");
	return 0;
}

int sieve_eval_test(struct sieve_run *run, const struct sieve_node *node)
{
	if (sieve_run_charge(run, 1) < 0)
		return EXEC_ERROR;
	return node->def->exec(run, node);
}

int sieve_exec_block(struct sieve_run *run, const struct sieve_node *nodes, size_t n)
{
	int taken = 0, r;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct sieve_node *node = &nodes[i];

		run->line = node->line;
		if (sieve_run_charge(run, 1) < 0)
			return EXEC_ERROR;
		if (node->def->exec != sieve_cmd_if) {
			r = node->def->exec(run, node);
			if (r != EXEC_OK)
				return r;
			continue;
		}
		/* RFC 5228 3.1: if / elsif / else; only the first true branch runs. */
		if (strcmp(node->name, "if") == 0)
			taken = 0;
		if (taken)
			continue;
		if (strcmp(node->name, "else") != 0) {
			r = sieve_eval_test(run, &node->tests[0]);
			if (r < 0)
				return EXEC_ERROR;
			if (r == 0)
				continue;
		}
		taken = 1;
		if (node->skip)
			continue;
		r = sieve_exec_block(run, node->block, node->nblock);
		if (r != EXEC_OK)
			return r;
	}
	return EXEC_OK;
}

int sieve_exec_program(struct sieve_run *run, const struct sieve_program *prog)
{
	const struct sieve_program *saved_prog = run->prog;
	struct sbuf *saved_locals = run->locals;
	size_t saved_nlocals = run->nlocals, i;
	int r;

	run->prog = prog;
	run->nlocals = prog->nlocals;
	run->locals = xcalloc(prog->nlocals + 1, sizeof(*run->locals));
	r = sieve_exec_block(run, prog->commands, prog->ncommands);
	for (i = 0; i < prog->nlocals; i++)
		sbuf_free(&run->locals[i]);
	free(run->locals);
	run->locals = saved_locals;
	run->nlocals = saved_nlocals;
	run->prog = saved_prog;
	/* RFC 6609 3.4: return ends the current script only. */
	return r == EXEC_RETURN ? EXEC_OK : r;
}

SIEVE_EXEC(nop)
{
	(void)run;
	(void)node;
	return EXEC_OK;
}

SIEVE_EXEC(if)
{
	/* Chains are run by sieve_exec_block. */
	(void)run;
	(void)node;
	return EXEC_OK;
}

SIEVE_EXEC(stop)
{
	(void)run;
	(void)node;
	return EXEC_STOP;
}

SIEVE_TEST(allof)
{
	size_t i;

	for (i = 0; i < node->ntests; i++) {
		int r = sieve_eval_test(run, &node->tests[i]);
		if (r <= 0)
			return r;
	}
	return 1;
}

SIEVE_TEST(anyof)
{
	size_t i;

	for (i = 0; i < node->ntests; i++) {
		int r = sieve_eval_test(run, &node->tests[i]);
		if (r != 0)
			return r;
	}
	return 0;
}

SIEVE_TEST(not )
{
	int r = sieve_eval_test(run, &node->tests[0]);

	return r < 0 ? r : !r;
}

SIEVE_TEST(true)
{
	(void)run;
	(void)node;
	return 1;
}

SIEVE_TEST(false)
{
	(void)run;
	(void)node;
	return 0;
}

const struct message_header *sieve_run_header(const struct sieve_run *run)
{
	return run->edited != NULL ? run->edited : &run->msg->header;
}

const struct mime_part *sieve_run_mime(struct sieve_run *run)
{
	const char *error;

	if (run->mime == NULL && !run->mime_failed) {
		if (mime_parse(run->msg->data, run->msg->size, &run->env->message_limits,
		               &run->mime, &error) < 0)
			run->mime_failed = 1;
	}
	return run->mime;
}
