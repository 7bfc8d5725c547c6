CREATE TABLE tarry_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    flow_name TEXT NOT NULL,
    entrypoint TEXT NOT NULL,
    parameters TEXT NOT NULL,
    state TEXT NOT NULL,
    state_reason TEXT NOT NULL DEFAULT '',
    parent_id TEXT REFERENCES runs (id),
    parent_step_key TEXT,
    attempt INTEGER NOT NULL DEFAULT 1,
    result TEXT,
    error TEXT,
    lease_owner TEXT,
    lease_expires_at REAL,
    tags TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL
, deployment TEXT, work_pool TEXT NOT NULL DEFAULT 'default', work_queue TEXT NOT NULL DEFAULT 'default');
CREATE INDEX runs_created ON runs (created_at DESC);
CREATE INDEX runs_active ON runs (state, lease_expires_at)
    WHERE state IN ('Pending', 'Running');
CREATE INDEX runs_parent ON runs (parent_id) WHERE parent_id IS NOT NULL;
CREATE TABLE run_transitions (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    from_state TEXT,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE INDEX run_transitions_run ON run_transitions (run_id, id);
CREATE TABLE steps (
    run_id TEXT NOT NULL REFERENCES runs (id),
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    inputs_digest TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    flow_attempt INTEGER NOT NULL DEFAULT 1,
    child_run_id TEXT,
    started_at REAL NOT NULL,
    ended_at REAL NOT NULL, cached_from TEXT,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE TABLE logs (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    step_key TEXT,
    at REAL NOT NULL,
    level INTEGER NOT NULL,
    logger TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL
);
CREATE INDEX logs_run ON logs (run_id, id);
CREATE TABLE waits (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    step_key TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1,
    alt INTEGER NOT NULL DEFAULT 0,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    spec TEXT,
    on_timeout TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    deadline REAL,
    answer TEXT,
    closed_at REAL,
    responder TEXT,
    channel TEXT,
    prompt TEXT,
    UNIQUE (run_id, step_key, attempt, alt)
);
CREATE INDEX waits_due ON waits (deadline) WHERE status = 'open' AND deadline IS NOT NULL;
CREATE INDEX waits_closed ON waits (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX waits_open ON waits (run_id) WHERE status = 'open';
CREATE TABLE early_inputs (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    sent_at REAL NOT NULL,
    responder TEXT,
    channel TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX early_inputs_pending ON early_inputs (run_id, name) WHERE status = 'pending';
CREATE TABLE deployments (
    name TEXT PRIMARY KEY,
    flow_name TEXT NOT NULL,
    entrypoint TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    parameters TEXT NOT NULL DEFAULT '{}',
    parameter_schema TEXT NOT NULL DEFAULT '{}',
    tags TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
, work_pool TEXT NOT NULL DEFAULT 'default', work_queue TEXT NOT NULL DEFAULT 'default', concurrency_limit INTEGER, collision_strategy TEXT NOT NULL DEFAULT 'ENQUEUE');
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    key TEXT NOT NULL,
    data TEXT NOT NULL,
    sent_at REAL NOT NULL,
    sender_run_id TEXT,
    sender TEXT,
    reply_to TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    received_at REAL,
    received_step_key TEXT, topic TEXT,
    UNIQUE (run_id, key)
);
CREATE INDEX messages_pending ON messages (run_id, id) WHERE status = 'pending';
CREATE INDEX messages_sent_by ON messages (sender_run_id, id) WHERE sender_run_id IS NOT NULL;
CREATE TABLE variables (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    wait_id TEXT,
    channel TEXT NOT NULL,
    recipients TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    due_at REAL NOT NULL,
    sent_at REAL,
    claimed_by TEXT,
    claimed_until REAL
);
CREATE INDEX outbox_due ON outbox (due_at) WHERE status = 'pending';
CREATE INDEX outbox_run ON outbox (run_id, id);
CREATE INDEX runs_pending ON runs (created_at) WHERE state = 'Pending' AND parent_id IS NULL;
CREATE TABLE schedules (
    deployment TEXT NOT NULL REFERENCES deployments (name),
    slug TEXT NOT NULL,
    schedule TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    parameters TEXT NOT NULL DEFAULT '{}',
    missed TEXT NOT NULL DEFAULT 'latest',
    made_until REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (deployment, slug)
);
CREATE TABLE scheduled_runs (
    deployment TEXT NOT NULL,
    slot_at REAL NOT NULL,
    slug TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs (id),
    released INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (deployment, slot_at)
);
CREATE INDEX scheduled_runs_due ON scheduled_runs (slot_at) WHERE released = 0;
CREATE TABLE work_pools (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    concurrency_limit INTEGER,
    paused INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE work_queues (
    pool TEXT NOT NULL REFERENCES work_pools (name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 1,
    description TEXT NOT NULL DEFAULT '',
    concurrency_limit INTEGER,
    paused INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (pool, name)
);
CREATE INDEX runs_queue_pending ON runs (work_pool, work_queue, created_at)
    WHERE state = 'Pending' AND parent_id IS NULL;
CREATE INDEX runs_queue_busy ON runs (work_pool, work_queue)
    WHERE state IN ('Running', 'Waiting') AND lease_owner IS NOT NULL AND parent_id IS NULL;
CREATE INDEX runs_deployment ON runs (deployment, created_at) WHERE deployment IS NOT NULL;
CREATE TABLE concurrency_limits (
    name TEXT PRIMARY KEY,
    slot_limit INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    slot_decay_per_second REAL NOT NULL DEFAULT 0,
    decaying_slots REAL NOT NULL DEFAULT 0,
    decayed_at REAL NOT NULL DEFAULT 0,
    denied_slots INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE concurrency_slots (
    limit_name TEXT NOT NULL REFERENCES concurrency_limits (name) ON DELETE CASCADE,
    holder TEXT NOT NULL,
    slots INTEGER NOT NULL,
    owner TEXT NOT NULL,
    run_id TEXT,
    acquired_at REAL NOT NULL,
    expires_at REAL,
    PRIMARY KEY (limit_name, holder)
);
CREATE INDEX concurrency_slots_holder ON concurrency_slots (holder);
CREATE INDEX concurrency_slots_owner ON concurrency_slots (owner);
CREATE TABLE task_cache (
    key TEXT PRIMARY KEY,
    task_name TEXT NOT NULL,
    result TEXT NOT NULL,
    run_id TEXT,
    step_key TEXT,
    created_at REAL NOT NULL,
    expires_at REAL
);
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
CREATE TABLE automations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    trigger TEXT NOT NULL,
    actions TEXT NOT NULL,
    actions_on_trigger TEXT NOT NULL,
    actions_on_resolve TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE automation_states (
    automation_id TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (automation_id, key)
);
CREATE TABLE automation_timers (
    automation_id TEXT NOT NULL,
    key TEXT NOT NULL,
    due_at REAL NOT NULL,
    PRIMARY KEY (automation_id, key)
);
CREATE TABLE automation_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    commits INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE automation_firings (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    automation_id TEXT NOT NULL,
    fired_at REAL NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('triggered', 'resolved')),
    key TEXT NOT NULL,
    triggering_event TEXT NOT NULL,
    context TEXT NOT NULL
);
CREATE INDEX automation_firings_of ON automation_firings (automation_id, fired_at, seq);
CREATE TABLE automation_actions (
    firing_id TEXT NOT NULL REFERENCES automation_firings (id),
    action_index INTEGER NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    attempts INTEGER NOT NULL,
    detail TEXT NOT NULL,
    due_at REAL NOT NULL,
    settled_at REAL,
    PRIMARY KEY (firing_id, action_index)
);
CREATE INDEX automation_actions_due ON automation_actions (due_at, firing_id, action_index)
    WHERE status = 'pending';
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    template TEXT NOT NULL,
    secret TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
