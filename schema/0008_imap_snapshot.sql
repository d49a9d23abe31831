-- 0008_imap_snapshot.sql: sluice-imapd reads a folder's UIDs, flags and
-- sizes in one index-only scan when it loads a folder into its in-memory
-- snapshot (imapd/imap_view_cache.h), so the (folder_id, uid) key of 0007
-- carries the size too.

ALTER TABLE messages DROP CONSTRAINT messages_folder_id_uid_key;
ALTER TABLE messages ADD CONSTRAINT messages_folder_id_uid_key
	UNIQUE (folder_id, uid) INCLUDE (modseq, flags, size);
