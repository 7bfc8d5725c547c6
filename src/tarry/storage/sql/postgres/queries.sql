-- Named queries of the PostgreSQL store, with psycopg's %(name)s parameters.
--
-- Row locks are always taken in run id order (`ORDER BY id ... FOR NO KEY
-- UPDATE`), runs before anything else, so two transactions never wait for each
-- other in a cycle. `FOR NO KEY UPDATE` rather than `FOR UPDATE`: it does not
-- block the foreign key checks of concurrent inserts (a step, a log line)
-- referencing the locked run.

-- name: lock_migrations
SELECT pg_advisory_xact_lock(%(key)s, hashtext(coalesce(current_schema(), '')));

-- name: create_migrations_table
CREATE TABLE IF NOT EXISTS tarry_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
);

-- name: migrations_table_exists
SELECT to_regclass('tarry_migrations') IS NOT NULL AS present;

-- name: applied_migrations
SELECT version FROM tarry_migrations ORDER BY version;

-- name: record_migration
INSERT INTO tarry_migrations (version, name, applied_at)
VALUES (%(version)s, %(name)s, %(applied_at)s);

-- name: wake
SELECT pg_notify('tarry_wake', %(payload)s);

-- name: insert_run
WITH created AS (
    INSERT INTO runs (id, name, flow_name, entrypoint, parameters, state, state_reason,
                      parent_id, parent_step_key, attempt, result, error, lease_owner,
                      lease_expires_at, tags, created_at, started_at, ended_at,
                      deployment, work_pool, work_queue)
    VALUES (%(id)s, %(name)s, %(flow_name)s, %(entrypoint)s, %(parameters)s, %(state)s,
            %(state_reason)s, %(parent_id)s, %(parent_step_key)s, %(attempt)s, %(result)s,
            %(error)s, %(lease_owner)s, %(lease_expires_at)s, %(tags)s, %(created_at)s,
            %(started_at)s, %(ended_at)s, %(deployment)s, %(work_pool)s, %(work_queue)s)
    ON CONFLICT (id) DO NOTHING
    RETURNING id, state, created_at
), first_transition AS (
    INSERT INTO run_transitions (run_id, from_state, to_state, reason, at)
    SELECT id, NULL, state, %(reason)s, created_at FROM created
)
SELECT id, CASE WHEN state = 'Pending' THEN pg_notify('tarry_wake', %(wake)s) END AS woken
FROM created;

-- name: insert_transition
INSERT INTO run_transitions (run_id, from_state, to_state, reason, at)
VALUES (%(run_id)s, %(from_state)s, %(to_state)s, %(reason)s, %(at)s);

-- name: get_run
SELECT * FROM runs WHERE id = %(id)s;

-- name: run_states
SELECT id, state FROM runs WHERE id = ANY(%(ids)s::text[]);

-- name: run_ids_in_range
SELECT id FROM runs WHERE id >= %(low)s AND id < %(high)s ORDER BY id LIMIT %(limit)s;

-- name: lock_runs
SELECT * FROM runs WHERE id = ANY(%(ids)s::text[]) ORDER BY id FOR NO KEY UPDATE;

