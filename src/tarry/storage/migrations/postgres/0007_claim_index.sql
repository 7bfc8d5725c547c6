-- Claims read the oldest Pending top-level runs through this index, not by sorting
-- every Pending row.
CREATE INDEX runs_pending ON runs (created_at, seq) WHERE state = 'Pending' AND parent_id IS NULL;
