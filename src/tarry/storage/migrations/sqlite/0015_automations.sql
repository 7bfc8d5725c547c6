-- Automations (issue 19): a trigger and actions as JSON text the store never reads, and
-- a unique name. The evaluator's durable state: trigger states and timers per
-- automation and key, and one cursor row (the last event seq evaluated, and how many
-- evaluations were committed: a commit moves it only from the values it started from).
-- Firings and their actions are history: deleting an automation keeps them.
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
INSERT INTO automation_cursor (id, seq, commits, updated_at) VALUES (1, 0, 0, 0);
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