-- name: lock_runs_firmly
-- Cancelling a tree: FOR UPDATE also keeps new children out until it commits
-- (inserting a child checks its parent's key).
SELECT * FROM runs WHERE id = ANY(%(ids)s::text[]) ORDER BY id FOR UPDATE;

-- name: lock_run_chain
-- A run and its ancestors (parent_id never changes, so reading it unlocked is safe).
-- The chain is collected into an array first: joined as a subquery, the planner
-- expects many rows and scans the whole table.
WITH RECURSIVE chain (id) AS (
    SELECT %(run_id)s::text COLLATE "C"
    UNION ALL
    SELECT r.parent_id FROM runs r JOIN chain c ON r.id = c.id WHERE r.parent_id IS NOT NULL
)
SELECT * FROM runs WHERE id = ANY(ARRAY(SELECT id FROM chain)) ORDER BY id FOR NO KEY UPDATE;

-- name: lock_chain_of_wait
WITH RECURSIVE chain (id) AS (
    SELECT run_id FROM waits WHERE id = %(wait_id)s
    UNION ALL
    SELECT r.parent_id FROM runs r JOIN chain c ON r.id = c.id WHERE r.parent_id IS NOT NULL
)
SELECT * FROM runs WHERE id = ANY(ARRAY(SELECT id FROM chain)) ORDER BY id FOR NO KEY UPDATE;

-- name: lock_runs_of_waits
SELECT * FROM runs
WHERE id = ANY(%(run_ids)s::text[]
               || ARRAY(SELECT run_id FROM waits WHERE id = ANY(%(wait_ids)s::text[])))
ORDER BY id
FOR NO KEY UPDATE;

-- name: run_tree
WITH RECURSIVE tree (id, depth) AS (
    SELECT id, 0 FROM runs WHERE id = %(id)s
    UNION ALL
    SELECT r.id, t.depth + 1 FROM runs r JOIN tree t ON r.parent_id = t.id
)
SELECT id FROM tree ORDER BY depth, id;

-- name: update_run
UPDATE runs
SET state = %(state)s,
    state_reason = %(state_reason)s,
    result = %(result)s,
    error = %(error)s,
    lease_owner = %(lease_owner)s,
    lease_expires_at = %(lease_expires_at)s,
    attempt = %(attempt)s,
    started_at = coalesce(started_at, %(started_at)s),
    ended_at = %(ended_at)s
WHERE id = %(id)s AND state = %(expected_state)s;

-- name: transition_run
-- `Store.transition` in one statement, when the run's state before is known (one
-- expected state): the update's WHERE checks the preconditions on the row's latest
-- version, under its lock, and the transition and the notification commit with it.
-- A NULL flag's field is left as it is (`UNSET`).
WITH changed AS (
    UPDATE runs
    SET state = %(to_state)s,
        state_reason = %(reason)s,
        result = CASE WHEN %(set_result)s THEN %(result)s::text ELSE result END,
        error = CASE WHEN %(set_error)s THEN %(error)s::text ELSE error END,
        lease_owner = CASE WHEN %(set_lease_owner)s THEN %(lease_owner)s::text
                           ELSE lease_owner END,
        lease_expires_at = CASE WHEN %(set_lease_expires_at)s
                                THEN %(lease_expires_at)s::double precision
                                ELSE lease_expires_at END,
        attempt = CASE WHEN %(set_attempt)s THEN %(attempt)s::integer ELSE attempt END,
        started_at = CASE WHEN %(to_state)s = 'Running' THEN coalesce(started_at, %(at)s)
                          ELSE started_at END,
        ended_at = CASE WHEN %(set_ended_at)s THEN %(at)s ELSE ended_at END
    WHERE id = %(id)s AND state = %(from_state)s
      AND (%(require_owner)s::text IS NULL OR lease_owner = %(require_owner)s)
    RETURNING *
), logged AS (
    INSERT INTO run_transitions (run_id, from_state, to_state, reason, at)
    SELECT id, %(from_state)s, state, %(reason)s, %(at)s FROM changed
)
SELECT changed.*,
       CASE WHEN %(wake)s::text IS NOT NULL THEN pg_notify('tarry_wake', %(wake)s) END AS woken
FROM changed;

