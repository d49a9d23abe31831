/*
 * sieve_commands.c: the tables that drive validation and execution: every
 * tagged argument (name, parameter, exclusive group) and every command and
 * test (its extension, the tags it takes, its positional arguments, whether
 * it has a block or tests, and the functions that validate and run it).
 *
 * Adding a command means one row here and its functions in the file of its
 * extension (sieve_ext_*.c). Everything here is constant data.
 */
#include "sieve_private.h"
#include "sieve_commands.h"

#include <string.h>

const struct sieve_tag_def sieve_tag_defs[TAG_MAX] = {
    [TAG_COMPARATOR] = {"comparator", TP_STRING, G_NONE},
    [TAG_IS] = {"is", TP_NONE, G_MATCH},
    [TAG_CONTAINS] = {"contains", TP_NONE, G_MATCH},
    [TAG_MATCHES] = {"matches", TP_NONE, G_MATCH},
    [TAG_REGEX] = {"regex", TP_NONE, G_MATCH},
    [TAG_VALUE] = {"value", TP_STRING, G_MATCH},
    [TAG_COUNT] = {"count", TP_STRING, G_MATCH},
    [TAG_ALL] = {"all", TP_NONE, G_ADDRPART},
    [TAG_LOCALPART] = {"localpart", TP_NONE, G_ADDRPART},
    [TAG_DOMAIN] = {"domain", TP_NONE, G_ADDRPART},
    [TAG_USER] = {"user", TP_NONE, G_ADDRPART},
    [TAG_DETAIL] = {"detail", TP_NONE, G_ADDRPART},
    [TAG_OVER] = {"over", TP_NONE, G_SIZE},
    [TAG_UNDER] = {"under", TP_NONE, G_SIZE},
    [TAG_INDEX] = {"index", TP_NUMBER, G_NONE},
    [TAG_LAST] = {"last", TP_NONE, G_NONE},
    [TAG_ZONE] = {"zone", TP_STRING, G_ZONE},
    [TAG_ORIGINALZONE] = {"originalzone", TP_NONE, G_ZONE},
    [TAG_RAW] = {"raw", TP_NONE, G_TRANSFORM},
    [TAG_CONTENT] = {"content", TP_STRLIST, G_TRANSFORM},
    [TAG_TEXT] = {"text", TP_NONE, G_TRANSFORM},
    [TAG_COPY] = {"copy", TP_NONE, G_NONE},
    [TAG_CREATE] = {"create", TP_NONE, G_NONE},
    [TAG_FLAGS] = {"flags", TP_STRLIST, G_NONE},
    [TAG_LOWER] = {"lower", TP_NONE, G_MOD40},
    [TAG_UPPER] = {"upper", TP_NONE, G_MOD40},
    [TAG_LOWERFIRST] = {"lowerfirst", TP_NONE, G_MOD30},
    [TAG_UPPERFIRST] = {"upperfirst", TP_NONE, G_MOD30},
    [TAG_QUOTEWILDCARD] = {"quotewildcard", TP_NONE, G_MOD20},
    [TAG_QUOTEREGEX] = {"quoteregex", TP_NONE, G_MOD20},
    [TAG_ENCODEURL] = {"encodeurl", TP_NONE, G_MOD20},
    [TAG_LENGTH] = {"length", TP_NONE, G_MOD10},
    [TAG_DAYS] = {"days", TP_NUMBER, G_PERIOD},
    [TAG_SECONDS] = {"seconds", TP_NUMBER, G_PERIOD},
    [TAG_SUBJECT] = {"subject", TP_STRING, G_NONE},
    [TAG_FROM] = {"from", TP_STRING, G_NONE},
    [TAG_ADDRESSES] = {"addresses", TP_STRLIST, G_NONE},
    [TAG_MIME] = {"mime", TP_NONE, G_NONE},
    [TAG_HANDLE] = {"handle", TP_STRING, G_NONE},
    [TAG_IMPORTANCE] = {"importance", TP_STRING, G_NONE},
    [TAG_OPTIONS] = {"options", TP_STRLIST, G_NONE},
    [TAG_MESSAGE] = {"message", TP_STRING, G_NONE},
    [TAG_HEADER] = {"header", TP_STRING, G_DUPID},
    [TAG_UNIQUEID] = {"uniqueid", TP_STRING, G_DUPID},
    [TAG_PERSONAL] = {"personal", TP_NONE, G_LOCATION},
    [TAG_GLOBAL] = {"global", TP_NONE, G_LOCATION},
    [TAG_ONCE] = {"once", TP_NONE, G_NONE},
    [TAG_OPTIONAL] = {"optional", TP_NONE, G_NONE},
    [TAG_NAME] = {"name", TP_STRING, G_NONE},
    [TAG_FIRST] = {"first", TP_NUMBER, G_NONE},
    [TAG_ANYCHILD] = {"anychild", TP_NONE, G_NONE},
    [TAG_TYPE] = {"type", TP_NONE, G_MIMEOPT},
    [TAG_SUBTYPE] = {"subtype", TP_NONE, G_MIMEOPT},
    [TAG_CONTENTTYPE] = {"contenttype", TP_NONE, G_MIMEOPT},
    [TAG_PARAM] = {"param", TP_STRLIST, G_MIMEOPT},
    [TAG_PERCENT] = {"percent", TP_NONE, G_NONE},
};

