-- The audit log: one row per change allowed or request denied, in the
-- order written. Times are Unix nanoseconds; lists go newest first by
-- (occurred_at, id), and pruning deletes by time.
CREATE TABLE audit (
	id BIGSERIAL PRIMARY KEY,
	occurred_at BIGINT NOT NULL,
	key_id TEXT COLLATE "C" NOT NULL DEFAULT '',
	key_name TEXT NOT NULL DEFAULT '',
	source_ip TEXT NOT NULL DEFAULT '',
	door TEXT NOT NULL DEFAULT '',
	action TEXT COLLATE "C" NOT NULL,
	resource TEXT COLLATE "C" NOT NULL,
	outcome TEXT NOT NULL,
	request_id TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_time ON audit (occurred_at, id);
CREATE INDEX audit_key_id ON audit (key_id, occurred_at, id);