-- name: claim_runs
-- One statement claims runs and records their transitions. The Pending runs are those
-- the claim chose (locked already by `pending_of_queue` in this transaction, by queue
-- priority and within the limits); the runs of stopped holders in the worker's pool
-- and queues are found by their own scans: runs whose lease ran out, runs whose
-- holder is gone. Without recovery (or without dead holders) those scans are not
-- even started: their first condition is checked once.
-- SKIP LOCKED: a run another worker is claiming right now is not waited for, so any
-- number of workers claim at once and never the same run twice; a row changed before
-- it was locked is checked again against its scan's conditions. A claim never waits
-- for a run's lock, so it needs no lock order. Rows locked beyond the limit are let go
-- when the transaction commits.
WITH chosen AS (
    SELECT id, state, lease_owner, created_at, seq, 0::bigint AS position FROM runs
    WHERE id = ANY(%(pending_ids)s::text[]) AND state = 'Pending'
), busy AS (
    -- Under queue or pool limits (the caller holds the pool's row): the slots held now.
    SELECT work_queue, count(*) AS n FROM runs
    WHERE %(counted)s AND work_pool = %(pool)s AND state IN ('Running', 'Waiting')
      AND lease_owner IS NOT NULL AND parent_id IS NULL
    GROUP BY work_queue
), room AS (
    SELECT q.name, q.position,
           CASE WHEN q.queue_limit IS NULL THEN q.take
                ELSE greatest(0, least(q.take, q.queue_limit - coalesce(b.n, 0))) END AS take
    FROM unnest(%(scan_queues)s::text[], %(scan_takes)s::int[], %(scan_limits)s::int[])
         WITH ORDINALITY AS q (name, take, queue_limit, position)
    LEFT JOIN busy b ON b.work_queue = q.name
), scanned AS (
    -- The oldest Pending runs of each served queue with room, in priority order.
    SELECT c.*, r.position,
           row_number() OVER (ORDER BY r.position, c.created_at, c.seq) AS rank
    FROM room r
    CROSS JOIN LATERAL (
        SELECT id, state, lease_owner, created_at, seq FROM runs
        WHERE work_pool = %(pool)s AND work_queue = r.name AND state = 'Pending'
          AND parent_id IS NULL AND id <> ALL(%(exclude)s::text[])
        ORDER BY created_at, seq
        LIMIT r.take
        FOR NO KEY UPDATE SKIP LOCKED
    ) AS c
), pending AS (
    SELECT * FROM chosen
    UNION ALL
    SELECT id, state, lease_owner, created_at, seq, position FROM scanned
    WHERE %(pool_limit)s::int IS NULL
       OR rank <= %(pool_limit)s::int - (SELECT coalesce(sum(n), 0) FROM busy)
), expired AS (
    SELECT id, state, lease_owner, created_at, seq, -1::bigint AS position FROM runs
    WHERE %(recover)s AND state IN ('Running', 'Waiting') AND parent_id IS NULL
      AND id <> ALL(%(exclude)s::text[]) AND lease_expires_at < %(expired_before)s
      AND work_pool = %(pool)s AND (%(any_queue)s OR work_queue = ANY(%(queues)s::text[]))
    LIMIT %(limit)s
    FOR NO KEY UPDATE SKIP LOCKED
), orphaned AS (
    SELECT id, state, lease_owner, created_at, seq, -1::bigint AS position FROM runs
    WHERE %(recover)s AND cardinality(%(dead_owners)s::text[]) > 0
      AND lease_owner = ANY(%(dead_owners)s::text[]) AND state IN ('Running', 'Waiting')
      AND parent_id IS NULL AND id <> ALL(%(exclude)s::text[])
      AND (lease_expires_at < %(expired_before)s) IS NOT TRUE  -- those are in `expired`
      AND work_pool = %(pool)s AND (%(any_queue)s OR work_queue = ANY(%(queues)s::text[]))
    LIMIT %(limit)s
    FOR NO KEY UPDATE SKIP LOCKED
), found AS (
    SELECT id, state AS from_state,
           CASE WHEN state = 'Pending' THEN %(claimed_reason)s
                ELSE format(%(recovered_reason)s, coalesce(lease_owner, 'None')) END AS reason
    FROM (SELECT * FROM pending UNION ALL SELECT * FROM expired
          UNION ALL SELECT * FROM orphaned) AS claimable
    -- Runs of stopped holders first (they hold their slots), then by queue priority.
    ORDER BY position, created_at, seq
    LIMIT %(limit)s
), claimed AS (
    UPDATE runs
    SET state = 'Running',
        state_reason = found.reason,
        lease_owner = %(owner)s,
        lease_expires_at = %(lease_expires_at)s,
        started_at = coalesce(runs.started_at, %(now)s)
    FROM found
    WHERE runs.id = found.id
    RETURNING runs.*, found.from_state
), logged AS (
    INSERT INTO run_transitions (run_id, from_state, to_state, reason, at)
    SELECT id, from_state, state, state_reason, %(now)s FROM claimed ORDER BY created_at, seq
)
SELECT * FROM claimed ORDER BY created_at, seq;

-- name: lease_owners
-- The distinct holders, one index probe each (a loose index scan), not one row per run.
WITH RECURSIVE owners (owner) AS (
    SELECT min(lease_owner) FROM runs
    WHERE lease_owner IS NOT NULL AND state IN ('Running', 'Waiting')
    UNION ALL
    SELECT (SELECT min(lease_owner) FROM runs
            WHERE lease_owner > owners.owner AND state IN ('Running', 'Waiting'))
    FROM owners WHERE owners.owner IS NOT NULL
)
SELECT owner AS lease_owner FROM owners WHERE owner IS NOT NULL;

-- name: renew_leases
-- Locks in id order, as every other transaction does.
WITH mine AS (
    SELECT id FROM runs
    WHERE lease_owner = %(owner)s AND state IN ('Running', 'Waiting')
    ORDER BY id
    FOR NO KEY UPDATE
)
UPDATE runs SET lease_expires_at = %(lease_expires_at)s
FROM mine
WHERE runs.id = mine.id AND runs.lease_owner = %(owner)s
  AND runs.state IN ('Running', 'Waiting');

-- name: put_step
INSERT INTO steps (run_id, key, name, kind, inputs_digest, status, result, error,
                   attempts, flow_attempt, child_run_id, cached_from, started_at, ended_at)
VALUES (%(run_id)s, %(key)s, %(name)s, %(kind)s, %(inputs_digest)s, %(status)s, %(result)s,
        %(error)s, %(attempts)s, %(flow_attempt)s, %(child_run_id)s, %(cached_from)s, %(started_at)s,
        %(ended_at)s)
ON CONFLICT (run_id, key) DO UPDATE SET
    name = excluded.name,
    kind = excluded.kind,
    inputs_digest = excluded.inputs_digest,
    status = excluded.status,
    result = excluded.result,
    error = excluded.error,
    attempts = excluded.attempts,
    flow_attempt = excluded.flow_attempt,
    child_run_id = excluded.child_run_id,
    cached_from = excluded.cached_from,
    started_at = excluded.started_at,
    ended_at = excluded.ended_at;

-- name: put_step_fenced
INSERT INTO steps (run_id, key, name, kind, inputs_digest, status, result, error,
                   attempts, flow_attempt, child_run_id, cached_from, started_at, ended_at)
SELECT %(run_id)s, %(key)s, %(name)s, %(kind)s, %(inputs_digest)s, %(status)s, %(result)s,
       %(error)s, %(attempts)s, %(flow_attempt)s, %(child_run_id)s, %(cached_from)s, %(started_at)s,
       %(ended_at)s
WHERE EXISTS (SELECT 1 FROM runs WHERE id = %(run_id)s AND lease_owner = %(owner)s)
ON CONFLICT (run_id, key) DO UPDATE SET
    name = excluded.name,
    kind = excluded.kind,
    inputs_digest = excluded.inputs_digest,
    status = excluded.status,
    result = excluded.result,
    error = excluded.error,
    attempts = excluded.attempts,
    flow_attempt = excluded.flow_attempt,
    child_run_id = excluded.child_run_id,
    cached_from = excluded.cached_from,
    started_at = excluded.started_at,
    ended_at = excluded.ended_at;

-- name: get_steps
SELECT * FROM steps WHERE run_id = %(run_id)s;

-- name: get_step
SELECT * FROM steps WHERE run_id = %(run_id)s AND key = %(key)s;

-- name: add_logs
-- Lines of runs that do not exist are dropped, so one bad line cannot lose the batch.
INSERT INTO logs (run_id, step_key, at, level, logger, message)
SELECT line.run_id, line.step_key, line.at, line.level, line.logger, line.message
FROM unnest(%(run_id)s::text[], %(step_key)s::text[], %(at)s::float8[], %(level)s::int[],
            %(logger)s::text[], %(message)s::text[])
     WITH ORDINALITY AS line (run_id, step_key, at, level, logger, message, n)
WHERE line.run_id = ANY(ARRAY(SELECT id FROM runs WHERE id = ANY(%(run_id)s::text[])))
ORDER BY line.n;

-- name: get_logs
SELECT * FROM logs WHERE run_id = %(run_id)s ORDER BY id LIMIT %(limit)s;

-- name: get_transitions
SELECT * FROM run_transitions WHERE run_id = %(run_id)s ORDER BY id;

-- name: list_runs
SELECT * FROM runs
WHERE (%(any_state)s OR state = ANY(%(states)s::text[]))
  AND (%(flow_name)s::text IS NULL OR flow_name = %(flow_name)s)
  AND (%(name)s::text IS NULL OR name = %(name)s)
  AND (%(deployment)s::text IS NULL OR deployment = %(deployment)s)
  AND (%(any_parent)s OR parent_id IS NOT DISTINCT FROM %(parent_id)s::text)
ORDER BY created_at DESC, id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: insert_wait
INSERT INTO waits (id, run_id, step_key, attempt, alt, kind, name, label, spec, on_timeout,
                   status, created_at, deadline)
VALUES (%(id)s, %(run_id)s, %(step_key)s, %(attempt)s, %(alt)s, %(kind)s, %(name)s,
        %(label)s, %(spec)s, %(on_timeout)s, %(status)s, %(created_at)s, %(deadline)s)
ON CONFLICT DO NOTHING;

-- name: get_wait
SELECT * FROM waits WHERE id = %(id)s;

-- name: waits_of_step
SELECT * FROM waits
WHERE run_id = %(run_id)s AND step_key = %(step_key)s AND attempt = %(attempt)s
ORDER BY alt;

-- name: wait_states
SELECT id, status FROM waits WHERE id = ANY(%(ids)s::text[]);

-- name: waits_of_run
SELECT * FROM waits WHERE run_id = %(run_id)s ORDER BY created_at, seq;

-- name: cancel_open_waits_of_runs
UPDATE waits SET status = 'cancelled', closed_at = %(closed_at)s
WHERE run_id = ANY(%(run_ids)s::text[]) AND status = 'open'
RETURNING id, run_id, created_at, alt, seq;

-- name: close_wait
UPDATE waits
SET status = %(status)s, answer = %(answer)s, closed_at = %(closed_at)s,
    responder = %(responder)s, channel = %(channel)s, prompt = %(prompt)s
WHERE id = %(id)s AND status = 'open';

-- name: cancel_other_alternatives
UPDATE waits SET status = 'cancelled', closed_at = %(closed_at)s
WHERE run_id = %(run_id)s AND step_key = %(step_key)s AND attempt = %(attempt)s
  AND id <> %(id)s AND status = 'open';

-- name: due_waits
SELECT * FROM waits
WHERE status = 'open' AND deadline IS NOT NULL AND deadline <= %(now)s
ORDER BY deadline, seq
LIMIT %(limit)s;

-- name: closed_waits_since
SELECT id, run_id, closed_at FROM waits
WHERE closed_at IS NOT NULL AND closed_at >= %(since)s
ORDER BY closed_at, seq;

-- name: open_inputs
SELECT * FROM waits
WHERE status = 'open' AND kind = 'input'
  AND (%(run_id)s::text IS NULL OR run_id = %(run_id)s)
ORDER BY created_at, id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: insert_early_input
INSERT INTO early_inputs (run_id, name, data, sent_at, responder, channel, status)
VALUES (%(run_id)s, %(name)s, %(data)s, %(sent_at)s, %(responder)s, %(channel)s, 'pending')
RETURNING id;

-- name: pending_early_inputs
SELECT * FROM early_inputs
WHERE run_id = %(run_id)s AND name = %(name)s AND status = 'pending'
ORDER BY id;

-- name: settle_early_input
UPDATE early_inputs SET status = %(status)s, detail = %(detail)s
WHERE id = %(id)s AND status = 'pending';

-- name: put_deployment
INSERT INTO deployments (
    name, flow_name, entrypoint, description, parameters, parameter_schema, tags,
    created_at, updated_at, work_pool, work_queue, concurrency_limit, collision_strategy
)
VALUES (
    %(name)s, %(flow_name)s, %(entrypoint)s, %(description)s, %(parameters)s,
    %(parameter_schema)s, %(tags)s, %(created_at)s, %(updated_at)s,
    %(work_pool)s, %(work_queue)s, %(concurrency_limit)s, %(collision_strategy)s
)
ON CONFLICT (name) DO UPDATE SET
    flow_name = excluded.flow_name,
    entrypoint = excluded.entrypoint,
    description = excluded.description,
    parameters = excluded.parameters,
    parameter_schema = excluded.parameter_schema,
    tags = excluded.tags,
    work_pool = excluded.work_pool,
    work_queue = excluded.work_queue,
    concurrency_limit = excluded.concurrency_limit,
    collision_strategy = excluded.collision_strategy,
    updated_at = excluded.updated_at
RETURNING *;

-- name: get_deployment
SELECT * FROM deployments WHERE name = %(name)s;

-- name: list_deployments
SELECT * FROM deployments ORDER BY name LIMIT %(limit)s OFFSET %(offset)s;

-- name: insert_message
INSERT INTO messages (run_id, key, data, sent_at, sender_run_id, sender, reply_to, topic)
VALUES (%(run_id)s, %(key)s, %(data)s, %(sent_at)s, %(sender_run_id)s, %(sender)s,
        %(reply_to)s, %(topic)s)
ON CONFLICT (run_id, key) DO NOTHING
RETURNING *;

-- name: get_message
SELECT * FROM messages WHERE run_id = %(run_id)s AND key = %(key)s;

-- name: pending_messages
SELECT * FROM messages WHERE run_id = %(run_id)s AND status = 'pending' ORDER BY id;

-- name: receive_message
UPDATE messages SET status = 'received', received_at = %(received_at)s,
    received_step_key = %(received_step_key)s
WHERE id = %(id)s AND status = 'pending';

-- name: messages_to_run
SELECT * FROM messages WHERE run_id = %(run_id)s ORDER BY id LIMIT %(limit)s;

-- name: message_with_key
SELECT * FROM messages WHERE run_id = %(run_id)s AND key = %(key)s;

-- name: messages_from_run
SELECT * FROM messages WHERE sender_run_id = %(run_id)s ORDER BY id LIMIT %(limit)s;

-- name: open_message_waits_of_run
SELECT * FROM waits WHERE run_id = %(run_id)s AND status = 'open' AND kind = 'message'
ORDER BY created_at, alt, seq;

-- name: get_variable
SELECT value FROM variables WHERE name = %(name)s;

-- name: insert_variable
INSERT INTO variables (name, value, updated_at) VALUES (%(name)s, %(value)s, %(updated_at)s)
ON CONFLICT (name) DO NOTHING;

-- name: put_variable
INSERT INTO variables (name, value, updated_at) VALUES (%(name)s, %(value)s, %(updated_at)s)
ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;

-- name: queue_outbox
INSERT INTO outbox (key, run_id, wait_id, channel, recipients, payload, created_at, due_at)
SELECT item.key, item.run_id, item.wait_id, item.channel, item.recipients, item.payload,
       item.created_at, item.due_at
FROM unnest(%(key)s::text[], %(run_id)s::text[], %(wait_id)s::text[], %(channel)s::text[],
            %(recipients)s::text[], %(payload)s::text[], %(created_at)s::float8[],
            %(due_at)s::float8[])
     WITH ORDINALITY AS item (key, run_id, wait_id, channel, recipients, payload, created_at,
                              due_at, n)
ORDER BY item.n
ON CONFLICT (key) DO NOTHING
RETURNING id;

-- name: claim_outbox
-- SKIP LOCKED: an item another dispatcher is claiming right now goes to it alone.
UPDATE outbox SET claimed_by = %(owner)s, claimed_until = %(until)s
WHERE id IN (
    SELECT id FROM outbox
    WHERE status = 'pending' AND due_at <= %(now)s
      AND (claimed_until IS NULL OR claimed_until < %(now)s OR claimed_by = %(owner)s)
    ORDER BY due_at, id
    LIMIT %(limit)s
    FOR NO KEY UPDATE SKIP LOCKED
)
RETURNING *;

-- name: settle_outbox
UPDATE outbox
SET status = %(status)s, attempts = attempts + %(attempted)s, last_error = %(error)s,
    due_at = coalesce(%(retry_at)s, due_at), sent_at = %(sent_at)s,
    claimed_by = NULL, claimed_until = NULL
WHERE id = %(id)s;

-- name: outbox_of_run
SELECT * FROM outbox WHERE run_id = %(run_id)s ORDER BY id;

-- name: next_outbox_due
SELECT min(due_at) AS due_at FROM outbox WHERE status = 'pending';

-- name: take_timer_duty
-- Held by the listening session while this process fires due timers (one per schema).
SELECT pg_try_advisory_lock(%(key)s, hashtext(current_schema()));

-- name: hold_owner
-- The liveness lock of an owner, on the connection that holds it for the process's life.
-- A bigint key (64 bits of the schema and the owner): another space than the int4 pairs
-- of the migration and timer locks.
SELECT pg_try_advisory_lock(hashtextextended(current_schema() || '/' || %(owner)s, 0)) AS held;

-- name: register_owner
-- Only after `hold_owner` succeeded on this session: a row means "held when written".
INSERT INTO lease_holders (owner, since) VALUES (%(owner)s, %(since)s)
ON CONFLICT (owner) DO NOTHING;

-- name: gone_owners
-- Registered owners whose liveness lock no session holds: trying their lock for the
-- length of this one statement succeeds only then (a live holder keeps it). The CTE
-- runs its lock attempts once (it is volatile, so it is materialised). Gone owners that
-- still lease top-level runs (what `claim_runs` takes over; a parent's replay re-enters its
-- children) are returned; the others are forgotten. One statement on a small
-- table: the price of noticing a dead process within a fraction of a second.
WITH gone AS (
    SELECT owner FROM lease_holders
    WHERE owner <> ALL(%(mine)s::text[])
      AND pg_try_advisory_xact_lock(hashtextextended(current_schema() || '/' || owner, 0))
), holding AS (
    SELECT owner FROM gone
    WHERE EXISTS (SELECT 1 FROM runs WHERE runs.lease_owner = gone.owner
                  AND runs.state IN ('Running', 'Waiting') AND runs.parent_id IS NULL)
), forgotten AS (
    DELETE FROM lease_holders
    WHERE owner IN (SELECT owner FROM gone) AND owner NOT IN (SELECT owner FROM holding)
)
SELECT owner FROM holding ORDER BY owner;
