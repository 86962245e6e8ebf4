-- jauth's shared state store on PostgreSQL (jauth.conf(5), "store").
-- `jauth store init SERVICE` runs this file; running it again changes
-- nothing. Installed as $(DATADIR)/pgsql/schema.sql.
--
-- One row per record a module keeps (an OAuth grant, ...). The record is
-- the same JSON document the file store keeps; the columns around it are
-- the store's own: the generation every write compares and sets (fencing),
-- who committed the pending intent mark and when, who wrote last.
CREATE TABLE IF NOT EXISTS jauth_record (
	service    text        NOT NULL, -- the stack's service name
	module     text        NOT NULL, -- the module that owns the record
	key        text        NOT NULL, -- the module's key for it
	record     text,                 -- the JSON record; NULL once removed
	generation bigint      NOT NULL, -- +1 on every write, never reset
	write_id   text,                 -- nonce of the last write
	holder     text,                 -- "host:pid" of the pending intent
	intent_at  timestamptz,          -- when that intent was committed
	updated_by text,                 -- "host:pid" of the last write
	updated_at timestamptz NOT NULL DEFAULT now(),
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (service, module, key)
);
COMMENT ON TABLE jauth_record IS
	'jauth state store: one row per module record (see jauth.conf(5))';
