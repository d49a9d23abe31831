/*
 * sieve_commands.h: the validate and run functions of every Sieve command
 * and test, named by the row of the command table (sieve_commands.c) that
 * uses them. Each lives in the file of its extension.
 */
#ifndef SLUICE_SIEVE_COMMANDS_H
#define SLUICE_SIEVE_COMMANDS_H

#include "sieve_private.h"

#define SIEVE_VALIDATE(name) int sieve_val_##name(struct sieve_vctx *vc, struct sieve_node *node)
#define SIEVE_EXEC(name) int sieve_cmd_##name(struct sieve_run *run, const struct sieve_node *node)
#define SIEVE_TEST(name) int sieve_test_##name(struct sieve_run *run, const struct sieve_node *node)

/* sieve_validate.c */
SIEVE_VALIDATE(require);
SIEVE_VALIDATE(if);
/* sieve_interp.c */
SIEVE_EXEC(nop);
SIEVE_EXEC(if);
SIEVE_EXEC(stop);
SIEVE_TEST(allof);
SIEVE_TEST(anyof);
SIEVE_TEST(not );
SIEVE_TEST(true);
SIEVE_TEST(false);
/* sieve_actions.c */
SIEVE_VALIDATE(store);
SIEVE_VALIDATE(redirect);
SIEVE_VALIDATE(flagcmd);
SIEVE_VALIDATE(hasflag);
SIEVE_EXEC(keep);
SIEVE_EXEC(fileinto);
SIEVE_EXEC(discard);
SIEVE_EXEC(redirect);
SIEVE_EXEC(reject);
SIEVE_EXEC(flags);
SIEVE_TEST(hasflag);
/* sieve_tests.c */
SIEVE_VALIDATE(address);
SIEVE_VALIDATE(envelope);
SIEVE_VALIDATE(header);
SIEVE_VALIDATE(size);
SIEVE_TEST(address);
SIEVE_TEST(envelope);
SIEVE_TEST(exists);
SIEVE_TEST(header);
SIEVE_TEST(size);
/* sieve_strings.c */
SIEVE_VALIDATE(set);
SIEVE_EXEC(set);
SIEVE_TEST(string);
/* sieve_ext_body.c */
SIEVE_VALIDATE(body);
SIEVE_TEST(body);
/* sieve_ext_vacation.c */
SIEVE_VALIDATE(vacation);
SIEVE_EXEC(vacation);
/* sieve_ext_date.c */
SIEVE_VALIDATE(date);
SIEVE_TEST(date);
/* sieve_ext_editheader.c */
SIEVE_VALIDATE(addheader);
SIEVE_VALIDATE(deleteheader);
SIEVE_EXEC(addheader);
SIEVE_EXEC(deleteheader);
/* sieve_ext_include.c */
SIEVE_VALIDATE(include);
SIEVE_VALIDATE(global);
SIEVE_EXEC(include);
SIEVE_EXEC(return );
/* sieve_ext_enotify.c */
SIEVE_VALIDATE(notify);
SIEVE_EXEC(notify);
SIEVE_TEST(valid_notify_method);
SIEVE_TEST(notify_method_capability);
/* sieve_ext_mime.c */
SIEVE_VALIDATE(foreverypart);
SIEVE_VALIDATE(break);
SIEVE_VALIDATE(extracttext);
SIEVE_EXEC(foreverypart);
SIEVE_EXEC(break);
SIEVE_EXEC(extracttext);
/* sieve_ext_misc.c */
SIEVE_VALIDATE(duplicate);
SIEVE_VALIDATE(ihave);
SIEVE_EXEC(error);
SIEVE_TEST(mailboxexists);
SIEVE_TEST(duplicate);
SIEVE_TEST(environment);
SIEVE_TEST(ihave);
SIEVE_TEST(spamtest);

#endif
