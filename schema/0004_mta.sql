-- 0004_mta.sql: what sluice-smtpd needs beyond 0001.
--
-- - domains.send_as_domain: every mailbox of the domain may use any address
--   of the domain (and of its alias domains) as its envelope sender on the
--   submission ports, as mailboxes.send_as_domain allows for one mailbox
--   (e.g. a web application's). Off by default: a user sends as its own
--   addresses and the aliases that reach it (lib/recipient.c).

ALTER TABLE domains ADD COLUMN send_as_domain boolean NOT NULL DEFAULT false;
