-- Nothing on SQLite: its processes share one machine, where a lease names a process
-- whose end is seen at once (`host.owner_is_alive`), and SQLite has no lock that the
-- database releases when a process dies. PostgreSQL's 0009 registers the processes
-- that hold a liveness lock (failover within a second).
SELECT 1;