/* clang-format off */
#define END {-1, -1}
#define MATCH_TAGS \
	{TAG_COMPARATOR, -1}, {TAG_IS, -1}, {TAG_CONTAINS, -1}, {TAG_MATCHES, -1}, \
	{TAG_REGEX, SIEVE_EXT_REGEX}, {TAG_VALUE, SIEVE_EXT_RELATIONAL}, \
	{TAG_COUNT, SIEVE_EXT_RELATIONAL}
#define ADDRPART_TAGS \
	{TAG_ALL, -1}, {TAG_LOCALPART, -1}, {TAG_DOMAIN, -1}, \
	{TAG_USER, SIEVE_EXT_SUBADDRESS}, {TAG_DETAIL, SIEVE_EXT_SUBADDRESS}
#define INDEX_TAGS {TAG_INDEX, SIEVE_EXT_INDEX}, {TAG_LAST, SIEVE_EXT_INDEX}
#define MIME_TAGS {TAG_MIME, SIEVE_EXT_MIME}, {TAG_ANYCHILD, SIEVE_EXT_MIME}
#define MODIFIER_TAGS \
	{TAG_LOWER, -1}, {TAG_UPPER, -1}, {TAG_LOWERFIRST, -1}, {TAG_UPPERFIRST, -1}, \
	{TAG_QUOTEWILDCARD, -1}, {TAG_LENGTH, -1}, {TAG_QUOTEREGEX, SIEVE_EXT_REGEX}, \
	{TAG_ENCODEURL, SIEVE_EXT_ENOTIFY}
/* clang-format on */

static const struct sieve_tag_use t_none[] = {END};
static const struct sieve_tag_use t_match[] = {MATCH_TAGS, END};
static const struct sieve_tag_use t_address[] = {MATCH_TAGS, ADDRPART_TAGS, INDEX_TAGS, MIME_TAGS,
                                                 END};
static const struct sieve_tag_use t_envelope[] = {MATCH_TAGS, ADDRPART_TAGS, END};
static const struct sieve_tag_use t_header[] = {MATCH_TAGS,
                                                INDEX_TAGS,
                                                MIME_TAGS,
                                                {TAG_TYPE, SIEVE_EXT_MIME},
                                                {TAG_SUBTYPE, SIEVE_EXT_MIME},
                                                {TAG_CONTENTTYPE, SIEVE_EXT_MIME},
                                                {TAG_PARAM, SIEVE_EXT_MIME},
                                                END};
static const struct sieve_tag_use t_exists[] = {MIME_TAGS, END};
static const struct sieve_tag_use t_size[] = {{TAG_OVER, -1}, {TAG_UNDER, -1}, END};
static const struct sieve_tag_use t_body[] = {
    MATCH_TAGS, {TAG_RAW, -1}, {TAG_CONTENT, -1}, {TAG_TEXT, -1}, END};
