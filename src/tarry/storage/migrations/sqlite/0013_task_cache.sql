-- Task results cached across runs (`@task(cache_policy=...)`), one row per cache key;
-- a later store under the same key replaces it (`refresh_cache=True`, or a result
-- computed again after its entry expired). A journal step that returned a cached
-- result without calling its task names the key it came from.
CREATE TABLE task_cache (
    key TEXT PRIMARY KEY,
    task_name TEXT NOT NULL,
    result TEXT NOT NULL,
    run_id TEXT,
    step_key TEXT,
    created_at REAL NOT NULL,
    expires_at REAL
);
ALTER TABLE steps ADD COLUMN cached_from TEXT;
