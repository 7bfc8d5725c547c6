-- Deployments: flows registered by name so that a server, a worker or a client
-- can start runs of them without importing their code first.
CREATE TABLE deployments (
    name TEXT COLLATE "C" PRIMARY KEY,
    flow_name TEXT NOT NULL,
    entrypoint TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    parameters TEXT NOT NULL DEFAULT '{}',
    parameter_schema TEXT NOT NULL DEFAULT '{}',
    tags TEXT NOT NULL DEFAULT '[]',
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
