-- 0009_header_fields.sql: the header fields IMAP clients list in their
-- message views (FETCH BODY.PEEK[HEADER.FIELDS (From To Subject ...)]) are
-- kept in the index with the other caches, so that FETCH, THREAD and SEARCH
-- HEADER of those names open no file. messages.header_fields holds the
-- fields of a fixed set (lib/imap_envelope.h, imap_header_cached()) as
-- written in the message, then the blank line; NULL where nothing was cached
-- (rows stored before, headers that are not UTF-8): the file answers then.
-- Changing the set needs a migration that sets the column to NULL.

ALTER TABLE messages ADD COLUMN header_fields text;

-- sluice_store_append of 0002 with the fields as a last argument (DEFAULT NULL:
-- a daemon not yet restarted after the migration keeps delivering, uncached).
DROP FUNCTION sluice_store_append(bigint, text, bigint, text, integer, text[], timestamptz, text,
	text, text, boolean);

CREATE FUNCTION sluice_store_append(p_folder bigint, p_blob text, p_size bigint,
	p_header_prefix text, p_flags integer, p_keywords text[], p_internal_date timestamptz,
	p_envelope text, p_bodystructure text, p_preview text, p_check_quota boolean,
	p_header_fields text DEFAULT NULL, OUT status text, OUT uid bigint, OUT modseq bigint,
	OUT used_bytes bigint, OUT used_messages bigint, OUT quota_bytes bigint, OUT quota_messages bigint,
	OUT warned_percent integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	v_mailbox bigint;
	v_domain bigint;
	v_domain_quota bigint;
	v_domain_used bigint;
	u quota_usage;
BEGIN
	SELECT f.mailbox_id INTO v_mailbox FROM folders f WHERE f.id = p_folder;
	IF v_mailbox IS NULL THEN
		status := 'no_folder';
		RETURN;
	END IF;
	u := sluice_store_lock_usage(v_mailbox);
	SELECT m.quota_bytes, m.quota_messages, m.domain_id, d.quota_bytes
	INTO quota_bytes, quota_messages, v_domain, v_domain_quota
	FROM mailbox_directory m JOIN domains d ON d.id = m.domain_id WHERE m.id = v_mailbox;
	used_bytes := u.bytes;
	used_messages := u.messages;
	warned_percent := u.warned_percent;
	IF p_check_quota THEN
		IF (quota_bytes > 0 AND u.bytes + p_size > quota_bytes) OR
		   (quota_messages > 0 AND u.messages + 1 > quota_messages) THEN
			status := 'over_quota';
			RETURN;
		END IF;
		IF v_domain_quota > 0 THEN
			SELECT coalesce(sum(q.bytes), 0) INTO v_domain_used
			FROM quota_usage q JOIN mailbox_directory m ON m.id = q.mailbox_id
			WHERE m.domain_id = v_domain;
			IF v_domain_used + p_size > v_domain_quota THEN
				status := 'over_domain_quota';
				RETURN;
			END IF;
		END IF;
	END IF;
	UPDATE folders SET uidnext = folders.uidnext + 1, highestmodseq = folders.highestmodseq + 1
	WHERE id = p_folder RETURNING folders.uidnext - 1, folders.highestmodseq INTO uid, modseq;
	INSERT INTO messages (folder_id, uid, modseq, blob, size, internal_date, flags, keywords,
			      envelope, bodystructure, preview, header_prefix, header_fields)
	VALUES (p_folder, uid, modseq, p_blob, p_size, p_internal_date, p_flags,
		coalesce(p_keywords, '{}'), p_envelope, p_bodystructure, p_preview, p_header_prefix,
		p_header_fields);
	UPDATE quota_usage SET bytes = quota_usage.bytes + p_size,
			       messages = quota_usage.messages + 1
	WHERE mailbox_id = v_mailbox
	RETURNING quota_usage.bytes, quota_usage.messages INTO used_bytes, used_messages;
	PERFORM pg_notify('sluice_mailbox_' || v_mailbox, p_folder || ' ' || modseq);
	status := 'ok';
END
$$;

REVOKE EXECUTE ON FUNCTION sluice_store_append(bigint, text, bigint, text, integer, text[],
	timestamptz, text, text, text, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sluice_store_append(bigint, text, bigint, text, integer, text[],
	timestamptz, text, text, text, boolean, text) TO sluice_mda, sluice_imapd, sluice_admin;

-- sluice_store_copy of 0002, copying the cached fields too.
CREATE OR REPLACE FUNCTION sluice_store_copy(p_src bigint, p_uids bigint[], p_blobs text[], p_dst bigint,
	p_check_quota boolean)
RETURNS TABLE (status text, src_uid bigint, dst_uid bigint) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	v_mailbox bigint;
	v_domain bigint;
	v_qb bigint;
	v_qm bigint;
	v_dq bigint;
	v_used bigint;
	v_bytes bigint;
	v_count bigint;
	v_first bigint;
	v_modseq bigint;
	u quota_usage;
BEGIN
	SELECT f.mailbox_id INTO v_mailbox FROM folders f WHERE f.id = p_dst;
	IF v_mailbox IS NULL OR NOT EXISTS (SELECT 1 FROM folders f WHERE f.id = p_src
					     AND f.mailbox_id = v_mailbox) THEN
		RETURN QUERY SELECT 'no_folder'::text, NULL::bigint, NULL::bigint;
		RETURN;
	END IF;
	u := sluice_store_lock_usage(v_mailbox);
	SELECT count(*), coalesce(sum(m.size), 0) INTO v_count, v_bytes
	FROM unnest(p_uids) AS x(uid) JOIN messages m ON m.folder_id = p_src AND m.uid = x.uid;
	IF v_count = 0 THEN
		RETURN QUERY SELECT 'ok'::text, NULL::bigint, NULL::bigint;
		RETURN;
	END IF;
	IF p_check_quota THEN
		SELECT m.quota_bytes, m.quota_messages, m.domain_id, d.quota_bytes
		INTO v_qb, v_qm, v_domain, v_dq
		FROM mailbox_directory m JOIN domains d ON d.id = m.domain_id WHERE m.id = v_mailbox;
		IF (v_qb > 0 AND u.bytes + v_bytes > v_qb) OR
		   (v_qm > 0 AND u.messages + v_count > v_qm) THEN
			RETURN QUERY SELECT 'over_quota'::text, NULL::bigint, NULL::bigint;
			RETURN;
		END IF;
		IF v_dq > 0 THEN
			SELECT coalesce(sum(q.bytes), 0) INTO v_used
			FROM quota_usage q JOIN mailbox_directory m ON m.id = q.mailbox_id
			WHERE m.domain_id = v_domain;
			IF v_used + v_bytes > v_dq THEN
				RETURN QUERY SELECT 'over_domain_quota'::text, NULL::bigint, NULL::bigint;
				RETURN;
			END IF;
		END IF;
	END IF;
	UPDATE folders SET uidnext = folders.uidnext + v_count,
			   highestmodseq = folders.highestmodseq + 1
	WHERE id = p_dst RETURNING folders.uidnext - v_count, folders.highestmodseq
	INTO v_first, v_modseq;
	INSERT INTO messages (folder_id, uid, modseq, blob, size, internal_date, flags, keywords,
			      envelope, bodystructure, preview, header_prefix, header_fields)
	SELECT p_dst, v_first + s.k - 1, v_modseq, s.new_blob, m.size, m.internal_date, m.flags,
	       m.keywords, m.envelope, m.bodystructure, m.preview, m.header_prefix, m.header_fields
	FROM (SELECT row_number() OVER (ORDER BY x.n) AS k, x.uid, x.blob AS new_blob
	      FROM unnest(p_uids, p_blobs) WITH ORDINALITY AS x(uid, blob, n)
	      JOIN messages m2 ON m2.folder_id = p_src AND m2.uid = x.uid) s
	JOIN messages m ON m.folder_id = p_src AND m.uid = s.uid;
	UPDATE quota_usage q SET bytes = q.bytes + v_bytes, messages = q.messages + v_count
	WHERE q.mailbox_id = v_mailbox;
	PERFORM pg_notify('sluice_mailbox_' || v_mailbox, p_dst || ' ' || v_modseq);
	RETURN QUERY
	SELECT 'ok'::text, s.uid, v_first + s.k - 1
	FROM (SELECT row_number() OVER (ORDER BY x.n) AS k, x.uid
	      FROM unnest(p_uids) WITH ORDINALITY AS x(uid, n)
	      JOIN messages m2 ON m2.folder_id = p_src AND m2.uid = x.uid) s
	ORDER BY s.k;
END
$$;
