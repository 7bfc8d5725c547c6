-- Schedules of deployments and the runs made ahead for their slots (migration 0009).

-- name: put_schedule
INSERT INTO schedules (deployment, slug, schedule, active, parameters, missed, made_until,
                       created_at, updated_at)
VALUES (%(deployment)s, %(slug)s, %(schedule)s, %(active)s, %(parameters)s, %(missed)s,
        %(made_until)s, %(created_at)s, %(updated_at)s)
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
WHERE (%(deployment)s::text IS NULL OR deployment = %(deployment)s::text)
  AND (NOT %(active_only)s OR active)
ORDER BY deployment, slug;

-- name: lock_schedule
SELECT * FROM schedules WHERE deployment = %(deployment)s AND slug = %(slug)s FOR UPDATE;

-- name: delete_schedule
DELETE FROM schedules WHERE deployment = %(deployment)s AND slug = %(slug)s;

-- name: set_schedule_active
UPDATE schedules
SET made_until = CASE WHEN %(active)s AND NOT active THEN %(at)s ELSE made_until END,
    active = %(active)s,
    updated_at = %(at)s
WHERE deployment = %(deployment)s AND slug = %(slug)s
RETURNING *;

-- name: advance_schedule
UPDATE schedules
SET made_until = GREATEST(coalesce(made_until, %(made_until)s), %(made_until)s)
WHERE deployment = %(deployment)s AND slug = %(slug)s;

-- name: insert_scheduled_runs
-- Slots first, each unless its key is taken: only the slots this statement inserted
-- get a run (the slot's reference to its run is checked at commit).
WITH slots AS (
    INSERT INTO scheduled_runs (deployment, slot_at, slug, run_id, released)
    SELECT %(deployment)s, s.slot_at, %(slug)s, s.run_id, FALSE
    FROM unnest(%(slot_ats)s::double precision[], %(run_ids)s::text[]) AS s (slot_at, run_id)
    ON CONFLICT (deployment, slot_at) DO NOTHING
    RETURNING run_id
), made AS (
    INSERT INTO runs (id, name, flow_name, entrypoint, parameters, state, state_reason,
                      attempt, tags, created_at, deployment, work_pool, work_queue)
    SELECT r.id, r.name, %(flow_name)s, %(entrypoint)s, r.parameters, 'Scheduled', r.reason,
           1, %(tags)s, %(created_at)s, %(run_deployment)s, %(work_pool)s, %(work_queue)s
    FROM unnest(%(run_ids)s::text[], %(names)s::text[], %(parameters)s::text[],
                %(reasons)s::text[]) AS r (id, name, parameters, reason)
    WHERE r.id IN (SELECT run_id FROM slots)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
), first_transition AS (
    INSERT INTO run_transitions (run_id, from_state, to_state, reason, at)
    SELECT id, NULL, 'Scheduled', 'made by its schedule', %(created_at)s FROM made
)
SELECT id FROM made;

-- name: waiting_slots_of_schedule
SELECT s.* FROM scheduled_runs s JOIN runs r ON r.id = s.run_id
WHERE s.deployment = %(deployment)s AND s.slug = %(slug)s AND NOT s.released
  AND r.state = 'Scheduled'
FOR UPDATE OF s, r;

-- name: delete_waiting_runs
WITH slots AS (
    DELETE FROM scheduled_runs
    WHERE deployment = %(deployment)s AND run_id = ANY(%(run_ids)s::text[])
    RETURNING run_id
), transitions AS (
    DELETE FROM run_transitions WHERE run_id IN (SELECT run_id FROM slots)
)
DELETE FROM runs WHERE id IN (SELECT run_id FROM slots) AND state = 'Scheduled';

-- name: due_slots
SELECT * FROM scheduled_runs WHERE NOT released AND slot_at <= %(now)s
ORDER BY slot_at LIMIT %(limit)s;

-- name: release_slots
-- Slots another scheduler is releasing right now are skipped, not waited for.
WITH wanted AS (
    SELECT * FROM unnest(%(deployments)s::text[], %(slot_ats)s::double precision[])
        AS w (deployment, slot_at)
), taken AS (
    SELECT s.deployment, s.slot_at FROM scheduled_runs s
    JOIN wanted w ON s.deployment = w.deployment AND s.slot_at = w.slot_at
    WHERE NOT s.released
    FOR UPDATE OF s SKIP LOCKED
)
UPDATE scheduled_runs s SET released = TRUE
FROM taken t WHERE s.deployment = t.deployment AND s.slot_at = t.slot_at
RETURNING s.run_id;

-- name: release_scheduled_runs
WITH changed AS (
    UPDATE runs
    SET state = %(state)s, state_reason = %(reason)s,
        ended_at = CASE WHEN %(state)s = 'Cancelled' THEN %(at)s ELSE ended_at END
    WHERE id = ANY(%(run_ids)s::text[]) AND state = 'Scheduled'
    RETURNING id
), transitions AS (
    INSERT INTO run_transitions (run_id, from_state, to_state, reason, at)
    SELECT id, 'Scheduled', %(state)s, %(reason)s, %(at)s FROM changed
)
SELECT id, CASE WHEN %(state)s = 'Pending'
                THEN pg_notify('tarry_wake', json_build_object('event', 'run_ready',
                                                               'run_id', id)::text) END AS woken
FROM changed;

-- name: upcoming_slots
SELECT s.slot_at, s.slug, s.released, s.run_id, r.*  -- r.deployment may be unset: the slot's is given
FROM scheduled_runs s JOIN runs r ON r.id = s.run_id
WHERE s.deployment = %(deployment)s AND NOT s.released
ORDER BY s.slot_at LIMIT %(limit)s;
