-- name: automation_exists
SELECT id FROM automations WHERE id = :id;

-- name: automation_name_taken
SELECT id FROM automations WHERE name = :name AND id <> :id;

-- name: insert_automation
INSERT INTO automations (id, name, description, enabled, trigger, actions, actions_on_trigger,
                         actions_on_resolve, created_at, updated_at)
VALUES (:id, :name, :description, :enabled, :trigger, :actions, :actions_on_trigger,
        :actions_on_resolve, :created_at, :updated_at)
ON CONFLICT (id) DO NOTHING
RETURNING id;

-- name: update_automation
UPDATE automations SET name = :name, description = :description, enabled = :enabled,
    trigger = :trigger, actions = :actions, actions_on_trigger = :actions_on_trigger,
    actions_on_resolve = :actions_on_resolve, updated_at = :updated_at
WHERE id = :id
RETURNING id;

-- name: get_automation
SELECT * FROM automations WHERE id = :id_or_name
UNION ALL
SELECT * FROM automations WHERE name = :id_or_name AND NOT EXISTS (
    SELECT 1 FROM automations WHERE id = :id_or_name);

-- name: list_automations
SELECT * FROM automations ORDER BY name;

-- name: delete_automation_states
DELETE FROM automation_states WHERE automation_id = :id;

-- name: delete_automation_timers
DELETE FROM automation_timers WHERE automation_id = :id;

-- name: delete_automation
DELETE FROM automations WHERE id = :id
RETURNING id;

-- name: set_automation_enabled
UPDATE automations SET enabled = :enabled, updated_at = :at WHERE id = :id
RETURNING id;

-- name: automation_cursor
SELECT seq, commits FROM automation_cursor WHERE id = 1;

-- name: trigger_states
SELECT * FROM automation_states ORDER BY automation_id, key;

-- name: automation_timers
SELECT * FROM automation_timers ORDER BY due_at, automation_id, key;

-- name: move_automation_cursor
UPDATE automation_cursor SET seq = :after, commits = commits + 1, updated_at = :at
WHERE id = 1 AND seq = :before AND (:commits IS NULL OR commits = :commits)
RETURNING seq;

-- name: delete_trigger_state
DELETE FROM automation_states WHERE automation_id = :automation_id AND key = :key;

-- name: delete_automation_timer
DELETE FROM automation_timers WHERE automation_id = :automation_id AND key = :key;

-- name: put_trigger_state
INSERT INTO automation_states (automation_id, key, state, updated_at)
SELECT :automation_id, :key, :state, :updated_at
WHERE EXISTS (SELECT 1 FROM automations WHERE id = :automation_id)
ON CONFLICT (automation_id, key) DO UPDATE SET
    state = excluded.state, updated_at = excluded.updated_at;

-- name: put_automation_timer
INSERT INTO automation_timers (automation_id, key, due_at)
SELECT :automation_id, :key, :due_at
WHERE EXISTS (SELECT 1 FROM automations WHERE id = :automation_id)
ON CONFLICT (automation_id, key) DO UPDATE SET due_at = excluded.due_at;

-- name: insert_firing
INSERT INTO automation_firings (id, automation_id, fired_at, kind, key, triggering_event,
                                context)
SELECT :id, :automation_id, :fired_at, :kind, :key, :triggering_event, :context
WHERE EXISTS (SELECT 1 FROM automations WHERE id = :automation_id)
ON CONFLICT (id) DO NOTHING;

-- name: insert_firing_action
INSERT INTO automation_actions (firing_id, action_index, action, status, attempts, detail,
                                due_at, settled_at)
SELECT :firing_id, :action_index, :action, :status, :attempts, :detail, :due_at, :settled_at
WHERE EXISTS (SELECT 1 FROM automation_firings WHERE id = :firing_id)
ON CONFLICT (firing_id, action_index) DO NOTHING;

-- name: due_actions
SELECT f.id, f.automation_id, f.fired_at, f.kind, f.key, f.triggering_event, f.context,
       a.action_index, a.action, a.status, a.attempts, a.detail, a.due_at, a.settled_at
FROM automation_actions a JOIN automation_firings f ON f.id = a.firing_id
WHERE a.status = 'pending' AND a.due_at <= :now
ORDER BY a.due_at, a.firing_id, a.action_index
LIMIT :limit;

-- name: settle_action
UPDATE automation_actions SET status = :status, attempts = attempts + 1, detail = :detail,
    due_at = coalesce(:retry_at, due_at), settled_at = :settled_at
WHERE firing_id = :firing_id AND action_index = :action_index AND status = 'pending'
RETURNING firing_id;

-- name: firings_of
SELECT f.id, f.automation_id, f.fired_at, f.kind, f.key, f.triggering_event, f.context,
       a.action_index, a.action, a.status, a.attempts, a.detail, a.due_at, a.settled_at
FROM (SELECT * FROM automation_firings WHERE automation_id = :automation_id
      ORDER BY fired_at DESC, seq DESC LIMIT :limit) f
LEFT JOIN automation_actions a ON a.firing_id = f.id
ORDER BY f.fired_at DESC, f.seq DESC, a.action_index;
