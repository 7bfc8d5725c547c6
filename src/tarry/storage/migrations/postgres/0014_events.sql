-- Placeholder on the automation-store branch only: the events branch's 0014_events replaces it.
SELECT 1
