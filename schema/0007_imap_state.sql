-- 0007_imap_state.sql: what sluice-imapd needs beyond the store of 0002.
--
-- 1. Opening a folder reads every message's UID, mod-sequence and flags.
--    The (folder_id, uid) key now carries modseq and flags, so that read is
--    an index-only scan that never touches the wide message rows; the few
--    messages with keywords are found through a partial index.
-- 2. \Recent (RFC 3501 2.3.2): folders.first_recent_uid is the first UID no
--    session has been told of yet; sluice_store_claim_recent() moves it
--    forward for the session that selects the folder read-write.
-- 3. Subscriptions (RFC 3501 6.3.6, RFC 9051 6.3.7) are names, not folders:
--    a name stays subscribed when its folder is deleted, and a name may be
--    subscribed before its folder exists. They move to a table of their own;
--    a new folder is subscribed as before.

ALTER TABLE messages DROP CONSTRAINT messages_folder_id_uid_key;
ALTER TABLE messages ADD CONSTRAINT messages_folder_id_uid_key
	UNIQUE (folder_id, uid) INCLUDE (modseq, flags);
CREATE INDEX messages_keywords ON messages (folder_id) WHERE keywords <> '{}';

-- Messages with UIDs below it were recent for some session already.
ALTER TABLE folders ADD COLUMN first_recent_uid bigint NOT NULL DEFAULT 1;
UPDATE folders SET first_recent_uid = uidnext;

-- Claim the messages below p_upto (the caller's view of UIDNEXT) that no
-- session was told of: returns the first UID recent for the caller (every
-- UID from it to p_upto - 1). Writes nothing when there is nothing to claim,
-- so a SELECT of a folder without new mail stays a read.
CREATE FUNCTION sluice_store_claim_recent(p_folder bigint, p_upto bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	v_first bigint;
BEGIN
	SELECT first_recent_uid INTO v_first FROM folders WHERE id = p_folder;
	IF v_first IS NULL OR v_first >= p_upto THEN
		RETURN p_upto;
	END IF;
	SELECT first_recent_uid INTO v_first FROM folders WHERE id = p_folder FOR UPDATE;
	IF v_first IS NULL OR v_first >= p_upto THEN
		RETURN p_upto;
	END IF;
	UPDATE folders SET first_recent_uid = p_upto WHERE id = p_folder;
	RETURN v_first;
END
$$;
REVOKE EXECUTE ON FUNCTION sluice_store_claim_recent(bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sluice_store_claim_recent(bigint, bigint) TO sluice_imapd, sluice_admin;

CREATE TABLE subscriptions (
	mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	name text NOT NULL,
	PRIMARY KEY (mailbox_id, name)
);
INSERT INTO subscriptions (mailbox_id, name)
	SELECT mailbox_id, name FROM folders WHERE subscribed;
ALTER TABLE folders DROP COLUMN subscribed;
-- every role that may make or rename folders through lib/store.h
GRANT SELECT, INSERT, UPDATE, DELETE ON subscriptions TO sluice_mda, sluice_imapd, sluice_admin;

-- A new folder's name is subscribed, whoever makes it (IMAP CREATE, Sieve
-- :create, sluice_store_mailbox_init).
CREATE FUNCTION sluice_subscribe_new_folder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO subscriptions (mailbox_id, name) VALUES (NEW.mailbox_id, NEW.name)
	ON CONFLICT DO NOTHING;
	RETURN NULL;
END
$$;
CREATE TRIGGER folders_subscribe AFTER INSERT ON folders
	FOR EACH ROW EXECUTE FUNCTION sluice_subscribe_new_folder();
