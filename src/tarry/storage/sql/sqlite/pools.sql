-- name: get_work_pool
SELECT * FROM work_pools WHERE name = :name;

-- name: list_work_pools
SELECT * FROM work_pools ORDER BY name;

-- name: put_work_pool
INSERT INTO work_pools (name, description, concurrency_limit, paused, created_at, updated_at)
VALUES (:name, :description, :concurrency_limit, :paused, :created_at, :updated_at)
ON CONFLICT (name) DO UPDATE SET
    description = excluded.description,
    concurrency_limit = excluded.concurrency_limit,
    paused = excluded.paused,
    updated_at = excluded.updated_at;

-- name: delete_work_pool
DELETE FROM work_pools WHERE name = :name;

-- name: delete_queues_of_pool
DELETE FROM work_queues WHERE pool = :name;

-- name: get_work_queue
SELECT * FROM work_queues WHERE pool = :pool AND name = :name;

-- name: list_work_queues
SELECT * FROM work_queues WHERE :pool IS NULL OR pool = :pool ORDER BY pool, priority, name;

-- name: put_work_queue
INSERT INTO work_queues (pool, name, priority, description, concurrency_limit, paused,
                         created_at, updated_at)
VALUES (:pool, :name, :priority, :description, :concurrency_limit, :paused,
        :created_at, :updated_at)
ON CONFLICT (pool, name) DO UPDATE SET
    priority = excluded.priority,
    description = excluded.description,
    concurrency_limit = excluded.concurrency_limit,
    paused = excluded.paused,
    updated_at = excluded.updated_at;

-- name: delete_work_queue
DELETE FROM work_queues WHERE pool = :pool AND name = :name;

-- name: pending_by_queue
SELECT work_queue, count(*) AS n FROM runs
WHERE work_pool = :pool AND state = 'Pending' AND parent_id IS NULL
GROUP BY work_queue;

-- name: busy_by_queue
SELECT work_queue, count(*) AS n FROM runs
WHERE work_pool = :pool AND state IN ('Running', 'Waiting') AND lease_owner IS NOT NULL
  AND parent_id IS NULL
GROUP BY work_queue;

-- name: deployment_limits
SELECT name, concurrency_limit, collision_strategy FROM deployments
WHERE concurrency_limit IS NOT NULL AND work_pool = :pool;

-- name: busy_by_deployment
SELECT deployment, count(*) AS n FROM runs
WHERE deployment IN (SELECT value FROM json_each(:deployments))
  AND state IN ('Running', 'Waiting') AND lease_owner IS NOT NULL AND parent_id IS NULL
GROUP BY deployment;

-- name: pending_of_queue
-- The oldest Pending top-level runs of one queue, through runs_queue_pending.
SELECT id, work_queue, deployment, created_at FROM runs
WHERE work_pool = :pool AND work_queue = :queue AND state = 'Pending' AND parent_id IS NULL
  AND id NOT IN (SELECT value FROM json_each(:exclude))
  AND (deployment IS NULL OR deployment NOT IN (SELECT value FROM json_each(:full)))
ORDER BY created_at
LIMIT :limit;

-- name: recoverable_runs
-- Runs of this pool's served queues whose holder stopped: their lease ran out, or
-- their holder is known to be gone. They hold their slots already.
SELECT * FROM runs
WHERE parent_id IS NULL AND work_pool = :pool
  AND (:any_queue OR work_queue IN (SELECT value FROM json_each(:queues)))
  AND id NOT IN (SELECT value FROM json_each(:exclude))
  AND state IN ('Running', 'Waiting')
  AND (lease_expires_at < :expired_before
       OR lease_owner IN (SELECT value FROM json_each(:dead_owners)))
ORDER BY created_at
LIMIT :limit;

-- name: put_default_queue
INSERT INTO work_queues (pool, name, priority, description, concurrency_limit, paused,
                         created_at, updated_at)
VALUES (:pool, :name, :priority, :description, :concurrency_limit, :paused,
        :created_at, :updated_at)
ON CONFLICT (pool, name) DO NOTHING;
