-- Pipeline runs are listed by their pipeline.
ALTER TABLE entities ADD COLUMN pipeline_id TEXT NOT NULL DEFAULT '';
CREATE INDEX entities_pipeline_id ON entities (kind, pipeline_id, id);
