-- The audit trail in its own PostgreSQL database (the seed's §5.1): schema `audit`.
-- Run once by a database administrator connected to that database, e.g.
--   python -m lakehouse.governance.audit.postgres_setup --print | psql -d audit
-- Group roles (NOLOGIN); grant them to login users whose passwords live in Secrets only:
--   @owner@      owns every object; nobody logs in as it
--   @writer@     the code location: INSERT only, on the content columns (the trigger chains)
--   @reader@     administrators: SELECT only
--   @retention@  the retention job: may only call audit.purge(cutoff, actor)
-- The hash chain is computed here, in the trigger, under a row lock on audit.chain_head:
-- concurrent writers queue on that lock, so the chain never forks and the writer can neither
-- read the rows nor choose a hash. lakehouse/governance/audit/chain.py hashes the same text.

DO $roles$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['@owner@', '@writer@', '@reader@', '@retention@'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = name) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', name);
        END IF;
    END LOOP;
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO @writer@, @reader@, @retention@',
                   current_database());
END
$roles$;

CREATE SCHEMA IF NOT EXISTS audit AUTHORIZATION @owner@;
REVOKE ALL ON SCHEMA audit FROM PUBLIC;
SET ROLE @owner@;

CREATE TABLE IF NOT EXISTS audit.events (
    seq bigint PRIMARY KEY,
    at timestamptz NOT NULL,
    actor text NOT NULL CHECK (actor <> ''),
    run_id text,
    object text NOT NULL CHECK (object <> ''),
    action text NOT NULL CHECK (action <> ''),
    details text NOT NULL,
    details_json jsonb GENERATED ALWAYS AS (details::jsonb) STORED,
    event_key text UNIQUE,
    prev_hash text NOT NULL UNIQUE,
    hash text NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS events_at ON audit.events (at);
CREATE INDEX IF NOT EXISTS events_object ON audit.events (object text_pattern_ops);

CREATE TABLE IF NOT EXISTS audit.chain_head (
    id int PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL,
    hash text NOT NULL
);
INSERT INTO audit.chain_head VALUES (1, 0, repeat('0', 64)) ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION audit.row_hash(
    seq bigint, prev_hash text, at timestamptz, actor text, run_id text, object text,
    action text, details text, event_key text
) RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT encode(sha256(convert_to(concat_ws(chr(31),
        seq::text, prev_hash,
        to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        actor, coalesce(run_id, ''), object, action, details, coalesce(event_key, '')
    ), 'UTF8')), 'hex')
$$;

CREATE OR REPLACE FUNCTION audit.chain_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    head_seq bigint;
    head_hash text;
BEGIN
    SELECT seq, hash INTO head_seq, head_hash FROM audit.chain_head WHERE id = 1 FOR UPDATE;
    IF NEW.event_key IS NOT NULL
       AND EXISTS (SELECT FROM audit.events WHERE event_key = NEW.event_key) THEN
        RETURN NULL;  -- already recorded: an idempotent replay, not a new row
    END IF;
    NEW.seq := head_seq + 1;
    NEW.prev_hash := head_hash;
    NEW.hash := audit.row_hash(NEW.seq, NEW.prev_hash, NEW.at, NEW.actor, NEW.run_id,
                               NEW.object, NEW.action, NEW.details, NEW.event_key);
    UPDATE audit.chain_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION audit.refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('audit.purging', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit.events is append-only: % refused', TG_OP;
END
$$;

DROP TRIGGER IF EXISTS events_chain ON audit.events;
CREATE TRIGGER events_chain BEFORE INSERT ON audit.events
    FOR EACH ROW EXECUTE FUNCTION audit.chain_row();
DROP TRIGGER IF EXISTS events_append_only ON audit.events;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON audit.events
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
DROP TRIGGER IF EXISTS events_no_truncate ON audit.events;
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON audit.events
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

-- Retention (7 years): delete the oldest rows before the cutoff and chain a checkpoint naming
-- the last one deleted, so the first kept row still anchors. Serialised with the writers.
CREATE OR REPLACE FUNCTION audit.purge(cutoff timestamptz, purged_by text)
RETURNS TABLE (purged_rows bigint, through_seq bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    first_kept bigint;
    last_seq bigint;
    last_hash text;
    deleted bigint;
BEGIN
    PERFORM FROM audit.chain_head WHERE id = 1 FOR UPDATE;
    SELECT min(seq) INTO first_kept FROM audit.events WHERE at >= cutoff;
    SELECT e.seq, e.hash INTO last_seq, last_hash FROM audit.events e
        WHERE first_kept IS NULL OR e.seq < first_kept ORDER BY e.seq DESC LIMIT 1;
    IF last_seq IS NULL THEN
        RETURN QUERY SELECT 0::bigint, NULL::bigint;
        RETURN;
    END IF;
    PERFORM set_config('audit.purging', 'on', true);
    DELETE FROM audit.events WHERE seq <= last_seq;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    PERFORM set_config('audit.purging', 'off', true);
    INSERT INTO audit.events (at, actor, object, action, details) VALUES (
        clock_timestamp(), purged_by, 'audit', 'audit.purge',
        jsonb_build_object(
            'cutoff', to_char(cutoff AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'purged_head_hash', last_hash,
            'purged_rows', deleted,
            'purged_through_seq', last_seq
        )::text
    );
    RETURN QUERY SELECT deleted, last_seq;
END
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA audit FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA audit FROM PUBLIC;
GRANT USAGE ON SCHEMA audit TO @writer@, @reader@, @retention@;
GRANT INSERT (at, actor, run_id, object, action, details, event_key) ON audit.events TO @writer@;
GRANT SELECT ON audit.events, audit.chain_head TO @reader@;
GRANT EXECUTE ON FUNCTION audit.purge(timestamptz, text) TO @retention@;
RESET ROLE;
