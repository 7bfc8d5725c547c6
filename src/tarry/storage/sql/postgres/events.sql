-- Events (`EventStore`); the built-in ones are written by the triggers of 0014_events.

-- name: add_events
WITH added AS (
    INSERT INTO events (id, occurred, event, resource_id, resource, related, payload,
                        received, follows)
    SELECT e.id, e.occurred, e.event, e.resource_id, e.resource, e.related, e.payload,
           e.received, e.follows
    FROM unnest(%(id)s::text[], %(occurred)s::double precision[], %(event)s::text[],
                         %(resource_id)s::text[], %(resource)s::text[], %(related)s::text[],
                         %(payload)s::text[], %(received)s::double precision[],
                         %(follows)s::text[])
    WITH ORDINALITY AS e (id, occurred, event, resource_id, resource, related, payload,
                          received, follows, n)
    ORDER BY n
    ON CONFLICT (id) DO NOTHING
    RETURNING seq
), told AS (
    SELECT tarry_events_stored() FROM (SELECT 1 FROM added LIMIT 1) AS any_added
)
SELECT (SELECT count(*) FROM added) AS added, (SELECT count(*) FROM told) AS told;

-- name: list_events_newest
SELECT * FROM events
WHERE (%(any_name)s OR event = ANY(%(exact)s::text[])
       OR EXISTS (SELECT 1 FROM unnest(%(prefixes)s::text[]) AS p (prefix)
                  WHERE starts_with(event, p.prefix)))
  AND (%(resource_id)s::text IS NULL OR resource_id = %(resource_id)s::text)
  AND (%(resource_low)s::text IS NULL
       OR (resource_id >= %(resource_low)s::text AND resource_id < %(resource_high)s::text))
  AND (%(related_id)s::text IS NULL OR EXISTS (
        SELECT 1 FROM json_array_elements(related::json) AS r (item)
        WHERE r.item ->> 'tarry.resource.id' = %(related_id)s::text))
  AND (%(since)s::double precision IS NULL OR occurred >= %(since)s::double precision)
  AND (%(until)s::double precision IS NULL OR occurred <= %(until)s::double precision)
  AND (%(before_seq)s::bigint IS NULL OR seq < %(before_seq)s::bigint)
ORDER BY seq DESC
LIMIT %(limit)s;

-- name: list_events_oldest
SELECT * FROM events
WHERE seq > %(after_seq)s::bigint
  AND (%(any_name)s OR event = ANY(%(exact)s::text[])
       OR EXISTS (SELECT 1 FROM unnest(%(prefixes)s::text[]) AS p (prefix)
                  WHERE starts_with(event, p.prefix)))
  AND (%(resource_id)s::text IS NULL OR resource_id = %(resource_id)s::text)
  AND (%(resource_low)s::text IS NULL
       OR (resource_id >= %(resource_low)s::text AND resource_id < %(resource_high)s::text))
  AND (%(related_id)s::text IS NULL OR EXISTS (
        SELECT 1 FROM json_array_elements(related::json) AS r (item)
        WHERE r.item ->> 'tarry.resource.id' = %(related_id)s::text))
  AND (%(since)s::double precision IS NULL OR occurred >= %(since)s::double precision)
  AND (%(until)s::double precision IS NULL OR occurred <= %(until)s::double precision)
  AND (%(before_seq)s::bigint IS NULL OR seq < %(before_seq)s::bigint)
ORDER BY seq
LIMIT %(limit)s;

-- name: last_event_seq
-- The last seq given out (it may still be in flight), even when retention deleted it.
SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('events', 'seq')::regclass), 0)
       AS seq;

-- name: event_lock_holders
-- The transactions that may hold a `seq` not committed yet: those holding the ROW
-- EXCLUSIVE lock of `events` (an insert takes it before its `seq`, and keeps it until
-- the commit). Read after `last_event_seq`.
SELECT virtualtransaction FROM pg_locks
WHERE locktype = 'relation' AND relation = 'events'::regclass AND mode = 'RowExclusiveLock'
  AND granted AND pid <> pg_backend_pid()
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database());

-- name: events_up_to
SELECT * FROM events
WHERE seq > %(after)s AND seq <= %(horizon)s
ORDER BY seq
LIMIT %(limit)s;

-- name: delete_events_before
DELETE FROM events WHERE seq IN (
    SELECT seq FROM events WHERE occurred < %(before)s ORDER BY occurred LIMIT %(limit)s
);
