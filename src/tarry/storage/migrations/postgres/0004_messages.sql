-- Messages sent to runs (send_input / receive_input): each is received at most
-- once, at one journal key of its run.
CREATE TABLE messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (id),
    key TEXT NOT NULL,
    data TEXT NOT NULL,
    sent_at DOUBLE PRECISION NOT NULL,
    sender_run_id TEXT,
    sender TEXT,
    reply_to TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    received_at DOUBLE PRECISION,
    received_step_key TEXT,
    UNIQUE (run_id, key)
);

CREATE INDEX messages_pending ON messages (run_id, id) WHERE status = 'pending';
CREATE INDEX messages_sent_by ON messages (sender_run_id, id) WHERE sender_run_id IS NOT NULL;
