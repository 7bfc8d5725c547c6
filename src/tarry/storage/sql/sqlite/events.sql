-- Events (`EventStore`); the built-in ones are written by the triggers of 0014_events.

-- name: add_event
INSERT INTO events (id, occurred, event, resource_id, resource, related, payload, received,
                    follows)
VALUES (:id, :occurred, :event, :resource_id, :resource, :related, :payload, :received,
        :follows)
ON CONFLICT (id) DO NOTHING;

-- name: list_events_newest
SELECT * FROM events
WHERE (:any_name OR event IN (SELECT value FROM json_each(:exact))
       OR EXISTS (SELECT 1 FROM json_each(:prefixes) p
                  WHERE substr(event, 1, length(p.value)) = p.value))
  AND (:resource_id IS NULL OR resource_id = :resource_id)
  AND (:resource_low IS NULL OR (resource_id >= :resource_low AND resource_id < :resource_high))
  AND (:related_id IS NULL OR EXISTS (
        SELECT 1 FROM json_each(related) r
        WHERE json_extract(r.value, '$."tarry.resource.id"') = :related_id))
  AND (:since IS NULL OR occurred >= :since)
  AND (:until IS NULL OR occurred <= :until)
  AND (:before_seq IS NULL OR seq < :before_seq)
ORDER BY seq DESC
LIMIT :limit;

-- name: list_events_oldest
SELECT * FROM events
WHERE seq > :after_seq
  AND (:any_name OR event IN (SELECT value FROM json_each(:exact))
       OR EXISTS (SELECT 1 FROM json_each(:prefixes) p
                  WHERE substr(event, 1, length(p.value)) = p.value))
  AND (:resource_id IS NULL OR resource_id = :resource_id)
  AND (:resource_low IS NULL OR (resource_id >= :resource_low AND resource_id < :resource_high))
  AND (:related_id IS NULL OR EXISTS (
        SELECT 1 FROM json_each(related) r
        WHERE json_extract(r.value, '$."tarry.resource.id"') = :related_id))
  AND (:since IS NULL OR occurred >= :since)
  AND (:until IS NULL OR occurred <= :until)
  AND (:before_seq IS NULL OR seq < :before_seq)
ORDER BY seq
LIMIT :limit;

-- name: events_after
SELECT * FROM events WHERE seq > :after ORDER BY seq LIMIT :limit;

-- name: last_event_seq
-- The last seq given (AUTOINCREMENT keeps it), even when retention deleted that event.
SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0) AS seq;

-- name: delete_events_before
DELETE FROM events WHERE seq IN (
    SELECT seq FROM events WHERE occurred < :before ORDER BY occurred LIMIT :limit
);
