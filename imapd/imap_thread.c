/*
 * imap_thread.c: THREAD and UID THREAD (RFC 5256 4-5) with the
 * ORDEREDSUBJECT and REFERENCES algorithms over the messages a search
 * matched. REFERENCES links messages by Message-ID, References (read from
 * each message's header) and In-Reply-To, prunes the empty containers,
 * gathers threads of the same base subject and sorts siblings by sent date,
 * as RFC 5256 4 describes step by step. Nodes live in one array and refer
 * to each other by index.
 */
#include "imap_commands.h"

#include "imap_db.h"
#include "imap_message.h"
#include "imap_sort.h"
#include "imap_view.h"
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* References ids read from one message at most. */
#define MAX_REFS 100

struct node {
	struct sort_msg *m; /* NULL: a dummy (an id we only know of) */
	char *id;
	int parent;
	int *kids;
	size_t nkids, cap;
	int64_t date; /* for sorting: its message's, or its first child's */
};

struct forest {
	struct node *n;
	size_t count, cap;
	int *buckets; /* chains of nodes by id: bucket heads and next links */
	int *next;
	size_t nbuckets;
	int *roots;
	size_t nroots;
};

static unsigned long hash_id(const char *s)
{
	unsigned long h = 5381;

	for (; *s != '\0'; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static int node_new(struct forest *f, struct sort_msg *m, const char *id)
{
	struct node *x;

	if (f->count == f->cap) {
		f->cap = f->cap == 0 ? 64 : f->cap * 2;
		f->n = xrealloc(f->n, f->cap * sizeof(*f->n));
		f->next = xrealloc(f->next, f->cap * sizeof(*f->next));
	}
	x = &f->n[f->count];
	memset(x, 0, sizeof(*x));
	x->m = m;
	x->id = xstrdup(id);
	x->parent = -1;
	f->next[f->count] = -1;
	if (id[0] != '\0') {
		unsigned long b = hash_id(id) % f->nbuckets;

		f->next[f->count] = f->buckets[b];
		f->buckets[b] = (int)f->count;
	}
	return (int)f->count++;
}

static int node_find(struct forest *f, const char *id)
{
	for (int i = f->buckets[hash_id(id) % f->nbuckets]; i >= 0; i = f->next[i]) {
		if (strcmp(f->n[i].id, id) == 0)
			return i;
	}
	return -1;
}

static void kid_add(struct forest *f, int parent, int kid)
{
	struct node *p = &f->n[parent];

	if (p->nkids == p->cap) {
		p->cap = p->cap == 0 ? 4 : p->cap * 2;
		p->kids = xrealloc(p->kids, p->cap * sizeof(*p->kids));
	}
	p->kids[p->nkids++] = kid;
	f->n[kid].parent = parent;
}

static void unlink_node(struct forest *f, int kid)
{
	int parent = f->n[kid].parent;
	struct node *p;

	if (parent < 0)
		return;
	p = &f->n[parent];
	for (size_t i = 0; i < p->nkids; i++) {
		if (p->kids[i] == kid) {
			memmove(&p->kids[i], &p->kids[i + 1], (p->nkids - i - 1) * sizeof(*p->kids));
			p->nkids--;
			break;
		}
	}
	f->n[kid].parent = -1;
}

/* Whether a is b or lies below b. */
static bool below(const struct forest *f, int a, int b)
{
	for (int i = a; i >= 0; i = f->n[i].parent) {
		if (i == b)
			return true;
	}
	return false;
}

static void forest_free(struct forest *f)
{
	for (size_t i = 0; i < f->count; i++) {
		free(f->n[i].id);
		free(f->n[i].kids);
	}
	free(f->n);
	free(f->next);
	free(f->buckets);
	free(f->roots);
}

/* The "<...>" ids in a References or In-Reply-To value. */
static size_t msg_ids(const char *v, char ids[][256], size_t max)
{
	size_t n = 0;

	while (n < max && (v = strchr(v, '<')) != NULL) {
		const char *close = strchr(v, '>');

		if (close == NULL)
			break;
		if ((size_t)(close - v) + 1 < 256 && close - v > 1) {
			memcpy(ids[n], v, (size_t)(close - v) + 1);
			ids[n][close - v + 1] = '\0';
			n++;
		}
		v = close + 1;
	}
	return n;
}

/* RFC 5256 4.1.B: the References of a message, else the first id of In-Reply-To. */
static size_t references_of(struct imap_session *sess, const struct imap_search_result *r,
			    const struct sort_msg *m, char ids[][256])
{
	struct imap_msg_file file;
	struct message_header hdr = {0};
	struct sbuf data = {0};
	const struct message_field *refs;
	const char *error;
	size_t hsize, n = 0;
	bool have = false;

	if (!PQgetisnull(r->res, m->row, SC_HFIELDS)) {
		/* References is one of the fields the index keeps (lib/imap_envelope.h) */
		sbuf_append(&data, PQgetvalue(r->res, m->row, SC_HFIELDS),
			    (size_t)PQgetlength(r->res, m->row, SC_HFIELDS));
		have = true;
	} else if (imap_msg_open(sess, PQgetvalue(r->res, m->row, SC_BLOB),
				 PQgetvalue(r->res, m->row, SC_PREFIX),
				 (uint64_t)imap_col_i64(r->res, m->row, SC_SIZE), &file,
				 &error) == STORE_OK) {
		have = imap_msg_read(&file, true, &data, &error) == STORE_OK;
		imap_msg_close(&file);
	}
	if (have && message_header_parse(sbuf_str(&data), data.len, NULL, &hdr, &hsize, &error) == 0) {
		if ((refs = message_header_get(&hdr, "references", 0)) != NULL)
			n = msg_ids(refs->value, ids, MAX_REFS);
		message_header_clear(&hdr);
	}
	sbuf_free(&data);
	if (n == 0 && m->in_reply_to != NULL)
		n = msg_ids(m->in_reply_to, ids, 1);
	return n;
}

/* RFC 5256 4.1: build the containers and their links. */
static void link_messages(struct imap_session *sess, const struct imap_search_result *r,
			  struct sort_msg *msgs, struct forest *f)
{
	char (*ids)[256] = xmalloc(MAX_REFS * sizeof(*ids));

	for (size_t i = 0; i < r->n; i++) {
		struct sort_msg *m = &msgs[i];
		int me = m->message_id != NULL ? node_find(f, m->message_id) : -1;
		size_t nrefs;
		int prev = -1;

		if (me >= 0 && f->n[me].m == NULL) {
			f->n[me].m = m;
		} else {
			/* no id, or a duplicate: a container of its own */
			me = node_new(f, m, me < 0 && m->message_id != NULL ? m->message_id : "");
		}
		nrefs = references_of(sess, r, m, ids);
		for (size_t k = 0; k < nrefs; k++) {
			int c = node_find(f, ids[k]);

			if (c < 0)
				c = node_new(f, NULL, ids[k]);
			/* link parent -> child unless linked already or it makes a loop */
			if (prev >= 0 && f->n[c].parent < 0 && !below(f, prev, c))
				kid_add(f, prev, c);
			prev = c;
		}
		/* the last reference is the parent; never a loop */
		unlink_node(f, me);
		if (prev >= 0 && !below(f, prev, me))
			kid_add(f, prev, me);
	}
	free(ids);
}

static void list_push(int **list, size_t *n, size_t *cap, int v)
{
	if (*n == *cap) {
		*cap = *cap == 0 ? 8 : *cap * 2;
		*list = xrealloc(*list, *cap * sizeof(**list));
	}
	(*list)[(*n)++] = v;
}

/*
 * RFC 5256 4.3: rebuild a list of siblings (of `parent`, -1 for the root
 * set): a dummy without children goes; a dummy with children gives way to
 * them, unless it is in the root set with more than one child.
 */
static void prune(struct forest *f, const int *in, size_t n, int parent, int **out,
		  size_t *nout, size_t *cap)
{
	for (size_t i = 0; i < n; i++) {
		int xi = in[i];
		struct node *x = &f->n[xi];
		int *kids = NULL;
		size_t nkids = 0, kcap = 0;

		prune(f, x->kids, x->nkids, xi, &kids, &nkids, &kcap);
		x = &f->n[xi];
		free(x->kids);
		x->kids = kids;
		x->nkids = nkids;
		x->cap = kcap;
		if (x->m == NULL && x->nkids == 0)
			continue;
		if (x->m == NULL && (parent >= 0 || x->nkids == 1)) {
			for (size_t k = 0; k < x->nkids; k++) {
				f->n[x->kids[k]].parent = parent;
				list_push(out, nout, cap, x->kids[k]);
			}
			x->nkids = 0;
			continue;
		}
		x->parent = parent;
		list_push(out, nout, cap, xi);
	}
}

/* The sequence position a node sorts by on equal dates: its message's, or its first child's. */
static size_t node_seq(const struct forest *f, const struct node *x)
{
	while (x->m == NULL && x->nkids > 0)
		x = &f->n[x->kids[0]];
	return x->m != NULL ? x->m->idx : 0;
}

static int cmp_nodes(const void *a, const void *b, void *arg)
{
	const struct forest *f = arg;
	const struct node *x = &f->n[*(const int *)a], *y = &f->n[*(const int *)b];
	size_t sx, sy;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	sx = node_seq(f, x);
	sy = node_seq(f, y);
	return sx < sy ? -1 : sx > sy ? 1 : 0;
}

/* RFC 5256 4.4, 4.6: siblings by sent date; a dummy by its first child's. */
static void sort_tree(struct forest *f, int *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct node *x = &f->n[list[i]];

		sort_tree(f, x->kids, x->nkids);
		if (x->m != NULL)
			x->date = x->m->sent;
		else
			x->date = x->nkids > 0 ? f->n[x->kids[0]].date : 0;
	}
	if (n > 1)
		qsort_r(list, n, sizeof(*list), cmp_nodes, f);
}

static void emit(const struct forest *f, int i, struct sbuf *out)
{
	const struct node *x = &f->n[i];

	if (x->m != NULL)
		sbuf_appendf(out, "%u", x->m->id);
	if (x->m != NULL && x->nkids == 1) {
		sbuf_append_str(out, " ");
		emit(f, x->kids[0], out);
		return;
	}
	if (x->m != NULL && x->nkids > 0)
		sbuf_append_str(out, " ");
	for (size_t k = 0; k < x->nkids; k++) {
		sbuf_append_str(out, "(");
		emit(f, x->kids[k], out);
		sbuf_append_str(out, ")");
	}
}

static const char *subject_of(const struct forest *f, int i)
{
	const struct node *x = &f->n[i];

	if (x->m == NULL && x->nkids > 0)
		x = &f->n[x->kids[0]];
	return x->m != NULL ? x->m->subject : "";
}

/* RFC 5256 4.5: threads whose roots share a base subject are put together. */
static void gather_subjects(struct forest *f)
{
	int *table = xmalloc((f->nroots > 0 ? f->nroots : 1) * sizeof(*table));
	size_t ntable = 0, out = 0;

	/* (B) one container per subject: a dummy wins, then one that is not a reply */
	for (size_t i = 0; i < f->nroots; i++) {
		int r = f->roots[i];
		const char *subj = subject_of(f, r);
		size_t k;

		if (*subj == '\0')
			continue;
		for (k = 0; k < ntable && strcmp(subject_of(f, table[k]), subj) != 0; k++)
			;
		if (k == ntable) {
			table[ntable++] = r;
		} else {
			const struct node *old = &f->n[table[k]], *new = &f->n[r];

			if ((old->m != NULL && new->m == NULL) ||
			    (old->m != NULL && new->m != NULL && old->m->reply && !new->m->reply))
				table[k] = r;
		}
	}
	/* (C) merge every other root into the table's container for its subject */
	for (size_t i = 0; i < f->nroots; i++) {
		int r = f->roots[i], e = -1;
		const char *subj = subject_of(f, r);

		for (size_t k = 0; *subj != '\0' && k < ntable; k++) {
			if (strcmp(subject_of(f, table[k]), subj) == 0)
				e = table[k];
		}
		if (e < 0 || e == r) {
			f->roots[out++] = r;
			continue;
		}
		if (f->n[e].m == NULL && f->n[r].m == NULL) {
			/* two dummies: one gets the other's children */
			for (size_t k = 0; k < f->n[r].nkids; k++)
				kid_add(f, e, f->n[r].kids[k]);
			f->n[r].nkids = 0;
		} else if (f->n[e].m == NULL ||
			   (f->n[r].m != NULL && f->n[r].m->reply && !f->n[e].m->reply)) {
			/* below a dummy, or a reply below what it replies to */
			kid_add(f, e, r);
		} else {
			/* neither is below the other: a new dummy holds both, where e was */
			int d = node_new(f, NULL, "");

			for (size_t k = 0; k < out; k++) {
				if (f->roots[k] == e)
					f->roots[k] = d;
			}
			for (size_t k = 0; k < ntable; k++) {
				if (table[k] == e)
					table[k] = d;
			}
			for (size_t k = i + 1; k < f->nroots; k++) {
				if (f->roots[k] == e)
					f->roots[k] = d;
			}
			kid_add(f, d, e);
			kid_add(f, d, r);
		}
	}
	f->nroots = out;
	free(table);
}

static void thread_references(struct imap_session *sess, const struct imap_search_result *r,
			      struct sort_msg *msgs, struct forest *f)
{
	int *all = NULL;
	size_t nall = 0, cap = 0, rcap = 0;

	link_messages(sess, r, msgs, f);
	/* (2) the root set: containers without a parent */
	for (size_t i = 0; i < f->count; i++) {
		if (f->n[i].parent < 0)
			list_push(&all, &nall, &cap, (int)i);
	}
	/* (3) */
	prune(f, all, nall, -1, &f->roots, &f->nroots, &rcap);
	free(all);
	/* (4) */
	sort_tree(f, f->roots, f->nroots);
	/* (5) */
	gather_subjects(f);
	/* (6) */
	sort_tree(f, f->roots, f->nroots);
}

/* RFC 5256 4 ORDEREDSUBJECT: by base subject, the first of each is the parent of the rest. */
static int cmp_subject_date(const void *a, const void *b)
{
	const struct sort_msg *x = a, *y = b;
	int c = strcmp(x->subject, y->subject);

	return c != 0 ? c : imap_sort_by_sent(x, y);
}

static void thread_orderedsubject(struct sort_msg *msgs, size_t n, struct forest *f)
{
	size_t cap = 0;

	if (n > 1)
		qsort(msgs, n, sizeof(*msgs), cmp_subject_date);
	for (size_t i = 0; i < n;) {
		int root = node_new(f, &msgs[i], "");
		size_t j = i + 1;

		for (; j < n && strcmp(msgs[j].subject, msgs[i].subject) == 0; j++)
			kid_add(f, root, node_new(f, &msgs[j], ""));
		list_push(&f->roots, &f->nroots, &cap, root);
		i = j;
	}
	/* threads by the date of their first message; children are in date order already */
	for (size_t i = 0; i < f->nroots; i++)
		f->n[f->roots[i]].date = f->n[f->roots[i]].m->sent;
	if (f->nroots > 1)
		qsort_r(f->roots, f->nroots, sizeof(*f->roots), cmp_nodes, f);
}

void imap_cmd_thread(struct imap_session *sess, const struct imap_arg *args, size_t nargs)
{
	struct imap_search_result r;
	struct forest f = {0};
	struct sort_msg *msgs;
	struct sbuf line = {0};
	bool refs;

	if (nargs < 3 || (!imap_arg_is_atom(&args[0], "REFERENCES") &&
			  !imap_arg_is_atom(&args[0], "ORDEREDSUBJECT"))) {
		imap_tagged(sess, "BAD Syntax: THREAD REFERENCES|ORDEREDSUBJECT charset search-keys");
		return;
	}
	refs = imap_arg_is_atom(&args[0], "REFERENCES");
	if (imap_sort_search(sess, args + 1, nargs - 1, &r) < 0)
		return;
	msgs = imap_sort_load(sess, &r);
	f.nbuckets = r.n * 2 + 16;
	f.buckets = xmalloc(f.nbuckets * sizeof(*f.buckets));
	for (size_t i = 0; i < f.nbuckets; i++)
		f.buckets[i] = -1;
	if (refs)
		thread_references(sess, &r, msgs, &f);
	else
		thread_orderedsubject(msgs, r.n, &f);
	sbuf_append_str(&line, "THREAD");
	for (size_t i = 0; i < f.nroots; i++) {
		sbuf_append_str(&line, i == 0 ? " (" : "(");
		emit(&f, f.roots[i], &line);
		sbuf_append_str(&line, ")");
	}
	imap_untagged(sess, "%s", sbuf_str(&line));
	sbuf_free(&line);
	forest_free(&f);
	imap_sort_free(msgs, r.n);
	imap_search_result_free(&r);
}
