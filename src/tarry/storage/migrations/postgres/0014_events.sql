-- Events (Prefect's shape, `tarry.` labels): what happened to which resource, with the
-- resources it relates to. `seq` orders them for readers that follow the stream.
-- The triggers write the built-in events of runs, input waits and messages in the
-- transaction of the change, once per statement (so a one-statement change stays
-- one statement), and announce them on channel `tarry_events` (one notification per
-- transaction: PostgreSQL folds identical ones; only processes that follow events
-- listen to it). Every writer of events holds the
-- shared lock `tarry_event_lock` from before it takes a `seq` until it commits, so
-- a reader can tell up to which `seq` nothing is still in flight
-- (`storage.events.Horizon`). `storage/events.py` builds the same events in Python.
CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    occurred DOUBLE PRECISION NOT NULL,
    event TEXT COLLATE "C" NOT NULL,
    resource_id TEXT COLLATE "C" NOT NULL,
    resource TEXT NOT NULL,
    related TEXT NOT NULL DEFAULT '[]',
    payload TEXT NOT NULL DEFAULT '{}',
    received DOUBLE PRECISION NOT NULL,
    follows TEXT
);
CREATE INDEX events_name ON events (event, occurred);
CREATE INDEX events_resource ON events (resource_id, seq);
CREATE INDEX events_occurred ON events (occurred);

CREATE FUNCTION tarry_event_lock() RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock_shared(31353, hashtext(coalesce(current_schema(), '')));
$$;

CREATE FUNCTION tarry_events_stored() RETURNS void LANGUAGE sql AS $$
    SELECT pg_notify('tarry_events', '');
$$;

CREATE FUNCTION tarry_state_type(state TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE state WHEN 'Waiting' THEN 'PAUSED' ELSE upper(state) END;
$$;

CREATE FUNCTION tarry_shown_state(state TEXT, lease_owner TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN state <> 'Waiting' THEN state
                WHEN lease_owner IS NULL THEN 'Suspended' ELSE 'Paused' END;
$$;

CREATE FUNCTION tarry_run_related(r runs) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_agg(item ORDER BY o, k) FROM (
        SELECT 0 AS o, 0::bigint AS k,
               json_build_object('tarry.resource.id', 'tarry.flow.' || r.flow_name,
                                 'tarry.resource.role', 'flow',
                                 'tarry.resource.name', r.flow_name) AS item
        UNION ALL
        SELECT 1, 0, json_build_object('tarry.resource.id', 'tarry.deployment.' || r.deployment,
                                       'tarry.resource.role', 'deployment',
                                       'tarry.resource.name', r.deployment)
        WHERE r.deployment IS NOT NULL
        UNION ALL
        SELECT 2, t.n, json_build_object('tarry.resource.id', 'tarry.tag.' || t.tag,
                                         'tarry.resource.role', 'tag')
        FROM json_array_elements_text(r.tags::json) WITH ORDINALITY AS t (tag, n)
        UNION ALL
        SELECT 3, 0, json_build_object('tarry.resource.id', 'tarry.work-pool.' || r.work_pool,
                                       'tarry.resource.role', 'work-pool',
                                       'tarry.resource.name', r.work_pool)
        UNION ALL
        SELECT 4, 0, json_build_object('tarry.resource.id',
                                       'tarry.work-queue.' || r.work_pool || '/' || r.work_queue,
                                       'tarry.resource.role', 'work-queue',
                                       'tarry.resource.name', r.work_queue)
        UNION ALL
        SELECT 5, 0, json_build_object('tarry.resource.id', 'tarry.flow-run.' || r.parent_id,
                                       'tarry.resource.role', 'parent')
        WHERE r.parent_id IS NOT NULL
    ) items;
$$;

CREATE FUNCTION tarry_run_transition_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_transitions) THEN
        RETURN NULL;
    END IF;
    PERFORM tarry_event_lock();
    INSERT INTO events (id, occurred, event, resource_id, resource, related, payload, received)
    SELECT gen_random_uuid()::text, t.at,
           'tarry.flow-run.' || tarry_shown_state(t.to_state, r.lease_owner),
           'tarry.flow-run.' || r.id,
           json_build_object('tarry.resource.id', 'tarry.flow-run.' || r.id,
                             'tarry.resource.name', r.name,
                             'tarry.state-name', tarry_shown_state(t.to_state, r.lease_owner),
                             'tarry.state-type', tarry_state_type(t.to_state))::text,
           tarry_run_related(r)::text,
           json_build_object(
               'intended', json_build_object('from', t.from_state, 'to', t.to_state),
               'initial_state', CASE WHEN t.from_state IS NOT NULL THEN
                   json_build_object('type', tarry_state_type(t.from_state),
                                     'name', t.from_state) END,
               'validated_state', json_build_object(
                   'type', tarry_state_type(t.to_state),
                   'name', tarry_shown_state(t.to_state, r.lease_owner),
                   'message', t.reason))::text,
           t.at
    FROM new_transitions t JOIN runs r ON r.id = t.run_id
    ORDER BY t.id;
    PERFORM tarry_events_stored();
    RETURN NULL;
END;
$$;

CREATE TRIGGER run_transition_events AFTER INSERT ON run_transitions
REFERENCING NEW TABLE AS new_transitions
FOR EACH STATEMENT EXECUTE FUNCTION tarry_run_transition_events();

CREATE FUNCTION tarry_wait_related(r runs) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_array(
        json_build_object('tarry.resource.id', 'tarry.flow-run.' || r.id,
                          'tarry.resource.role', 'flow-run', 'tarry.resource.name', r.name),
        json_build_object('tarry.resource.id', 'tarry.flow.' || r.flow_name,
                          'tarry.resource.role', 'flow', 'tarry.resource.name', r.flow_name));
$$;

CREATE FUNCTION tarry_input_requested_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_waits WHERE kind = 'input') THEN
        RETURN NULL;
    END IF;
    PERFORM tarry_event_lock();
    INSERT INTO events (id, occurred, event, resource_id, resource, related, payload, received)
    SELECT gen_random_uuid()::text, w.created_at, 'tarry.input.requested',
           'tarry.input.' || w.id,
           json_build_object('tarry.resource.id', 'tarry.input.' || w.id,
                             'tarry.resource.name', w.name)::text,
           tarry_wait_related(r)::text,
           json_build_object('wait_id', w.id, 'run_id', w.run_id, 'name', w.name,
                             'kind', w.kind,
                             'description', CASE WHEN json_typeof(w.spec::json) = 'object'
                                                 THEN w.spec::json -> 'description' END,
                             'timeout_at', w.deadline)::text,
           w.created_at
    FROM new_waits w JOIN runs r ON r.id = w.run_id
    WHERE w.kind = 'input'
    ORDER BY w.created_at, w.alt;
    PERFORM tarry_events_stored();
    RETURN NULL;
