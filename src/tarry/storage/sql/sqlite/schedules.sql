-- Schedules of deployments and the runs made ahead for their slots (migration 0009).

-- name: put_schedule
INSERT INTO schedules (deployment, slug, schedule, active, parameters, missed, made_until,
                       created_at, updated_at)
VALUES (:deployment, :slug, :schedule, :active, :parameters, :missed, :made_until,
        :created_at, :updated_at)
ON CONFLICT (deployment, slug) DO UPDATE
SET schedule = excluded.schedule,
    active = excluded.active,
    parameters = excluded.parameters,
    missed = excluded.missed,
    made_until = CASE WHEN schedules.schedule = excluded.schedule
                      THEN schedules.made_until ELSE excluded.made_until END,
    updated_at = excluded.updated_at;

-- name: list_schedules
SELECT * FROM schedules
WHERE (:deployment IS NULL OR deployment = :deployment) AND (NOT :active_only OR active)
ORDER BY deployment, slug;

-- name: get_schedule
SELECT * FROM schedules WHERE deployment = :deployment AND slug = :slug;

-- name: delete_schedule
DELETE FROM schedules WHERE deployment = :deployment AND slug = :slug;

-- name: set_schedule_active
UPDATE schedules
SET made_until = CASE WHEN :active AND NOT active THEN :at ELSE made_until END,
    active = :active,
    updated_at = :at
WHERE deployment = :deployment AND slug = :slug;

-- name: advance_schedule
UPDATE schedules SET made_until = max(coalesce(made_until, :made_until), :made_until)
WHERE deployment = :deployment AND slug = :slug;

-- name: insert_slot
INSERT INTO scheduled_runs (deployment, slot_at, slug, run_id, released)
VALUES (:deployment, :slot_at, :slug, :run_id, 0)
ON CONFLICT (deployment, slot_at) DO NOTHING;

-- name: waiting_slots_of_schedule
SELECT s.* FROM scheduled_runs s JOIN runs r ON r.id = s.run_id
WHERE s.deployment = :deployment AND s.slug = :slug AND s.released = 0
  AND r.state = 'Scheduled';

-- name: delete_slot
DELETE FROM scheduled_runs WHERE deployment = :deployment AND slot_at = :slot_at;

-- name: delete_scheduled_run_transitions
DELETE FROM run_transitions WHERE run_id = :run_id;

-- name: delete_scheduled_run
DELETE FROM runs WHERE id = :run_id AND state = 'Scheduled';

-- name: due_slots
SELECT * FROM scheduled_runs WHERE released = 0 AND slot_at <= :now
ORDER BY slot_at LIMIT :limit;

-- name: release_slot
UPDATE scheduled_runs SET released = 1
WHERE deployment = :deployment AND slot_at = :slot_at AND released = 0;

-- name: release_scheduled_run
UPDATE runs
SET state = :state, state_reason = :reason,
    ended_at = CASE WHEN :state = 'Cancelled' THEN :at ELSE ended_at END
WHERE id = :run_id AND state = 'Scheduled';

-- name: upcoming_slots
SELECT s.slot_at, s.slug, s.released, s.run_id, r.*  -- r.deployment may be unset: the slot's is given
FROM scheduled_runs s JOIN runs r ON r.id = s.run_id
WHERE s.deployment = :deployment AND s.released = 0
ORDER BY s.slot_at LIMIT :limit;
