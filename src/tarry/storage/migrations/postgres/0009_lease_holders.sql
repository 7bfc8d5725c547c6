-- Processes that hold a liveness lock: a session-level advisory lock, keyed by the
-- schema and the owner id, on a connection the process keeps open. PostgreSQL releases
-- the lock when that connection ends (the process died, or lost the connection), so a
-- registered owner whose lock nobody holds is gone, and its runs are taken over at once
-- instead of when their lease expires. A row is written only once its lock is held.
CREATE TABLE lease_holders (
    owner TEXT COLLATE "C" PRIMARY KEY,
    since DOUBLE PRECISION NOT NULL
);
