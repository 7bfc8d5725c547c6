-- What each message is, for receivers: the key prefix it was sent under (Prefect's
-- `<type>-auto` for a plain send, or the sender's `key_prefix=`). Messages stored
-- before have none, and every receiver may take them, as before.
ALTER TABLE messages ADD COLUMN topic TEXT;