END;
$$;

CREATE TRIGGER input_requested_events AFTER INSERT ON waits
REFERENCING NEW TABLE AS new_waits
FOR EACH STATEMENT EXECUTE FUNCTION tarry_input_requested_events();

CREATE FUNCTION tarry_input_closed_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM new_waits n JOIN old_waits o ON o.id = n.id
        WHERE n.kind = 'input' AND o.status = 'open' AND n.status <> 'open'
    ) THEN
        RETURN NULL;
    END IF;
    PERFORM tarry_event_lock();
    INSERT INTO events (id, occurred, event, resource_id, resource, related, payload, received)
    SELECT gen_random_uuid()::text, coalesce(w.closed_at, w.created_at),
           CASE w.status WHEN 'answered' THEN 'tarry.input.answered'
                         WHEN 'timed_out' THEN 'tarry.input.expired'
                         ELSE 'tarry.input.cancelled' END,
           'tarry.input.' || w.id,
           json_build_object('tarry.resource.id', 'tarry.input.' || w.id,
                             'tarry.resource.name', w.name)::text,
           tarry_wait_related(r)::text,
           CASE WHEN w.status = 'answered'
                THEN json_build_object('wait_id', w.id, 'run_id', w.run_id, 'name', w.name,
                                       'answer', w.answer::json, 'channel', w.channel,
                                       'by', w.responder)
                ELSE json_build_object('wait_id', w.id, 'run_id', w.run_id, 'name', w.name)
           END::text,
           coalesce(w.closed_at, w.created_at)
    FROM new_waits w JOIN old_waits o ON o.id = w.id JOIN runs r ON r.id = w.run_id
    WHERE w.kind = 'input' AND o.status = 'open' AND w.status <> 'open'
    ORDER BY w.created_at, w.alt;
    PERFORM tarry_events_stored();
    RETURN NULL;
END;
$$;

CREATE TRIGGER input_closed_events AFTER UPDATE ON waits
REFERENCING OLD TABLE AS old_waits NEW TABLE AS new_waits
FOR EACH STATEMENT EXECUTE FUNCTION tarry_input_closed_events();

CREATE FUNCTION tarry_message_sent_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_messages) THEN
        RETURN NULL;
    END IF;
    PERFORM tarry_event_lock();
    INSERT INTO events (id, occurred, event, resource_id, resource, related, payload, received)
    SELECT gen_random_uuid()::text, m.sent_at, 'tarry.message.sent',
           'tarry.message.' || m.run_id || '/' || m.key,
           json_build_object('tarry.resource.id', 'tarry.message.' || m.run_id || '/' || m.key,
                             'tarry.resource.name', m.key)::text,
           CASE WHEN m.sender_run_id IS NULL
                THEN json_build_array(
                    json_build_object('tarry.resource.id', 'tarry.flow-run.' || m.run_id,
                                      'tarry.resource.role', 'receiver'))
                ELSE json_build_array(
                    json_build_object('tarry.resource.id', 'tarry.flow-run.' || m.run_id,
                                      'tarry.resource.role', 'receiver'),
                    json_build_object('tarry.resource.id', 'tarry.flow-run.' || m.sender_run_id,
                                      'tarry.resource.role', 'sender'))
           END::text,
           json_build_object('run_id', m.run_id, 'key', m.key, 'topic', m.topic,
                             'sender', m.sender)::text,
           m.sent_at
    FROM new_messages m
    ORDER BY m.id;
    PERFORM tarry_events_stored();
    RETURN NULL;
END;
$$;

CREATE TRIGGER message_sent_events AFTER INSERT ON messages
REFERENCING NEW TABLE AS new_messages
FOR EACH STATEMENT EXECUTE FUNCTION tarry_message_sent_events();
