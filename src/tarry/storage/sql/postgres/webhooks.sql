-- name: webhook_exists
SELECT id FROM webhooks WHERE id = %(id)s;

-- name: webhook_taken
SELECT slug, name FROM webhooks
WHERE (slug = %(slug)s OR name = %(name)s) AND id <> %(id)s
ORDER BY slug = %(slug)s DESC
LIMIT 1;

-- name: insert_webhook
INSERT INTO webhooks (id, slug, name, description, template, secret, enabled, created_at,
                      updated_at)
VALUES (%(id)s, %(slug)s, %(name)s, %(description)s, %(template)s, %(secret)s, %(enabled)s,
        %(created_at)s, %(updated_at)s)
ON CONFLICT (id) DO NOTHING
RETURNING id;

-- name: update_webhook
UPDATE webhooks SET slug = %(slug)s, name = %(name)s, description = %(description)s,
    template = %(template)s, secret = %(secret)s, enabled = %(enabled)s,
    updated_at = %(updated_at)s
WHERE id = %(id)s
RETURNING id;

-- name: get_webhook
SELECT * FROM (
    SELECT *, 0 AS rank FROM webhooks WHERE id = %(key)s
    UNION ALL
    SELECT *, 1 AS rank FROM webhooks WHERE slug = %(key)s
    UNION ALL
    SELECT *, 2 AS rank FROM webhooks WHERE name = %(key)s
) AS found
ORDER BY rank
LIMIT 1;

-- name: list_webhooks
SELECT * FROM webhooks ORDER BY name;

-- name: delete_webhook
DELETE FROM webhooks WHERE id = %(id)s
RETURNING id;
