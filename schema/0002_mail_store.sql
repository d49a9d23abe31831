-- 0002_mail_store.sql: what the mail store (lib/store*.c) needs beyond 0001.
--
-- - messages.header_prefix: the header fields the delivery agent adds for one
--   recipient (Return-Path, Delivered-To). The blob file holds the message as
--   received, so one file can be hard-linked into several mailboxes; a
--   message's bytes are header_prefix followed by the file, and its size
--   counts both.
-- - expunged_messages: UIDs expunged from a folder with the mod-sequence of
--   the expunge, for IMAP QRESYNC (RFC 7162 3.2.5: VANISHED).
-- - Functions that apply the store's rules in one round trip and under the
--   right locks, always taken in the same order (quota_usage row of the
--   mailbox, then folders rows) so concurrent writers cannot deadlock. They
--   run with the caller's privileges (SECURITY INVOKER). lib/store*.c is
--   their only caller.

ALTER TABLE messages ADD COLUMN header_prefix text NOT NULL DEFAULT '';

CREATE TABLE expunged_messages (
	folder_id bigint NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
	uid bigint NOT NULL,
	modseq bigint NOT NULL,
	PRIMARY KEY (folder_id, uid)
);
CREATE INDEX expunged_messages_modseq ON expunged_messages (folder_id, modseq);

-- Lock (making it if needed) the usage row of a mailbox.
CREATE FUNCTION sluice_store_lock_usage(p_mailbox bigint) RETURNS quota_usage
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	u quota_usage;
BEGIN
	SELECT * INTO u FROM quota_usage WHERE mailbox_id = p_mailbox FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO quota_usage (mailbox_id) VALUES (p_mailbox) ON CONFLICT DO NOTHING;
		SELECT * INTO u FROM quota_usage WHERE mailbox_id = p_mailbox FOR UPDATE;
	END IF;
	RETURN u;
END
$$;

-- A new folder (or the existing one of that name): its id. UIDVALIDITY is the
-- time, kept above every other folder's of the mailbox so that a folder
-- deleted and made again never repeats one (RFC 3501 2.3.1.1).
CREATE FUNCTION sluice_store_folder_create(p_mailbox bigint, p_name text, p_special_use text)
RETURNS bigint LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	v_id bigint;
BEGIN
	INSERT INTO folders (mailbox_id, name, uidvalidity, special_use)
	SELECT p_mailbox, p_name,
	       greatest(least(extract(epoch FROM clock_timestamp())::bigint, 4294967295),
			coalesce((SELECT max(uidvalidity) + 1 FROM folders WHERE mailbox_id = p_mailbox), 1)),
	       p_special_use
	ON CONFLICT (mailbox_id, name) DO NOTHING
	RETURNING id INTO v_id;
	IF v_id IS NULL THEN
		SELECT id INTO v_id FROM folders WHERE mailbox_id = p_mailbox AND name = p_name;
	END IF;
	RETURN v_id;
END
$$;

