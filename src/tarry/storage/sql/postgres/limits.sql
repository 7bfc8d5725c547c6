-- name: list_concurrency_limits
SELECT l.*, (
    SELECT coalesce(sum(s.slots), 0) FROM concurrency_slots s LEFT JOIN runs r ON r.id = s.run_id
    WHERE s.limit_name = l.name
      AND (s.expires_at > %(now)s
           OR (s.expires_at IS NULL AND r.state NOT IN ('Completed', 'Failed', 'Cancelled', 'Crashed')))
) AS held_slots
FROM concurrency_limits l
WHERE %(name)s::text IS NULL OR l.name = %(name)s
ORDER BY l.name;

-- name: limits_named
SELECT *, 0 AS held_slots FROM concurrency_limits
WHERE name = ANY(%(names)s::text[])
ORDER BY name FOR UPDATE;

-- name: live_slots
SELECT s.* FROM concurrency_slots s LEFT JOIN runs r ON r.id = s.run_id
WHERE s.limit_name = ANY(%(names)s::text[])
  AND (s.expires_at > %(now)s
       OR (s.expires_at IS NULL AND r.state NOT IN ('Completed', 'Failed', 'Cancelled', 'Crashed')))
ORDER BY s.limit_name, s.acquired_at;

-- name: delete_dead_slots
DELETE FROM concurrency_slots
WHERE limit_name = ANY(%(names)s::text[])
  AND (expires_at <= %(now)s
       OR (expires_at IS NULL
           AND coalesce((SELECT state FROM runs WHERE id = run_id), 'Completed')
               IN ('Completed', 'Failed', 'Cancelled', 'Crashed')));

-- name: insert_limit_slot
INSERT INTO concurrency_slots (limit_name, holder, slots, owner, run_id, acquired_at, expires_at)
VALUES (%(limit_name)s, %(holder)s, %(slots)s, %(owner)s, %(run_id)s, %(acquired_at)s, %(expires_at)s)
ON CONFLICT (limit_name, holder) DO UPDATE SET
    slots = excluded.slots, owner = excluded.owner, expires_at = excluded.expires_at;

-- name: adopt_slots
UPDATE concurrency_slots SET owner = %(owner)s, expires_at = %(expires_at)s
WHERE holder = %(holder)s AND limit_name = ANY(%(names)s::text[]);

-- name: set_decaying_slots
UPDATE concurrency_limits SET decaying_slots = %(decaying_slots)s, decayed_at = %(decayed_at)s
WHERE name = %(name)s;

-- name: add_denied_slots
UPDATE concurrency_limits SET denied_slots = denied_slots + %(slots)s
WHERE name = ANY(%(names)s::text[]);

-- name: release_holder_slots
DELETE FROM concurrency_slots WHERE holder = %(holder)s
RETURNING holder;

-- name: park_holder_slots
UPDATE concurrency_slots SET expires_at = NULL WHERE holder = %(holder)s AND run_id IS NOT NULL
RETURNING holder;

-- name: renew_owner_slots
UPDATE concurrency_slots SET expires_at = %(expires_at)s
WHERE owner = %(owner)s AND expires_at IS NOT NULL
RETURNING holder;

-- name: free_owner_slots
DELETE FROM concurrency_slots
WHERE owner = ANY(%(owners)s::text[]) AND expires_at IS NOT NULL
RETURNING holder;

-- name: insert_concurrency_limit
INSERT INTO concurrency_limits (name, slot_limit, active, slot_decay_per_second, created_at,
                                updated_at)
VALUES (%(name)s, %(limit)s, %(active)s, %(slot_decay_per_second)s, %(created_at)s, %(updated_at)s)
ON CONFLICT (name) DO NOTHING
RETURNING name;

-- name: update_concurrency_limit
UPDATE concurrency_limits SET slot_limit = %(limit)s, active = %(active)s,
    slot_decay_per_second = %(slot_decay_per_second)s, updated_at = %(updated_at)s
WHERE name = %(name)s
RETURNING name;

-- name: delete_limit_slots
DELETE FROM concurrency_slots WHERE limit_name = %(name)s;

-- name: delete_concurrency_limit
DELETE FROM concurrency_limits WHERE name = %(name)s
RETURNING name;

-- name: reset_concurrency_limit
UPDATE concurrency_limits SET decaying_slots = 0, decayed_at = 0
WHERE name = %(name)s
RETURNING name;
