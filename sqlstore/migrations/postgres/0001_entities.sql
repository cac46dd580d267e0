-- Every entity kind shares one table: the JSON document is the entity, the
-- other columns are copies of the fields lists filter and sort on. Times are
-- Unix nanoseconds and text sorts bytewise (COLLATE "C"), so both dialects
-- order them alike.
CREATE TABLE entities (
	kind TEXT COLLATE "C" NOT NULL,
	id TEXT COLLATE "C" NOT NULL,
	name TEXT COLLATE "C" NOT NULL,
	status TEXT COLLATE "C" NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	model_id TEXT COLLATE "C" NOT NULL DEFAULT '',
	datasource_id TEXT COLLATE "C" NOT NULL DEFAULT '',
	type TEXT COLLATE "C" NOT NULL DEFAULT '',
	algorithm TEXT COLLATE "C" NOT NULL DEFAULT '',
	endpoint_status TEXT COLLATE "C" NOT NULL DEFAULT '',
	data_url TEXT COLLATE "C" NOT NULL DEFAULT '',
	doc TEXT NOT NULL,
	PRIMARY KEY (kind, id)
);
CREATE INDEX entities_name ON entities (kind, name, id);
CREATE INDEX entities_status ON entities (kind, status, id);
CREATE INDEX entities_created_at ON entities (kind, created_at, id);
CREATE INDEX entities_updated_at ON entities (kind, updated_at, id);
CREATE INDEX entities_model_id ON entities (kind, model_id, id);
CREATE INDEX entities_datasource_id ON entities (kind, datasource_id, id);
