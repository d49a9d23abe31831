-- 0005_store_uidnext.sql: sluice_store_fix_uidnext (0002) also looks at the
-- UIDs a folder once held. `store check` expunges rows whose file is gone
-- before it checks UIDNEXT; counting only the rows left, a UID just expunged
-- could be given again, which RFC 3501 2.3.1.1 forbids. Same signature and
-- grants as before.

CREATE OR REPLACE FUNCTION sluice_store_fix_uidnext(p_mailbox bigint) RETURNS bigint
LANGUAGE sql AS $$
	WITH used AS (
		SELECT m.folder_id, m.uid FROM messages m
		JOIN folders f2 ON f2.id = m.folder_id WHERE f2.mailbox_id = p_mailbox
		UNION ALL
		SELECT e.folder_id, e.uid FROM expunged_messages e
		JOIN folders f3 ON f3.id = e.folder_id WHERE f3.mailbox_id = p_mailbox),
	fixed AS (
		UPDATE folders f SET uidnext = x.max_uid + 1
		FROM (SELECT u.folder_id, max(u.uid) AS max_uid FROM used u GROUP BY u.folder_id) x
		WHERE f.id = x.folder_id AND f.uidnext <= x.max_uid RETURNING f.id)
	SELECT count(*) FROM fixed
$$;
