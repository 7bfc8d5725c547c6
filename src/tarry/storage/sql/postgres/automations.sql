-- name: automation_exists
SELECT id FROM automations WHERE id = %(id)s;

-- name: automation_name_taken
SELECT id FROM automations WHERE name = %(name)s AND id <> %(id)s;

-- name: insert_automation
INSERT INTO automations (id, name, description, enabled, trigger, actions, actions_on_trigger,
                         actions_on_resolve, created_at, updated_at)
VALUES (%(id)s, %(name)s, %(description)s, %(enabled)s, %(trigger)s, %(actions)s,
        %(actions_on_trigger)s, %(actions_on_resolve)s, %(created_at)s, %(updated_at)s)
ON CONFLICT (id) DO NOTHING
RETURNING id;

-- name: update_automation
UPDATE automations SET name = %(name)s, description = %(description)s, enabled = %(enabled)s,
    trigger = %(trigger)s, actions = %(actions)s, actions_on_trigger = %(actions_on_trigger)s,
    actions_on_resolve = %(actions_on_resolve)s, updated_at = %(updated_at)s
WHERE id = %(id)s
RETURNING id;

-- name: get_automation
SELECT * FROM automations WHERE id = %(id_or_name)s
UNION ALL
SELECT * FROM automations WHERE name = %(id_or_name)s AND NOT EXISTS (
    SELECT 1 FROM automations WHERE id = %(id_or_name)s);

-- name: list_automations
SELECT * FROM automations ORDER BY name;

-- name: delete_automation_states
DELETE FROM automation_states WHERE automation_id = %(id)s;

-- name: delete_automation_timers
DELETE FROM automation_timers WHERE automation_id = %(id)s;

-- name: delete_automation
DELETE FROM automations WHERE id = %(id)s
RETURNING id;

-- name: set_automation_enabled
UPDATE automations SET enabled = %(enabled)s, updated_at = %(at)s WHERE id = %(id)s
RETURNING id;

-- name: automation_cursor
SELECT seq, commits FROM automation_cursor WHERE id = 1;

-- name: trigger_states
SELECT * FROM automation_states ORDER BY automation_id, key;

-- name: automation_timers
SELECT * FROM automation_timers ORDER BY due_at, automation_id, key;

-- name: move_automation_cursor
-- Fails (division by zero) when another evaluator committed meanwhile, so the rest of
-- the transaction, sent in the same pipeline, is not applied: one round trip in all.
WITH moved AS (
    UPDATE automation_cursor SET seq = %(after)s, commits = commits + 1, updated_at = %(at)s
    WHERE id = 1 AND seq = %(before)s AND (%(commits)s::bigint IS NULL OR commits = %(commits)s)
    RETURNING seq
)
SELECT 1 / count(*) AS moved FROM moved;

-- name: delete_trigger_state
DELETE FROM automation_states WHERE automation_id = %(automation_id)s AND key = %(key)s;

-- name: delete_automation_timer
DELETE FROM automation_timers WHERE automation_id = %(automation_id)s AND key = %(key)s;

-- name: put_trigger_state
-- Locks the automation's row against a delete until this transaction ends (a delete
-- that locked it first makes this wait, then write nothing): no state, timer or
-- firing is written for an automation a committed delete removed.
INSERT INTO automation_states (automation_id, key, state, updated_at)
SELECT %(automation_id)s, %(key)s, %(state)s, %(updated_at)s
WHERE EXISTS (SELECT 1 FROM automations WHERE id = %(automation_id)s FOR KEY SHARE)
ON CONFLICT (automation_id, key) DO UPDATE SET
    state = excluded.state, updated_at = excluded.updated_at;

-- name: put_automation_timer
INSERT INTO automation_timers (automation_id, key, due_at)
SELECT %(automation_id)s, %(key)s, %(due_at)s
WHERE EXISTS (SELECT 1 FROM automations WHERE id = %(automation_id)s FOR KEY SHARE)
ON CONFLICT (automation_id, key) DO UPDATE SET due_at = excluded.due_at;

-- name: insert_firing
INSERT INTO automation_firings (id, automation_id, fired_at, kind, key, triggering_event,
                                context)
SELECT %(id)s, %(automation_id)s, %(fired_at)s, %(kind)s, %(key)s, %(triggering_event)s, %(context)s
WHERE EXISTS (SELECT 1 FROM automations WHERE id = %(automation_id)s FOR KEY SHARE)
ON CONFLICT (id) DO NOTHING;

-- name: insert_firing_action
INSERT INTO automation_actions (firing_id, action_index, action, status, attempts, detail,
                                due_at, settled_at)
SELECT %(firing_id)s, %(action_index)s, %(action)s, %(status)s, %(attempts)s, %(detail)s,
       %(due_at)s, %(settled_at)s::double precision
WHERE EXISTS (SELECT 1 FROM automation_firings WHERE id = %(firing_id)s)
ON CONFLICT (firing_id, action_index) DO NOTHING;

-- name: due_actions
SELECT f.id, f.automation_id, f.fired_at, f.kind, f.key, f.triggering_event, f.context,
       a.action_index, a.action, a.status, a.attempts, a.detail, a.due_at, a.settled_at
FROM automation_actions a JOIN automation_firings f ON f.id = a.firing_id
WHERE a.status = 'pending' AND a.due_at <= %(now)s
ORDER BY a.due_at, a.firing_id, a.action_index
LIMIT %(limit)s;

-- name: settle_action
UPDATE automation_actions SET status = %(status)s, attempts = attempts + 1, detail = %(detail)s,
    due_at = coalesce(%(retry_at)s::double precision, due_at), settled_at = %(settled_at)s
WHERE firing_id = %(firing_id)s AND action_index = %(action_index)s AND status = 'pending'
RETURNING firing_id;

-- name: firings_of
SELECT f.id, f.automation_id, f.fired_at, f.kind, f.key, f.triggering_event, f.context,
       a.action_index, a.action, a.status, a.attempts, a.detail, a.due_at, a.settled_at
FROM (SELECT * FROM automation_firings WHERE automation_id = %(automation_id)s
      ORDER BY fired_at DESC, seq DESC LIMIT %(limit)s) f
LEFT JOIN automation_actions a ON a.firing_id = f.id
ORDER BY f.fired_at DESC, f.seq DESC, a.action_index;