static const struct sieve_tag_use t_date[] = {
    MATCH_TAGS, INDEX_TAGS, {TAG_ZONE, -1}, {TAG_ORIGINALZONE, -1}, END};
static const struct sieve_tag_use t_currentdate[] = {MATCH_TAGS, {TAG_ZONE, -1}, END};
static const struct sieve_tag_use t_keep[] = {{TAG_FLAGS, SIEVE_EXT_IMAP4FLAGS}, END};
static const struct sieve_tag_use t_fileinto[] = {{TAG_COPY, SIEVE_EXT_COPY},
                                                  {TAG_CREATE, SIEVE_EXT_MAILBOX},
                                                  {TAG_FLAGS, SIEVE_EXT_IMAP4FLAGS},
                                                  END};
static const struct sieve_tag_use t_redirect[] = {{TAG_COPY, SIEVE_EXT_COPY}, END};
static const struct sieve_tag_use t_set[] = {MODIFIER_TAGS, END};
static const struct sieve_tag_use t_vacation[] = {
    {TAG_DAYS, -1},      {TAG_SECONDS, SIEVE_EXT_VACATION_SECONDS},
    {TAG_SUBJECT, -1},   {TAG_FROM, -1},
    {TAG_ADDRESSES, -1}, {TAG_MIME, -1},
    {TAG_HANDLE, -1},    END};
static const struct sieve_tag_use t_addheader[] = {{TAG_LAST, -1}, END};
static const struct sieve_tag_use t_deleteheader[] = {{TAG_INDEX, -1},
                                                      {TAG_LAST, -1},
                                                      {TAG_COMPARATOR, -1},
                                                      {TAG_IS, -1},
                                                      {TAG_CONTAINS, -1},
                                                      {TAG_MATCHES, -1},
                                                      {TAG_REGEX, SIEVE_EXT_REGEX},
                                                      {TAG_VALUE, SIEVE_EXT_RELATIONAL},
                                                      END};
static const struct sieve_tag_use t_duplicate[] = {
    {TAG_HANDLE, -1}, {TAG_HEADER, -1}, {TAG_UNIQUEID, -1}, {TAG_SECONDS, -1}, {TAG_LAST, -1}, END};
static const struct sieve_tag_use t_include[] = {
    {TAG_PERSONAL, -1}, {TAG_GLOBAL, -1}, {TAG_ONCE, -1}, {TAG_OPTIONAL, -1}, END};
static const struct sieve_tag_use t_notify[] = {
    {TAG_FROM, -1}, {TAG_IMPORTANCE, -1}, {TAG_OPTIONS, -1}, {TAG_MESSAGE, -1}, END};
static const struct sieve_tag_use t_name[] = {{TAG_NAME, -1}, END};
static const struct sieve_tag_use t_extracttext[] = {MODIFIER_TAGS, {TAG_FIRST, -1}, END};
static const struct sieve_tag_use t_spamtest[] = {
    MATCH_TAGS, {TAG_PERCENT, SIEVE_EXT_SPAMTESTPLUS}, END};

#define C KIND_COMMAND
#define T KIND_TEST

