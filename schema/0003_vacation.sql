-- 0003_vacation.sql: out-of-office replies set by the administrator
-- (`sluice-admin vacation set|off|show`, PostfixAdmin's vacation feature).
--
-- One row per mailbox. The delivery agent turns an active row into a Sieve
-- script (lib/vacation.c: the vacation action of RFC 5230 inside a
-- currentdate test of RFC 5260 for starts/ends) that runs beside the user's
-- own script, so a vacation starts and ends by itself with no cron job, and
-- RFC 3834's rules (no replies to lists, bulk, auto-submitted mail or the
-- null sender; one reply per sender per period) come from the interpreter.
-- `off` keeps the row with active = false, so `show` still tells what it was.

CREATE TABLE vacations (
	mailbox_id bigint PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
	active boolean NOT NULL DEFAULT true,
	-- the reply's Subject (one line) and text body, UTF-8
	subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 998 AND subject !~ '[\r\n]'),
	body text NOT NULL CHECK (octet_length(body) BETWEEN 1 AND 1048576),
	starts timestamptz,  -- NULL: from now on
	ends timestamptz,    -- NULL: until switched off
	-- days between two replies to one sender (Sieve :days); NULL: sieve_vacation_default_period
	days integer CHECK (days BETWEEN 1 AND 3650),
	-- further addresses of the mailbox that count as "addressed to me" (Sieve :addresses)
	addresses text[] NOT NULL DEFAULT '{}',
	created timestamptz NOT NULL DEFAULT now(),
	modified timestamptz NOT NULL DEFAULT now(),
	CHECK (starts IS NULL OR ends IS NULL OR starts < ends)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON vacations TO sluice_admin;
GRANT SELECT ON vacations TO sluice_mda;
