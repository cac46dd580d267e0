-- Every entity kind shares one table: the JSON document is the entity, the
-- other columns are copies of the fields lists filter and sort on. Times are
-- Unix nanoseconds, so both dialects order them alike.
CREATE TABLE entities (
	kind TEXT NOT NULL,
	id TEXT NOT NULL,
	name TEXT NOT NULL,
	status TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	model_id TEXT NOT NULL DEFAULT '',
	datasource_id TEXT NOT NULL DEFAULT '',
	type TEXT NOT NULL DEFAULT '',
	algorithm TEXT NOT NULL DEFAULT '',
	endpoint_status TEXT NOT NULL DEFAULT '',
	data_url TEXT NOT NULL DEFAULT '',
	doc TEXT NOT NULL,
	PRIMARY KEY (kind, id)
);
CREATE INDEX entities_name ON entities (kind, name, id);
CREATE INDEX entities_status ON entities (kind, status, id);
CREATE INDEX entities_created_at ON entities (kind, created_at, id);
CREATE INDEX entities_updated_at ON entities (kind, updated_at, id);
CREATE INDEX entities_model_id ON entities (kind, model_id, id);
CREATE INDEX entities_datasource_id ON entities (kind, datasource_id, id);
