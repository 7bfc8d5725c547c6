-- name: get_work_pool
SELECT * FROM work_pools WHERE name = %(name)s;

-- name: list_work_pools
SELECT * FROM work_pools ORDER BY name;

-- name: put_work_pool
INSERT INTO work_pools (name, description, concurrency_limit, paused, created_at, updated_at)
VALUES (%(name)s, %(description)s, %(concurrency_limit)s, %(paused)s, %(created_at)s, %(updated_at)s)
ON CONFLICT (name) DO UPDATE SET
    description = excluded.description,
    concurrency_limit = excluded.concurrency_limit,
    paused = excluded.paused,
    updated_at = excluded.updated_at;

-- name: lock_work_pool
-- A claim under limits holds its pool's row until it commits: claims in one pool then
-- count the slots one after the other, so two hosts never both take a pool's last slot.
SELECT name FROM work_pools WHERE name = %(name)s FOR NO KEY UPDATE;

-- name: cancel_pending_runs
WITH cancelled AS (
    UPDATE runs SET state = 'Cancelled', state_reason = %(reason)s, ended_at = %(at)s
    WHERE id = ANY(%(ids)s::text[]) AND state = 'Pending'
    RETURNING id
)
INSERT INTO run_transitions (run_id, from_state, to_state, reason, at)
SELECT id, 'Pending', 'Cancelled', %(reason)s, %(at)s FROM cancelled;

-- name: delete_work_pool
-- Its queues go with it (ON DELETE CASCADE).
DELETE FROM work_pools WHERE name = %(name)s RETURNING name;

-- name: get_work_queue
SELECT * FROM work_queues WHERE pool = %(pool)s AND name = %(name)s;

-- name: list_work_queues
SELECT * FROM work_queues WHERE %(pool)s::text IS NULL OR pool = %(pool)s
ORDER BY pool, priority, name;

-- name: put_work_queue
INSERT INTO work_queues (pool, name, priority, description, concurrency_limit, paused,
                         created_at, updated_at)
VALUES (%(pool)s, %(name)s, %(priority)s, %(description)s, %(concurrency_limit)s, %(paused)s,
        %(created_at)s, %(updated_at)s)
ON CONFLICT (pool, name) DO UPDATE SET
    priority = excluded.priority,
    description = excluded.description,
    concurrency_limit = excluded.concurrency_limit,
    paused = excluded.paused,
    updated_at = excluded.updated_at;

-- name: delete_work_queue
DELETE FROM work_queues WHERE pool = %(pool)s AND name = %(name)s RETURNING name;

-- name: pending_by_queue
SELECT work_queue, count(*) AS n FROM runs
WHERE work_pool = %(pool)s AND state = 'Pending' AND parent_id IS NULL
GROUP BY work_queue;

-- name: busy_by_queue
SELECT work_queue, count(*) AS n FROM runs
WHERE work_pool = %(pool)s AND state IN ('Running', 'Waiting') AND lease_owner IS NOT NULL
  AND parent_id IS NULL
GROUP BY work_queue;

-- name: busy_by_deployment
SELECT deployment, count(*) AS n FROM runs
WHERE deployment = ANY(%(deployments)s::text[])
  AND state IN ('Running', 'Waiting') AND lease_owner IS NOT NULL AND parent_id IS NULL
GROUP BY deployment;

-- name: pending_of_queue
-- The oldest Pending top-level runs of each queue with room, through runs_queue_pending,
-- in claim order. SKIP LOCKED: a run another worker is claiming is not waited for.
SELECT c.id, c.work_queue, c.deployment, c.created_at
FROM unnest(%(queues)s::text[], %(takes)s::int[]) WITH ORDINALITY AS q (name, take, position)
CROSS JOIN LATERAL (
    SELECT id, work_queue, deployment, created_at, seq FROM runs
    WHERE work_pool = %(pool)s AND work_queue = q.name AND state = 'Pending'
      AND parent_id IS NULL AND id <> ALL(%(exclude)s::text[])
      AND (deployment IS NULL OR deployment <> ALL(%(full)s::text[]))
    ORDER BY created_at, seq
    LIMIT q.take
    FOR NO KEY UPDATE SKIP LOCKED
) AS c
ORDER BY q.position, c.created_at, c.seq;

-- name: put_default_queue
INSERT INTO work_queues (pool, name, priority, description, concurrency_limit, paused,
                         created_at, updated_at)
VALUES (%(pool)s, %(name)s, %(priority)s, %(description)s, %(concurrency_limit)s, %(paused)s,
        %(created_at)s, %(updated_at)s)
ON CONFLICT (pool, name) DO NOTHING;

-- name: claim_plan
-- What a claim reads before it claims, in one round trip: the pool, its queues and the
-- deployments of the pool that have a concurrency limit.
SELECT p.*,
       coalesce((SELECT json_agg(row_to_json(q)) FROM work_queues q WHERE q.pool = p.name),
                '[]') AS queues,
       coalesce((SELECT json_agg(json_build_object('name', d.name,
                                                   'concurrency_limit', d.concurrency_limit,
                                                   'collision_strategy', d.collision_strategy))
                 FROM deployments d
                 WHERE d.concurrency_limit IS NOT NULL AND d.work_pool = p.name), '[]') AS limits
FROM work_pools p WHERE p.name = %(name)s;
