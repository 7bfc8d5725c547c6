-- Events (Prefect's shape, `tarry.` labels): what happened to which resource, with the
-- resources it relates to. `seq` orders them for readers that follow the stream
-- (AUTOINCREMENT: never reused, even after retention deleted the newest). The
-- triggers write the built-in events of runs, input waits and messages in the
-- transaction of the change; `storage/events.py` builds the same in Python.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    occurred REAL NOT NULL,
    event TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    related TEXT NOT NULL DEFAULT '[]',
    payload TEXT NOT NULL DEFAULT '{}',
    received REAL NOT NULL,
    follows TEXT
);
CREATE INDEX events_name ON events (event, occurred);
CREATE INDEX events_resource ON events (resource_id, seq);
CREATE INDEX events_occurred ON events (occurred);
CREATE VIEW event_new_id AS
SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-'
       || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(h, 18, 3) || '-'
       || substr(h, 21, 12) AS id
FROM (SELECT lower(hex(randomblob(16))) AS h);
CREATE TRIGGER run_transition_event AFTER INSERT ON run_transitions
BEGIN
    INSERT INTO events (id, occurred, event, resource_id, resource, related, payload, received)
    SELECT (SELECT id FROM event_new_id), NEW.at,
           'tarry.flow-run.' || s.shown,
           'tarry.flow-run.' || r.id,
           json_object('tarry.resource.id', 'tarry.flow-run.' || r.id,
                       'tarry.resource.name', r.name,
                       'tarry.state-name', s.shown,
                       'tarry.state-type', s.type),
           (SELECT json_group_array(json(item)) FROM (
                SELECT 0 AS o, 0 AS k,
                       json_object('tarry.resource.id', 'tarry.flow.' || r.flow_name,
                                   'tarry.resource.role', 'flow',
                                   'tarry.resource.name', r.flow_name) AS item
                UNION ALL
                SELECT 1, 0, json_object('tarry.resource.id', 'tarry.deployment.' || r.deployment,
                                         'tarry.resource.role', 'deployment',
                                         'tarry.resource.name', r.deployment)
                WHERE r.deployment IS NOT NULL
                UNION ALL
                SELECT 2, t.key, json_object('tarry.resource.id', 'tarry.tag.' || t.value,
                                             'tarry.resource.role', 'tag')
                FROM json_each(r.tags) t
                UNION ALL
                SELECT 3, 0, json_object('tarry.resource.id', 'tarry.work-pool.' || r.work_pool,
                                         'tarry.resource.role', 'work-pool',
                                         'tarry.resource.name', r.work_pool)
                UNION ALL
                SELECT 4, 0, json_object('tarry.resource.id',
                                         'tarry.work-queue.' || r.work_pool || '/' || r.work_queue,
                                         'tarry.resource.role', 'work-queue',
                                         'tarry.resource.name', r.work_queue)
                UNION ALL
                SELECT 5, 0, json_object('tarry.resource.id', 'tarry.flow-run.' || r.parent_id,
                                         'tarry.resource.role', 'parent')
                WHERE r.parent_id IS NOT NULL
                ORDER BY o, k)),
           json_object('intended', json_object('from', NEW.from_state, 'to', NEW.to_state),
                       'initial_state',
                       CASE WHEN NEW.from_state IS NULL THEN NULL
                            ELSE json_object('type', CASE NEW.from_state WHEN 'Waiting'
                                                     THEN 'PAUSED' ELSE upper(NEW.from_state) END,
                                             'name', NEW.from_state) END,
                       'validated_state', json_object('type', s.type, 'name', s.shown,
                                                      'message', NEW.reason)),
           NEW.at
    FROM runs r,
         (SELECT CASE WHEN NEW.to_state <> 'Waiting' THEN NEW.to_state
                      WHEN (SELECT lease_owner FROM runs WHERE id = NEW.run_id) IS NULL
                      THEN 'Suspended' ELSE 'Paused' END AS shown,
                 CASE NEW.to_state WHEN 'Waiting' THEN 'PAUSED'
                      ELSE upper(NEW.to_state) END AS type) s
    WHERE r.id = NEW.run_id;
