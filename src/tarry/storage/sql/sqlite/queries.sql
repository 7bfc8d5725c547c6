-- name: insert_run
INSERT INTO runs (id, name, flow_name, entrypoint, parameters, state, state_reason,
                  parent_id, parent_step_key, attempt, result, error, lease_owner,
                  lease_expires_at, tags, created_at, started_at, ended_at,
                  deployment, work_pool, work_queue)
VALUES (:id, :name, :flow_name, :entrypoint, :parameters, :state, :state_reason,
        :parent_id, :parent_step_key, :attempt, :result, :error, :lease_owner,
        :lease_expires_at, :tags, :created_at, :started_at, :ended_at,
        :deployment, :work_pool, :work_queue)
ON CONFLICT (id) DO NOTHING;

-- name: insert_transition
INSERT INTO run_transitions (run_id, from_state, to_state, reason, at)
VALUES (:run_id, :from_state, :to_state, :reason, :at);

-- name: get_run
SELECT * FROM runs WHERE id = :id;

-- name: run_states
SELECT id, state FROM runs WHERE id IN (SELECT value FROM json_each(:ids));

-- name: run_ids_in_range
SELECT id FROM runs WHERE id >= :low AND id < :high ORDER BY id LIMIT :limit;

-- name: update_run
UPDATE runs
SET state = :state,
    state_reason = :state_reason,
    result = :result,
    error = :error,
    lease_owner = :lease_owner,
    lease_expires_at = :lease_expires_at,
    attempt = :attempt,
    started_at = coalesce(started_at, :started_at),
    ended_at = :ended_at
WHERE id = :id AND state = :expected_state;

-- name: claimable_runs
SELECT * FROM runs
WHERE parent_id IS NULL
  AND id NOT IN (SELECT value FROM json_each(:exclude))
  AND (state = 'Pending'
       OR (state IN ('Running', 'Waiting')
           AND (lease_expires_at < :expired_before
                OR lease_owner IN (SELECT value FROM json_each(:dead_owners)))))
ORDER BY created_at
LIMIT :limit;

-- name: lease_owners
SELECT DISTINCT lease_owner FROM runs
WHERE state IN ('Running', 'Waiting') AND lease_owner IS NOT NULL;

-- name: renew_leases
UPDATE runs SET lease_expires_at = :lease_expires_at
WHERE lease_owner = :owner AND state IN ('Running', 'Waiting');

-- name: put_step
INSERT OR REPLACE INTO steps (run_id, key, name, kind, inputs_digest, status, result, error,
                              attempts, flow_attempt, child_run_id, cached_from, started_at, ended_at)
VALUES (:run_id, :key, :name, :kind, :inputs_digest, :status, :result, :error,
        :attempts, :flow_attempt, :child_run_id, :cached_from, :started_at, :ended_at);

-- name: put_step_fenced
INSERT OR REPLACE INTO steps (run_id, key, name, kind, inputs_digest, status, result, error,
                              attempts, flow_attempt, child_run_id, cached_from, started_at, ended_at)
SELECT :run_id, :key, :name, :kind, :inputs_digest, :status, :result, :error,
       :attempts, :flow_attempt, :child_run_id, :cached_from, :started_at, :ended_at
WHERE EXISTS (SELECT 1 FROM runs WHERE id = :run_id AND lease_owner = :owner);

-- name: get_steps
SELECT * FROM steps WHERE run_id = :run_id;

-- name: get_step
SELECT * FROM steps WHERE run_id = :run_id AND key = :key;

-- name: add_log
INSERT INTO logs (run_id, step_key, at, level, logger, message)
VALUES (:run_id, :step_key, :at, :level, :logger, :message);

-- name: get_logs
SELECT * FROM logs WHERE run_id = :run_id ORDER BY id LIMIT :limit;

-- name: get_transitions
SELECT * FROM run_transitions WHERE run_id = :run_id ORDER BY id;

-- name: list_runs
SELECT * FROM runs
WHERE (:any_state OR state IN (SELECT value FROM json_each(:states)))
  AND (:flow_name IS NULL OR flow_name = :flow_name)
  AND (:name IS NULL OR name = :name)
  AND (:deployment IS NULL OR deployment = :deployment)
  AND (:any_parent OR parent_id IS :parent_id)
ORDER BY created_at DESC, id
LIMIT :limit OFFSET :offset;

-- name: insert_wait
INSERT INTO waits (id, run_id, step_key, attempt, alt, kind, name, label, spec, on_timeout,
                   status, created_at, deadline)
VALUES (:id, :run_id, :step_key, :attempt, :alt, :kind, :name, :label, :spec, :on_timeout,
        :status, :created_at, :deadline)
ON CONFLICT (id) DO NOTHING;

-- name: get_wait
SELECT * FROM waits WHERE id = :id;

-- name: waits_of_step
SELECT * FROM waits
WHERE run_id = :run_id AND step_key = :step_key AND attempt = :attempt
ORDER BY alt;

-- name: waits_of_run
SELECT * FROM waits WHERE run_id = :run_id ORDER BY created_at, rowid;

-- name: open_waits_of_run
SELECT * FROM waits WHERE run_id = :run_id AND status = 'open' ORDER BY created_at, alt;

-- name: run_tree
WITH RECURSIVE tree (id) AS (
    SELECT :id
    UNION ALL
    SELECT r.id FROM runs r JOIN tree t ON r.parent_id = t.id
)
SELECT runs.* FROM runs JOIN tree USING (id);

