-- Automations (issue 19): a trigger and actions as JSON text the store never reads, and
-- a unique name. The evaluator's durable state: trigger states and timers per
-- automation and key, and one cursor row (the last event seq evaluated, and how many
-- evaluations were committed: a commit moves it only from the values it started from,
-- and the row lock orders racing commits). Firings and their actions are history:
-- deleting an automation keeps them.
CREATE TABLE automations (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    description TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    trigger TEXT NOT NULL,
    actions TEXT NOT NULL,
    actions_on_trigger TEXT NOT NULL,
    actions_on_resolve TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE automation_states (
    automation_id TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    state TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (automation_id, key)
);
CREATE TABLE automation_timers (
    automation_id TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    due_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (automation_id, key)
);
CREATE TABLE automation_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    commits BIGINT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
INSERT INTO automation_cursor (id, seq, commits, updated_at) VALUES (1, 0, 0, 0);
CREATE TABLE automation_firings (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    automation_id TEXT COLLATE "C" NOT NULL,
    fired_at DOUBLE PRECISION NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('triggered', 'resolved')),
    key TEXT COLLATE "C" NOT NULL,
    triggering_event TEXT NOT NULL,
    context TEXT NOT NULL
);
CREATE INDEX automation_firings_of ON automation_firings (automation_id, fired_at, seq);
CREATE TABLE automation_actions (
    firing_id TEXT COLLATE "C" NOT NULL REFERENCES automation_firings (id),
    action_index INTEGER NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    attempts INTEGER NOT NULL,
    detail TEXT NOT NULL,
    due_at DOUBLE PRECISION NOT NULL,
    settled_at DOUBLE PRECISION,
    PRIMARY KEY (firing_id, action_index)
);
CREATE INDEX automation_actions_due ON automation_actions (due_at, firing_id, action_index)
    WHERE status = 'pending';
