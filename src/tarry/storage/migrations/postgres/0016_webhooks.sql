-- Inbound webhooks (issue 19): a unique slug (the URL's last part) and name, a Jinja
-- template the store never reads, and the secret a request carries or signs with.
CREATE TABLE webhooks (
    id TEXT COLLATE "C" PRIMARY KEY,
    slug TEXT COLLATE "C" NOT NULL UNIQUE,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    description TEXT NOT NULL,
    template TEXT NOT NULL,
    secret TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
