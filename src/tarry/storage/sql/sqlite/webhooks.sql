-- name: webhook_exists
SELECT id FROM webhooks WHERE id = :id;

-- name: webhook_taken
SELECT slug, name FROM webhooks
WHERE (slug = :slug OR name = :name) AND id <> :id
ORDER BY slug = :slug DESC
LIMIT 1;

-- name: insert_webhook
INSERT INTO webhooks (id, slug, name, description, template, secret, enabled, created_at,
                      updated_at)
VALUES (:id, :slug, :name, :description, :template, :secret, :enabled,
        :created_at, :updated_at)
ON CONFLICT (id) DO NOTHING
RETURNING id;

-- name: update_webhook
UPDATE webhooks SET slug = :slug, name = :name, description = :description,
    template = :template, secret = :secret, enabled = :enabled,
    updated_at = :updated_at
WHERE id = :id
RETURNING id;

-- name: get_webhook
SELECT * FROM (
    SELECT *, 0 AS rank FROM webhooks WHERE id = :key
    UNION ALL
    SELECT *, 1 AS rank FROM webhooks WHERE slug = :key
    UNION ALL
    SELECT *, 2 AS rank FROM webhooks WHERE name = :key
) AS found
ORDER BY rank
LIMIT 1;

-- name: list_webhooks
SELECT * FROM webhooks ORDER BY name;

-- name: delete_webhook
DELETE FROM webhooks WHERE id = :id
RETURNING id;
