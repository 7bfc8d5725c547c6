-- Task results cached across runs (`CacheStore`).

-- name: put_cached
INSERT INTO task_cache (key, task_name, result, run_id, step_key, created_at, expires_at)
VALUES (:key, :task_name, :result, :run_id, :step_key, :created_at, :expires_at)
ON CONFLICT (key) DO UPDATE SET
    task_name = excluded.task_name,
    result = excluded.result,
    run_id = excluded.run_id,
    step_key = excluded.step_key,
    created_at = excluded.created_at,
    expires_at = excluded.expires_at;

-- name: get_cached
SELECT * FROM task_cache
WHERE key = :key AND (expires_at IS NULL OR expires_at > :now);
