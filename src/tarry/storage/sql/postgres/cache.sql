-- Task results cached across runs (`CacheStore`).

-- name: put_cached
INSERT INTO task_cache (key, task_name, result, run_id, step_key, created_at, expires_at)
VALUES (%(key)s, %(task_name)s, %(result)s, %(run_id)s, %(step_key)s, %(created_at)s,
        %(expires_at)s)
ON CONFLICT (key) DO UPDATE SET
    task_name = excluded.task_name,
    result = excluded.result,
    run_id = excluded.run_id,
    step_key = excluded.step_key,
    created_at = excluded.created_at,
    expires_at = excluded.expires_at;

-- name: get_cached
SELECT * FROM task_cache
WHERE key = %(key)s AND (expires_at IS NULL OR expires_at > %(now)s);