END;
CREATE TRIGGER input_requested_event AFTER INSERT ON waits WHEN NEW.kind = 'input'
BEGIN
    INSERT INTO events (id, occurred, event, resource_id, resource, related, payload, received)
    SELECT (SELECT id FROM event_new_id), NEW.created_at, 'tarry.input.requested',
           'tarry.input.' || NEW.id,
           json_object('tarry.resource.id', 'tarry.input.' || NEW.id,
                       'tarry.resource.name', NEW.name),
           json_array(json_object('tarry.resource.id', 'tarry.flow-run.' || r.id,
                                  'tarry.resource.role', 'flow-run',
                                  'tarry.resource.name', r.name),
                      json_object('tarry.resource.id', 'tarry.flow.' || r.flow_name,
                                  'tarry.resource.role', 'flow',
                                  'tarry.resource.name', r.flow_name)),
           json_object('wait_id', NEW.id, 'run_id', NEW.run_id, 'name', NEW.name,
                       'kind', NEW.kind,
                       'description', CASE WHEN json_type(NEW.spec) = 'object'
                                           THEN json_extract(NEW.spec, '$.description') END,
                       'timeout_at', NEW.deadline),
           NEW.created_at
    FROM runs r WHERE r.id = NEW.run_id;
END;
CREATE TRIGGER input_closed_event AFTER UPDATE OF status ON waits
WHEN OLD.status = 'open' AND NEW.status IN ('answered', 'timed_out', 'cancelled')
     AND NEW.kind = 'input'
BEGIN
    INSERT INTO events (id, occurred, event, resource_id, resource, related, payload, received)
    SELECT (SELECT id FROM event_new_id), coalesce(NEW.closed_at, NEW.created_at),
           CASE NEW.status WHEN 'answered' THEN 'tarry.input.answered'
                           WHEN 'timed_out' THEN 'tarry.input.expired'
                           ELSE 'tarry.input.cancelled' END,
           'tarry.input.' || NEW.id,
           json_object('tarry.resource.id', 'tarry.input.' || NEW.id,
                       'tarry.resource.name', NEW.name),
           json_array(json_object('tarry.resource.id', 'tarry.flow-run.' || r.id,
                                  'tarry.resource.role', 'flow-run',
                                  'tarry.resource.name', r.name),
                      json_object('tarry.resource.id', 'tarry.flow.' || r.flow_name,
                                  'tarry.resource.role', 'flow',
                                  'tarry.resource.name', r.flow_name)),
           CASE WHEN NEW.status = 'answered'
                THEN json_object('wait_id', NEW.id, 'run_id', NEW.run_id, 'name', NEW.name,
                                 'answer', json(NEW.answer), 'channel', NEW.channel,
                                 'by', NEW.responder)
                ELSE json_object('wait_id', NEW.id, 'run_id', NEW.run_id, 'name', NEW.name) END,
           coalesce(NEW.closed_at, NEW.created_at)
    FROM runs r WHERE r.id = NEW.run_id;
END;
CREATE TRIGGER message_sent_event AFTER INSERT ON messages
BEGIN
    INSERT INTO events (id, occurred, event, resource_id, resource, related, payload, received)
    VALUES ((SELECT id FROM event_new_id), NEW.sent_at, 'tarry.message.sent',
            'tarry.message.' || NEW.run_id || '/' || NEW.key,
            json_object('tarry.resource.id', 'tarry.message.' || NEW.run_id || '/' || NEW.key,
                        'tarry.resource.name', NEW.key),
            CASE WHEN NEW.sender_run_id IS NULL
                 THEN json_array(json_object('tarry.resource.id', 'tarry.flow-run.' || NEW.run_id,
                                             'tarry.resource.role', 'receiver'))
                 ELSE json_array(json_object('tarry.resource.id', 'tarry.flow-run.' || NEW.run_id,
                                             'tarry.resource.role', 'receiver'),
                                 json_object('tarry.resource.id',
                                             'tarry.flow-run.' || NEW.sender_run_id,
                                             'tarry.resource.role', 'sender')) END,
            json_object('run_id', NEW.run_id, 'key', NEW.key, 'topic', NEW.topic,
                        'sender', NEW.sender),
            NEW.sent_at);
END;
