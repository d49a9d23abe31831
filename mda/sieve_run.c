/*
 * sieve_run.c: the entry points of a run: defaults for limits and the
 * environment, sieve_run() for one script and sieve_run_chain() for the
 * global "before" scripts, the user's script and the global "after"
 * scripts sharing one result.
 *
 * Chain semantics: scripts run in order; the next one runs only while the
 * implicit keep is still in effect and no script executed "stop" (RFC 5228
 * 3.3: stop ends all processing). Each script has its own variables; the
 * internal imap4flags variable, the edited header and the result are shared,
 * so a "before" script's addflag reaches the final keep. Any runtime error
 * fails the whole result: the caller keeps the message and logs the error.
 */
#include "sieve_private.h"

#include <string.h>

void sieve_limits_default(struct sieve_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->max_actions = 32;
	l->max_redirects = 4;
	l->max_steps = 1000000;
	l->max_cpu_ms = 5000;
	l->max_variable_size = 4096;
	l->max_header_edits = 64;
	l->max_foreverypart_depth = 4;
	l->vacation_min_period = 86400;
	l->vacation_max_period = 0;
	l->vacation_default_period = 7 * 86400;
	l->duplicate_default_period = 7 * 86400;
	l->duplicate_max_period = 7 * 86400;
}

void sieve_env_default(struct sieve_env *env)
{
	memset(env, 0, sizeof(*env));
	env->default_mailbox = "INBOX";
	env->recipient_delimiter = "+";
	env->spam.header = "X-Spam-Score";
	env->spam.type = SIEVE_SCORE_NUMBER;
	env->spam.max = 10;
	env->spam_percent = env->spam;
	env->virus.header = "X-Virus-Score";
	env->virus.type = SIEVE_SCORE_NUMBER;
	env->virus.max = 5;
	env->loop_header = "X-Sluice-Loop";
	sieve_limits_default(&env->limits);
	message_limits_default(&env->message_limits);
}

static int run_one(struct sieve_run *run, const struct sieve_program *prog)
{
	size_t i;
	int r;

	run->main = prog;
	run->nglobals = prog->nglobals;
	run->globals = xcalloc(prog->nglobals + 1, sizeof(*run->globals));
	run->once_done = xcalloc(prog->nincluded + 1, 1);
	r = sieve_exec_program(run, prog);
	for (i = 0; i < prog->nglobals; i++)
		sbuf_free(&run->globals[i]);
	free(run->globals);
	run->globals = NULL;
	run->nglobals = 0;
	free(run->once_done);
	run->once_done = NULL;
	return r;
}

struct sieve_result *sieve_run_chain(const struct sieve_program *const *before, size_t nbefore,
                                     const struct sieve_program *user,
                                     const struct sieve_program *const *after, size_t nafter,
                                     const struct message *msg,
                                     const struct sieve_envelope *envelope,
                                     const struct sieve_env *env)
{
	struct sieve_result *result = xcalloc(1, sizeof(*result));
	const struct sieve_program *order[64];
	struct sieve_env defaults;
	struct sieve_run run;
	size_t n = 0, i;
	int r = EXEC_OK;

	if (env == NULL) {
		sieve_env_default(&defaults);
		env = &defaults;
	}
	for (i = 0; i < nbefore && n < ARRAY_SIZE(order) - 1; i++)
		order[n++] = before[i];
	if (user != NULL)
		order[n++] = user;
	for (i = 0; i < nafter && n < ARRAY_SIZE(order); i++)
		order[n++] = after[i];

	memset(&run, 0, sizeof(run));
	run.msg = msg;
	run.envelope = envelope;
	run.env = env;
	run.result = result;
	run.implicit_keep = 1;
	run.start_ms = monotonic_ms();
	run.now = env->now != 0 ? env->now : time(NULL);
	sbuf_append(&run.flags, "", 0);

	for (i = 0; i < n; i++) {
		if (order[i] == NULL)
			continue;
		r = run_one(&run, order[i]);
		if (r == EXEC_ERROR || r == EXEC_STOP || !run.implicit_keep)
			break;
	}
	run.line = 0;
	if (!run.failed)
		sieve_result_finish(&run);
	if (run.failed) {
		result->failed = 1;
		sieve_result_drop_actions(result);
	}
	for (i = 0; i < SIEVE_MAX_MATCH; i++)
		sbuf_free(&run.match[i]);
	sbuf_free(&run.flags);
	mime_part_free(&run.mime);
	if (run.edited != NULL) {
		message_header_clear(run.edited);
		free(run.edited);
	}
	return result;
}

struct sieve_result *sieve_run(const struct sieve_program *program, const struct message *msg,
                               const struct sieve_envelope *envelope, const struct sieve_env *env)
{
	return sieve_run_chain(NULL, 0, program, NULL, 0, msg, envelope, env);
}