-- name: cancel_open_waits_of_run
UPDATE waits SET status = 'cancelled', closed_at = :closed_at
WHERE run_id = :run_id AND status = 'open';

-- name: close_wait
UPDATE waits
SET status = :status, answer = :answer, closed_at = :closed_at, responder = :responder,
    channel = :channel, prompt = :prompt
WHERE id = :id AND status = 'open';

-- name: cancel_other_alternatives
UPDATE waits SET status = 'cancelled', closed_at = :closed_at
WHERE run_id = :run_id AND step_key = :step_key AND attempt = :attempt AND id <> :id
  AND status = 'open';

-- name: due_waits
SELECT * FROM waits
WHERE status = 'open' AND deadline IS NOT NULL AND deadline <= :now
ORDER BY deadline
LIMIT :limit;

-- name: closed_waits_since
SELECT id, run_id, closed_at FROM waits
WHERE closed_at IS NOT NULL AND closed_at >= :since
ORDER BY closed_at;

-- name: open_inputs
SELECT w.* FROM waits w JOIN runs r ON r.id = w.run_id
WHERE w.status = 'open' AND w.kind = 'input'
  AND (:run_id IS NULL OR w.run_id = :run_id)
ORDER BY w.created_at, w.id
LIMIT :limit OFFSET :offset;

-- name: insert_early_input
INSERT INTO early_inputs (run_id, name, data, sent_at, responder, channel, status)
VALUES (:run_id, :name, :data, :sent_at, :responder, :channel, 'pending');

-- name: pending_early_inputs
SELECT * FROM early_inputs
WHERE run_id = :run_id AND name = :name AND status = 'pending'
ORDER BY id;

-- name: settle_early_input
UPDATE early_inputs SET status = :status, detail = :detail
WHERE id = :id AND status = 'pending';

-- name: put_deployment
INSERT INTO deployments (
    name, flow_name, entrypoint, description, parameters, parameter_schema, tags,
    created_at, updated_at, work_pool, work_queue, concurrency_limit, collision_strategy
)
VALUES (
    :name, :flow_name, :entrypoint, :description, :parameters, :parameter_schema, :tags,
    :created_at, :updated_at, :work_pool, :work_queue, :concurrency_limit, :collision_strategy
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
    updated_at = excluded.updated_at;

-- name: get_deployment
SELECT * FROM deployments WHERE name = :name;

-- name: list_deployments
SELECT * FROM deployments ORDER BY name LIMIT :limit OFFSET :offset;

-- name: insert_message
INSERT INTO messages (run_id, key, data, sent_at, sender_run_id, sender, reply_to, topic)
VALUES (:run_id, :key, :data, :sent_at, :sender_run_id, :sender, :reply_to, :topic)
ON CONFLICT (run_id, key) DO NOTHING;

-- name: get_message
SELECT * FROM messages WHERE run_id = :run_id AND key = :key;

-- name: pending_messages
SELECT * FROM messages WHERE run_id = :run_id AND status = 'pending' ORDER BY id;

-- name: receive_message
UPDATE messages SET status = 'received', received_at = :received_at,
    received_step_key = :received_step_key
WHERE id = :id AND status = 'pending';

-- name: messages_to_run
SELECT * FROM messages WHERE run_id = :run_id ORDER BY id LIMIT :limit;

-- name: message_with_key
SELECT * FROM messages WHERE run_id = :run_id AND key = :key;

-- name: messages_from_run
SELECT * FROM messages WHERE sender_run_id = :run_id ORDER BY id LIMIT :limit;

-- name: open_message_waits_of_run
SELECT * FROM waits WHERE run_id = :run_id AND status = 'open' AND kind = 'message'
ORDER BY created_at, alt;

-- name: get_variable
SELECT value FROM variables WHERE name = :name;

-- name: insert_variable
INSERT INTO variables (name, value, updated_at) VALUES (:name, :value, :updated_at)
ON CONFLICT (name) DO NOTHING;

-- name: put_variable
INSERT INTO variables (name, value, updated_at) VALUES (:name, :value, :updated_at)
ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;

-- name: queue_outbox
INSERT INTO outbox (key, run_id, wait_id, channel, recipients, payload, created_at, due_at)
VALUES (:key, :run_id, :wait_id, :channel, :recipients, :payload, :created_at, :due_at)
ON CONFLICT (key) DO NOTHING;

-- name: claim_outbox
UPDATE outbox SET claimed_by = :owner, claimed_until = :until
WHERE id IN (
    SELECT id FROM outbox
    WHERE status = 'pending' AND due_at <= :now
      AND (claimed_until IS NULL OR claimed_until < :now OR claimed_by = :owner)
    ORDER BY due_at, id
    LIMIT :limit
)
RETURNING *;

-- name: settle_outbox
UPDATE outbox
SET status = :status, attempts = attempts + :attempted, last_error = :error,
    due_at = coalesce(:retry_at, due_at), sent_at = :sent_at,
    claimed_by = NULL, claimed_until = NULL
WHERE id = :id;

-- name: outbox_of_run
SELECT * FROM outbox WHERE run_id = :run_id ORDER BY id;

-- name: next_outbox_due
SELECT min(due_at) AS due_at FROM outbox WHERE status = 'pending';