-- Make a mailbox's usage row and standard folders (RFC 6154 SPECIAL-USE);
-- returns the id of its INBOX. Safe to run concurrently and again.
CREATE FUNCTION sluice_store_mailbox_init(p_mailbox bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	v_inbox bigint;
BEGIN
	INSERT INTO quota_usage (mailbox_id) VALUES (p_mailbox) ON CONFLICT DO NOTHING;
	v_inbox := sluice_store_folder_create(p_mailbox, 'INBOX', NULL);
	PERFORM sluice_store_folder_create(p_mailbox, f.name, f.special_use)
	FROM (VALUES ('Sent', '\Sent'), ('Drafts', '\Drafts'), ('Trash', '\Trash'),
		     ('Junk', '\Junk'), ('Archive', '\Archive')) AS f(name, special_use);
	RETURN v_inbox;
END
$$;

-- Store one message's index row into a folder and count it. status: 'ok',
-- 'no_folder', 'over_quota' (the mailbox's bytes or messages) or
-- 'over_domain_quota'; nothing is changed unless 'ok'. The usage returned is
-- after the change. NOTIFY tells IDLE sessions (sent at COMMIT).
CREATE FUNCTION sluice_store_append(p_folder bigint, p_blob text, p_size bigint,
	p_header_prefix text, p_flags integer, p_keywords text[], p_internal_date timestamptz,
	p_envelope text, p_bodystructure text, p_preview text, p_check_quota boolean,
	OUT status text, OUT uid bigint, OUT modseq bigint, OUT used_bytes bigint,
	OUT used_messages bigint, OUT quota_bytes bigint, OUT quota_messages bigint,
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
			      envelope, bodystructure, preview, header_prefix)
	VALUES (p_folder, uid, modseq, p_blob, p_size, p_internal_date, p_flags,
		coalesce(p_keywords, '{}'), p_envelope, p_bodystructure, p_preview, p_header_prefix);
	UPDATE quota_usage SET bytes = quota_usage.bytes + p_size,
			       messages = quota_usage.messages + 1
	WHERE mailbox_id = v_mailbox
	RETURNING quota_usage.bytes, quota_usage.messages INTO used_bytes, used_messages;
	PERFORM pg_notify('sluice_mailbox_' || v_mailbox, p_folder || ' ' || modseq);
	status := 'ok';
END
$$;

-- Expunge messages of a folder: the rows go, their UIDs are remembered with
-- the new mod-sequence (RFC 7162), usage goes down and the warning level
-- follows it down so the next crossing warns again. Returns the blobs whose
-- files the caller unlinks after COMMIT.
CREATE FUNCTION sluice_store_expunge(p_folder bigint, p_uids bigint[])
RETURNS TABLE (uid bigint, blob text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	v_mailbox bigint;
	v_modseq bigint;
	v_uids bigint[];
	v_blobs text[];
	v_bytes bigint;
BEGIN
	SELECT f.mailbox_id INTO v_mailbox FROM folders f WHERE f.id = p_folder;
	IF v_mailbox IS NULL OR NOT EXISTS (SELECT 1 FROM messages m WHERE m.folder_id = p_folder
					     AND m.uid = ANY (p_uids)) THEN
		RETURN;
	END IF;
	PERFORM sluice_store_lock_usage(v_mailbox);
	UPDATE folders SET highestmodseq = folders.highestmodseq + 1 WHERE id = p_folder
	RETURNING folders.highestmodseq INTO v_modseq;
	WITH d AS (DELETE FROM messages m WHERE m.folder_id = p_folder AND m.uid = ANY (p_uids)
		   RETURNING m.uid, m.blob, m.size)
	SELECT array_agg(d.uid ORDER BY d.uid), array_agg(d.blob ORDER BY d.uid),
	       coalesce(sum(d.size), 0)
	INTO v_uids, v_blobs, v_bytes FROM d;
	IF v_uids IS NULL THEN
		RETURN;
	END IF;
	INSERT INTO expunged_messages (folder_id, uid, modseq)
	SELECT p_folder, x.uid, v_modseq FROM unnest(v_uids) AS x(uid)
	ON CONFLICT ON CONSTRAINT expunged_messages_pkey DO UPDATE SET modseq = excluded.modseq;
	UPDATE quota_usage q SET bytes = greatest(q.bytes - v_bytes, 0),
				 messages = greatest(q.messages - cardinality(v_uids), 0)
	WHERE q.mailbox_id = v_mailbox;
	PERFORM sluice_store_rewarn(v_mailbox);
	PERFORM pg_notify('sluice_mailbox_' || v_mailbox, p_folder || ' ' || v_modseq);
	RETURN QUERY SELECT x.uid, x.blob FROM unnest(v_uids, v_blobs) AS x(uid, blob);
END
$$;

-- After usage went down: lower warned_percent to the usage so that the next
-- crossing of a threshold warns again (once per crossing).
CREATE FUNCTION sluice_store_rewarn(p_mailbox bigint) RETURNS void
LANGUAGE sql AS $$
	UPDATE quota_usage q SET warned_percent = least(q.warned_percent, greatest(
		CASE WHEN m.quota_bytes > 0 THEN floor(100.0 * q.bytes / m.quota_bytes) ELSE 0 END,
		CASE WHEN m.quota_messages > 0 THEN floor(100.0 * q.messages / m.quota_messages)
		     ELSE 0 END))::smallint
	FROM mailbox_directory m
	WHERE q.mailbox_id = p_mailbox AND m.id = p_mailbox
$$;

-- Copy messages into another folder of the same mailbox: the caller made a
-- new hard link for each (p_blobs[i] for p_uids[i]). Returns the pairs of
-- UIDs (RFC 4315 COPYUID), in the order given; status 'over_quota',
-- 'over_domain_quota' or 'no_folder' with no rows copied when they do not
-- fit or a folder is gone. UIDs no longer there are skipped.
CREATE FUNCTION sluice_store_copy(p_src bigint, p_uids bigint[], p_blobs text[], p_dst bigint,
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
			      envelope, bodystructure, preview, header_prefix)
	SELECT p_dst, v_first + s.k - 1, v_modseq, s.new_blob, m.size, m.internal_date, m.flags,
	       m.keywords, m.envelope, m.bodystructure, m.preview, m.header_prefix
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

-- Move messages to another folder of the same mailbox (RFC 6851): same
-- files, new UIDs there, expunged here. Returns the pairs of UIDs.
CREATE FUNCTION sluice_store_move(p_src bigint, p_uids bigint[], p_dst bigint)
RETURNS TABLE (src_uid bigint, dst_uid bigint) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	v_mailbox bigint;
	v_uids bigint[];
	v_first bigint;
	v_dst_modseq bigint;
	v_src_modseq bigint;
BEGIN
	SELECT f.mailbox_id INTO v_mailbox FROM folders f WHERE f.id = p_dst;
	IF v_mailbox IS NULL OR p_src = p_dst OR NOT EXISTS (SELECT 1 FROM folders f
			WHERE f.id = p_src AND f.mailbox_id = v_mailbox) THEN
		RETURN;
	END IF;
	PERFORM sluice_store_lock_usage(v_mailbox);
	-- the two folder rows, in id order
	PERFORM 1 FROM folders f WHERE f.id IN (p_src, p_dst) ORDER BY f.id FOR UPDATE;
	SELECT array_agg(m.uid ORDER BY m.uid) INTO v_uids FROM messages m
	WHERE m.folder_id = p_src AND m.uid = ANY (p_uids);
	IF v_uids IS NULL THEN
		RETURN;
	END IF;
	UPDATE folders SET uidnext = folders.uidnext + cardinality(v_uids),
			   highestmodseq = folders.highestmodseq + 1
	WHERE id = p_dst RETURNING folders.uidnext - cardinality(v_uids), folders.highestmodseq
	INTO v_first, v_dst_modseq;
	UPDATE folders SET highestmodseq = folders.highestmodseq + 1 WHERE id = p_src
	RETURNING folders.highestmodseq INTO v_src_modseq;
	UPDATE messages m SET folder_id = p_dst, uid = v_first + x.n - 1, modseq = v_dst_modseq
	FROM unnest(v_uids) WITH ORDINALITY AS x(uid, n)
	WHERE m.folder_id = p_src AND m.uid = x.uid;
	INSERT INTO expunged_messages (folder_id, uid, modseq)
	SELECT p_src, x.uid, v_src_modseq FROM unnest(v_uids) AS x(uid)
	ON CONFLICT ON CONSTRAINT expunged_messages_pkey DO UPDATE SET modseq = excluded.modseq;
	PERFORM pg_notify('sluice_mailbox_' || v_mailbox, p_src || ' ' || v_src_modseq);
	PERFORM pg_notify('sluice_mailbox_' || v_mailbox, p_dst || ' ' || v_dst_modseq);
	RETURN QUERY SELECT x.uid, v_first + x.n - 1 FROM unnest(v_uids) WITH ORDINALITY AS x(uid, n)
	ORDER BY x.n;
END
$$;

-- Sorted, duplicate-free keywords.
CREATE FUNCTION sluice_store_keywords(p text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(array_agg(DISTINCT k ORDER BY k), '{}') FROM unnest(p) AS k
$$;

-- Change flags (bit mask) and keywords of messages: p_mode 'add', 'remove'
-- or 'replace'. Messages whose modseq is above p_unchangedsince (when not
-- NULL, RFC 7162 3.1.3) are left alone, as are those the change would not
-- change. Changed messages share one new mod-sequence; returns their new state.
CREATE FUNCTION sluice_store_set_flags(p_folder bigint, p_uids bigint[], p_mode text,
	p_flags integer, p_keywords text[], p_unchangedsince bigint)
RETURNS TABLE (uid bigint, modseq bigint, flags integer, keywords text[])
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	v_mailbox bigint;
	v_modseq bigint;
	v_kw text[] := sluice_store_keywords(coalesce(p_keywords, '{}'));
	v_ids bigint[];
BEGIN
	SELECT f.mailbox_id INTO v_mailbox FROM folders f WHERE f.id = p_folder FOR UPDATE;
	IF v_mailbox IS NULL THEN
		RETURN;
	END IF;
	WITH n AS (
		SELECT m.id, m.flags AS old_flags, m.keywords AS old_kw,
		       CASE p_mode WHEN 'add' THEN m.flags | p_flags
				   WHEN 'remove' THEN m.flags & ~p_flags ELSE p_flags END AS new_flags,
		       CASE p_mode WHEN 'add' THEN sluice_store_keywords(m.keywords || v_kw)
				   WHEN 'remove' THEN sluice_store_keywords(ARRAY(
					SELECT k FROM unnest(m.keywords) k WHERE k <> ALL (v_kw)))
				   ELSE v_kw END AS new_kw
		FROM messages m
		WHERE m.folder_id = p_folder AND m.uid = ANY (p_uids)
		  AND (p_unchangedsince IS NULL OR m.modseq <= p_unchangedsince))
	SELECT array_agg(n.id) INTO v_ids FROM n
	WHERE n.new_flags <> n.old_flags OR n.new_kw <> sluice_store_keywords(n.old_kw);
	IF v_ids IS NULL THEN
		RETURN;
	END IF;
	UPDATE folders SET highestmodseq = folders.highestmodseq + 1 WHERE id = p_folder
	RETURNING folders.highestmodseq INTO v_modseq;
	UPDATE messages m SET modseq = v_modseq,
		flags = CASE p_mode WHEN 'add' THEN m.flags | p_flags
				    WHEN 'remove' THEN m.flags & ~p_flags ELSE p_flags END,
		keywords = CASE p_mode WHEN 'add' THEN sluice_store_keywords(m.keywords || v_kw)
				       WHEN 'remove' THEN sluice_store_keywords(ARRAY(
					SELECT k FROM unnest(m.keywords) k WHERE k <> ALL (v_kw)))
				       ELSE v_kw END
	WHERE m.id = ANY (v_ids);
	PERFORM pg_notify('sluice_mailbox_' || v_mailbox, p_folder || ' ' || v_modseq);
	RETURN QUERY SELECT m.uid, m.modseq, m.flags, m.keywords FROM messages m
	WHERE m.id = ANY (v_ids) ORDER BY m.uid;
END
$$;

-- Count a mailbox's usage again from its messages (sluice-admin quota recalc,
-- store check), under the lock deliveries take. Returns before and after.
CREATE FUNCTION sluice_store_quota_recalc(p_mailbox bigint, OUT old_bytes bigint,
	OUT old_messages bigint, OUT new_bytes bigint, OUT new_messages bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	u quota_usage;
BEGIN
	u := sluice_store_lock_usage(p_mailbox);
	old_bytes := u.bytes;
	old_messages := u.messages;
	SELECT coalesce(sum(m.size), 0), count(m.id) INTO new_bytes, new_messages
	FROM messages m JOIN folders f ON f.id = m.folder_id WHERE f.mailbox_id = p_mailbox;
	UPDATE quota_usage q SET bytes = new_bytes, messages = new_messages
	WHERE q.mailbox_id = p_mailbox;
	PERFORM sluice_store_rewarn(p_mailbox);
END
$$;

-- Folders whose UIDNEXT is not above every UID they hold (a damaged index):
-- raise it, so a UID is never given twice (RFC 3501 2.3.1.1).
CREATE FUNCTION sluice_store_fix_uidnext(p_mailbox bigint) RETURNS bigint
LANGUAGE sql AS $$
	WITH fixed AS (
		UPDATE folders f SET uidnext = x.max_uid + 1
		FROM (SELECT m.folder_id, max(m.uid) AS max_uid FROM messages m
		      JOIN folders f2 ON f2.id = m.folder_id WHERE f2.mailbox_id = p_mailbox
		      GROUP BY m.folder_id) x
		WHERE f.id = x.folder_id AND f.uidnext <= x.max_uid RETURNING f.id)
	SELECT count(*) FROM fixed
$$;

REVOKE EXECUTE ON FUNCTION sluice_store_lock_usage(bigint), sluice_store_folder_create(bigint, text, text),
	sluice_store_mailbox_init(bigint),
	sluice_store_append(bigint, text, bigint, text, integer, text[], timestamptz, text, text, text,
			    boolean),
	sluice_store_expunge(bigint, bigint[]), sluice_store_rewarn(bigint),
	sluice_store_copy(bigint, bigint[], text[], bigint, boolean),
	sluice_store_move(bigint, bigint[], bigint), sluice_store_keywords(text[]),
	sluice_store_set_flags(bigint, bigint[], text, integer, text[], bigint),
	sluice_store_quota_recalc(bigint), sluice_store_fix_uidnext(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sluice_store_lock_usage(bigint), sluice_store_folder_create(bigint, text, text),
	sluice_store_mailbox_init(bigint),
	sluice_store_append(bigint, text, bigint, text, integer, text[], timestamptz, text, text, text,
			    boolean),
	sluice_store_expunge(bigint, bigint[]), sluice_store_rewarn(bigint),
	sluice_store_copy(bigint, bigint[], text[], bigint, boolean),
	sluice_store_move(bigint, bigint[], bigint), sluice_store_keywords(text[]),
	sluice_store_set_flags(bigint, bigint[], text, integer, text[], bigint),
	sluice_store_quota_recalc(bigint), sluice_store_fix_uidnext(bigint)
	TO sluice_mda, sluice_imapd, sluice_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON expunged_messages TO sluice_mda, sluice_imapd, sluice_admin;
