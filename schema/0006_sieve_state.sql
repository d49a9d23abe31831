-- 0006_sieve_state.sql: what Sieve remembers per mailbox between deliveries
-- (sluice-lmtpd, mda/lmtpd_sieve.c).
--
-- sieve_vacation_replies: who got a vacation reply, with which :handle, and
-- when (RFC 5230 4.2: one reply per sender per :days). A row is written only
-- after the injection socket accepted the reply.
-- sieve_duplicates: the ids the duplicate test (RFC 7352) has seen; `id`
-- holds the handle and the tracked value, `expires` the end of its period.
-- Rows past expiry are deleted by the delivery agent as it goes.

CREATE TABLE sieve_vacation_replies (
	mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	sender text NOT NULL,
	handle text NOT NULL,
	replied_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (mailbox_id, sender, handle)
);

CREATE TABLE sieve_duplicates (
	mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	id text NOT NULL,
	expires timestamptz NOT NULL,
	PRIMARY KEY (mailbox_id, id)
);
CREATE INDEX sieve_duplicates_expires ON sieve_duplicates (mailbox_id, expires);

GRANT SELECT, INSERT, UPDATE, DELETE ON sieve_vacation_replies, sieve_duplicates TO sluice_mda;
GRANT SELECT, DELETE ON sieve_vacation_replies, sieve_duplicates TO sluice_admin;
