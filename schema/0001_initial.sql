-- 0001_initial.sql: the Sluice schema, first version.
--
-- One schema for every program. Names are stored normalized: domains in
-- lower-case A-label form; local parts as given, looked up through lower().
-- Roles: one NOLOGIN group role per component with least privilege; login
-- roles are made by the administrator (or deploy/quickstart) and granted
-- membership. Only sluice_authd may read password hashes; sluice_admin may
-- write them but not read them (column privileges).
-- Applied by `sluice-admin db migrate` in one transaction, as the database owner
-- (with CREATEROLE for the group roles).

DO $$
DECLARE r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['sluice_authd', 'sluice_mta', 'sluice_mda', 'sluice_imapd',
				  'sluice_sieved', 'sluice_admin']
	LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
			BEGIN
				EXECUTE format('CREATE ROLE %I NOLOGIN', r);
			EXCEPTION WHEN duplicate_object OR unique_violation THEN
				NULL;  -- another database of this cluster made it just now
			END;
		END IF;
	END LOOP;
END
$$;

CREATE TABLE domains (
	id bigserial PRIMARY KEY,
	name text NOT NULL UNIQUE
		CHECK (name = lower(name) AND length(name) BETWEEN 1 AND 253),
	description text NOT NULL DEFAULT '',
	active boolean NOT NULL DEFAULT true,
	max_mailboxes integer NOT NULL DEFAULT 0 CHECK (max_mailboxes >= 0),   -- 0: no limit
	max_aliases integer NOT NULL DEFAULT 0 CHECK (max_aliases >= 0),       -- 0: no limit
	quota_bytes bigint NOT NULL DEFAULT 0 CHECK (quota_bytes >= 0),        -- 0: no limit
	default_mailbox_quota_bytes bigint NOT NULL DEFAULT 0
		CHECK (default_mailbox_quota_bytes >= 0),
	-- backup MX / relay domain: mail is accepted and queued for the next hop
	backup_mx boolean NOT NULL DEFAULT false,
	created timestamptz NOT NULL DEFAULT now(),
	modified timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mailboxes (
	id bigserial PRIMARY KEY,
	domain_id bigint NOT NULL REFERENCES domains(id) ON DELETE RESTRICT,
	local_part text NOT NULL CHECK (length(local_part) BETWEEN 1 AND 64),
	display_name text NOT NULL DEFAULT '',
	password_hash text NOT NULL DEFAULT '',
	quota_bytes bigint NOT NULL DEFAULT 0 CHECK (quota_bytes >= 0),        -- 0: no limit
	quota_messages bigint NOT NULL DEFAULT 0 CHECK (quota_messages >= 0),  -- 0: no limit
	active boolean NOT NULL DEFAULT true,
	-- may send as any address of its domain (e.g. a web application's mailbox)
	send_as_domain boolean NOT NULL DEFAULT false,
	-- folder under mail_root, fixed at creation so a rename moves no files
	storage_dir text NOT NULL UNIQUE,
	created timestamptz NOT NULL DEFAULT now(),
	modified timestamptz NOT NULL DEFAULT now(),
	last_login timestamptz
);
CREATE UNIQUE INDEX mailboxes_address ON mailboxes (domain_id, lower(local_part));

-- An alias: an address, or the catch-all of its domain (local_part = ''),
-- with one or more destinations (local or remote addresses).
CREATE TABLE aliases (
	id bigserial PRIMARY KEY,
	domain_id bigint NOT NULL REFERENCES domains(id) ON DELETE RESTRICT,
	local_part text NOT NULL CHECK (length(local_part) <= 64),
	active boolean NOT NULL DEFAULT true,
	created timestamptz NOT NULL DEFAULT now(),
	modified timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX aliases_address ON aliases (domain_id, lower(local_part));

CREATE TABLE alias_destinations (
	alias_id bigint NOT NULL REFERENCES aliases(id) ON DELETE CASCADE,
	-- normalized address: local part as given, domain lower-case A-label
	destination text NOT NULL CHECK (length(destination) BETWEEN 3 AND 320),
	PRIMARY KEY (alias_id, destination)
);
CREATE INDEX alias_destinations_destination ON alias_destinations (lower(destination));

-- user@name is user@target for every local part (mailboxes and aliases).
CREATE TABLE alias_domains (
	id bigserial PRIMARY KEY,
	name text NOT NULL UNIQUE CHECK (name = lower(name) AND length(name) BETWEEN 1 AND 253),
	target_domain_id bigint NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
	active boolean NOT NULL DEFAULT true,
	created timestamptz NOT NULL DEFAULT now(),
	modified timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alias_domains_target ON alias_domains (target_domain_id);

CREATE TABLE sieve_scripts (
	id bigserial PRIMARY KEY,
	mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
	content text NOT NULL,
	active boolean NOT NULL DEFAULT false,
	created timestamptz NOT NULL DEFAULT now(),
	modified timestamptz NOT NULL DEFAULT now(),
	UNIQUE (mailbox_id, name)
);
CREATE UNIQUE INDEX sieve_scripts_one_active ON sieve_scripts (mailbox_id) WHERE active;

-- Current usage per mailbox; changed in the same transaction as the index.
CREATE TABLE quota_usage (
	mailbox_id bigint PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
	bytes bigint NOT NULL DEFAULT 0,
	messages bigint NOT NULL DEFAULT 0,
	-- highest warning threshold (percent) already announced to the user
	warned_percent smallint NOT NULL DEFAULT 0
);

-- Every change made through sluice-admin.
CREATE TABLE audit_log (
	id bigserial PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT now(),
	actor text NOT NULL,
	action text NOT NULL,
	object text NOT NULL,
	details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);

-- The IMAP index: folders of a mailbox and the messages in them. The MDA and
-- IMAP issues extend these tables in later migrations.
CREATE TABLE folders (
	id bigserial PRIMARY KEY,
	mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 1024),  -- UTF-8, '/' separated
	uidvalidity bigint NOT NULL CHECK (uidvalidity BETWEEN 1 AND 4294967295),
	uidnext bigint NOT NULL DEFAULT 1,
	highestmodseq bigint NOT NULL DEFAULT 1,
	special_use text,   -- '\Sent', '\Drafts', '\Trash', '\Junk', '\Archive' or NULL
	subscribed boolean NOT NULL DEFAULT true,
	created timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX folders_name ON folders (mailbox_id, name);

CREATE TABLE messages (
	id bigserial PRIMARY KEY,
	folder_id bigint NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
	uid bigint NOT NULL,
	modseq bigint NOT NULL,
	blob text NOT NULL,          -- file of the body, relative to the mailbox's storage_dir
	size bigint NOT NULL,
	internal_date timestamptz NOT NULL,
	flags integer NOT NULL DEFAULT 0,      -- bit mask of the system flags
	keywords text[] NOT NULL DEFAULT '{}',
	envelope text,
	bodystructure text,
	preview text,
	UNIQUE (folder_id, uid)
);
CREATE INDEX messages_modseq ON messages (folder_id, modseq);

-- What the MTA, MDA, IMAP and ManageSieve servers look mailboxes up through:
-- everything but the password hash.
CREATE VIEW mailbox_directory AS
	SELECT m.id, m.domain_id, d.name AS domain, m.local_part, m.display_name,
	       m.quota_bytes, m.quota_messages, m.active AND d.active AS active,
	       m.send_as_domain, m.storage_dir
	FROM mailboxes m JOIN domains d ON d.id = m.domain_id;

-- Privileges. sluice_admin: everything but reading password hashes.
GRANT SELECT, INSERT, UPDATE, DELETE ON domains, aliases, alias_destinations, alias_domains,
	sieve_scripts, quota_usage, folders, messages TO sluice_admin;
GRANT SELECT (id, domain_id, local_part, display_name, quota_bytes, quota_messages, active,
	      send_as_domain, storage_dir, created, modified, last_login),
      INSERT, UPDATE, DELETE ON mailboxes TO sluice_admin;
GRANT SELECT, INSERT ON audit_log TO sluice_admin;
GRANT SELECT ON mailbox_directory TO sluice_admin, sluice_mta, sluice_mda, sluice_imapd,
	sluice_sieved, sluice_authd;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO sluice_admin, sluice_mda, sluice_imapd,
	sluice_sieved;

-- sluice_authd: the only reader of password hashes; writes upgraded hashes and last_login.
GRANT SELECT ON domains, mailboxes TO sluice_authd;
GRANT UPDATE (password_hash, last_login) ON mailboxes TO sluice_authd;

-- sluice_mta: recipient and sender lookups.
GRANT SELECT ON domains, aliases, alias_destinations, alias_domains, quota_usage TO sluice_mta;

-- sluice_mda: delivery, Sieve, quota.
GRANT SELECT ON domains, aliases, alias_destinations, alias_domains, sieve_scripts TO sluice_mda;
GRANT SELECT, INSERT, UPDATE, DELETE ON folders, messages, quota_usage TO sluice_mda;

-- sluice_imapd: the index.
GRANT SELECT ON domains TO sluice_imapd;
GRANT SELECT, INSERT, UPDATE, DELETE ON folders, messages, quota_usage TO sluice_imapd;

-- sluice_sieved: the scripts.
GRANT SELECT ON domains TO sluice_sieved;
GRANT SELECT, INSERT, UPDATE, DELETE ON sieve_scripts TO sluice_sieved;
