-- Inbound webhooks (issue 19): a unique slug (the URL's last part) and name, a Jinja
-- template the store never reads, and the secret a request carries or signs with.
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