static const struct sieve_cmd_def commands[] = {
    /* RFC 5228 3: control */
    {"require", C, -1, t_none, 1, 1, "L", 0, 0, 0, sieve_val_require, sieve_cmd_nop},
    {"if", C, -1, t_none, 0, 0, "", 0, 1, 1, sieve_val_if, sieve_cmd_if},
    {"elsif", C, -1, t_none, 0, 0, "", 0, 1, 1, sieve_val_if, sieve_cmd_if},
    {"else", C, -1, t_none, 0, 0, "", 0, 1, 0, sieve_val_if, sieve_cmd_if},
    {"stop", C, -1, t_none, 0, 0, "", 0, 0, 0, NULL, sieve_cmd_stop},
    /* RFC 5228 4: actions */
    {"keep", C, -1, t_keep, 0, 0, "", 0, 0, 0, sieve_val_store, sieve_cmd_keep},
    {"discard", C, -1, t_none, 0, 0, "", 0, 0, 0, NULL, sieve_cmd_discard},
    {"redirect", C, -1, t_redirect, 1, 1, "S", 0, 0, 0, sieve_val_redirect, sieve_cmd_redirect},
    {"fileinto", C, SIEVE_EXT_FILEINTO, t_fileinto, 1, 1, "S", 0, 0, 0, sieve_val_store,
     sieve_cmd_fileinto},
    {"reject", C, SIEVE_EXT_REJECT, t_none, 1, 1, "S", 0, 0, 0, NULL, sieve_cmd_reject},
    {"ereject", C, SIEVE_EXT_EREJECT, t_none, 1, 1, "S", 0, 0, 0, NULL, sieve_cmd_reject},
    /* RFC 5228 5: tests */
    {"address", T, -1, t_address, 2, 2, "LL", 0, 0, 0, sieve_val_address, sieve_test_address},
    {"allof", T, -1, t_none, 0, 0, "", 0, 0, 2, NULL, sieve_test_allof},
    {"anyof", T, -1, t_none, 0, 0, "", 0, 0, 2, NULL, sieve_test_anyof},
    {"envelope", T, SIEVE_EXT_ENVELOPE, t_envelope, 2, 2, "LL", 0, 0, 0, sieve_val_envelope,
     sieve_test_envelope},
    {"exists", T, -1, t_exists, 1, 1, "L", 0, 0, 0, sieve_val_header, sieve_test_exists},
    {"false", T, -1, t_none, 0, 0, "", 0, 0, 0, NULL, sieve_test_false},
    {"header", T, -1, t_header, 2, 2, "LL", 0, 0, 0, sieve_val_header, sieve_test_header},
    {"not", T, -1, t_none, 0, 0, "", 0, 0, 1, NULL, sieve_test_not},
    {"size", T, -1, t_size, 1, 1, "N", 0, 0, 0, sieve_val_size, sieve_test_size},
    {"true", T, -1, t_none, 0, 0, "", 0, 0, 0, NULL, sieve_test_true},
    /* RFC 5229 variables */
    {"set", C, SIEVE_EXT_VARIABLES, t_set, 2, 2, "SS", 0, 0, 0, sieve_val_set, sieve_cmd_set},
    {"string", T, SIEVE_EXT_VARIABLES, t_match, 2, 2, "LL", 0, 0, 0, NULL, sieve_test_string},
    /* RFC 5232 imap4flags */
    {"setflag", C, SIEVE_EXT_IMAP4FLAGS, t_none, 1, 2, "SL", 1, 0, 0, sieve_val_flagcmd,
     sieve_cmd_flags},
    {"addflag", C, SIEVE_EXT_IMAP4FLAGS, t_none, 1, 2, "SL", 1, 0, 0, sieve_val_flagcmd,
     sieve_cmd_flags},
    {"removeflag", C, SIEVE_EXT_IMAP4FLAGS, t_none, 1, 2, "SL", 1, 0, 0, sieve_val_flagcmd,
     sieve_cmd_flags},
    {"hasflag", T, SIEVE_EXT_IMAP4FLAGS, t_match, 1, 2, "LL", 1, 0, 0, sieve_val_hasflag,
     sieve_test_hasflag},
    /* RFC 5173 body */
    {"body", T, SIEVE_EXT_BODY, t_body, 1, 1, "L", 0, 0, 0, sieve_val_body, sieve_test_body},
    /* RFC 5230 vacation */
    {"vacation", C, SIEVE_EXT_VACATION, t_vacation, 1, 1, "S", 0, 0, 0, sieve_val_vacation,
     sieve_cmd_vacation},
    /* RFC 5260 date */
    {"date", T, SIEVE_EXT_DATE, t_date, 3, 3, "SSL", 0, 0, 0, sieve_val_date, sieve_test_date},
    {"currentdate", T, SIEVE_EXT_DATE, t_currentdate, 2, 2, "SL", 0, 0, 0, sieve_val_date,
     sieve_test_date},
    /* RFC 5490 mailbox */
    {"mailboxexists", T, SIEVE_EXT_MAILBOX, t_none, 1, 1, "L", 0, 0, 0, NULL,
     sieve_test_mailboxexists},
    /* RFC 5293 editheader */
    {"addheader", C, SIEVE_EXT_EDITHEADER, t_addheader, 2, 2, "SS", 0, 0, 0, sieve_val_addheader,
     sieve_cmd_addheader},
    {"deleteheader", C, SIEVE_EXT_EDITHEADER, t_deleteheader, 1, 2, "SL", 0, 0, 0,
     sieve_val_deleteheader, sieve_cmd_deleteheader},
    /* RFC 7352 duplicate */
    {"duplicate", T, SIEVE_EXT_DUPLICATE, t_duplicate, 0, 0, "", 0, 0, 0, sieve_val_duplicate,
     sieve_test_duplicate},
    /* RFC 6609 include */
    {"include", C, SIEVE_EXT_INCLUDE, t_include, 1, 1, "S", 0, 0, 0, sieve_val_include,
     sieve_cmd_include},
    {"return", C, SIEVE_EXT_INCLUDE, t_none, 0, 0, "", 0, 0, 0, NULL, sieve_cmd_return},
    {"global", C, SIEVE_EXT_INCLUDE, t_none, 1, 1, "L", 0, 0, 0, sieve_val_global, sieve_cmd_nop},
    /* RFC 5435 enotify */
    {"notify", C, SIEVE_EXT_ENOTIFY, t_notify, 1, 1, "S", 0, 0, 0, sieve_val_notify,
     sieve_cmd_notify},
    {"valid_notify_method", T, SIEVE_EXT_ENOTIFY, t_none, 1, 1, "L", 0, 0, 0, NULL,
     sieve_test_valid_notify_method},
    {"notify_method_capability", T, SIEVE_EXT_ENOTIFY, t_match, 3, 3, "SSL", 0, 0, 0, NULL,
     sieve_test_notify_method_capability},
    /* RFC 5183 environment */
    {"environment", T, SIEVE_EXT_ENVIRONMENT, t_match, 2, 2, "SL", 0, 0, 0, NULL,
     sieve_test_environment},
    /* RFC 5463 ihave */
    {"ihave", T, SIEVE_EXT_IHAVE, t_none, 1, 1, "L", 0, 0, 0, sieve_val_ihave, sieve_test_ihave},
    {"error", C, SIEVE_EXT_IHAVE, t_none, 1, 1, "S", 0, 0, 0, NULL, sieve_cmd_error},
    /* RFC 5703 foreverypart, mime, extracttext */
    {"foreverypart", C, SIEVE_EXT_FOREVERYPART, t_name, 0, 0, "", 0, 1, 0, sieve_val_foreverypart,
     sieve_cmd_foreverypart},
    {"break", C, SIEVE_EXT_FOREVERYPART, t_name, 0, 0, "", 0, 0, 0, sieve_val_break,
     sieve_cmd_break},
    {"extracttext", C, SIEVE_EXT_EXTRACTTEXT, t_extracttext, 1, 1, "S", 0, 0, 0,
     sieve_val_extracttext, sieve_cmd_extracttext},
    /* RFC 5235 spamtest, virustest */
    {"spamtest", T, SIEVE_EXT_SPAMTEST, t_spamtest, 1, 1, "S", 0, 0, 0, NULL, sieve_test_spamtest},
    {"virustest", T, SIEVE_EXT_VIRUSTEST, t_match, 1, 1, "S", 0, 0, 0, NULL, sieve_test_spamtest},
};

const struct sieve_cmd_def *sieve_command_find(const char *name, int kind)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (commands[i].kind == kind && strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

struct sieve_arg *sieve_node_tag(const struct sieve_node *node, enum sieve_tag tag)
{
	size_t i;

	for (i = 0; i < node->ntagvals; i++) {
		if (node->tagvals[i].tag == tag)
			return node->tagvals[i].arg;
	}
	return NULL;
}
