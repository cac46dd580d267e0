-- Who created an entity (AML's CreatedByIamUser, filtered on as IAMUser),
-- and an index for filters on data locations: data_url holds a data
-- source's location and the input location a model, evaluation or batch
-- prediction copies from its data source (TrainingDataURI, DataURI).
-- Existing rows keep empty values.
ALTER TABLE entities ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
CREATE INDEX entities_created_by ON entities (kind, created_by, id);
CREATE INDEX entities_data_url ON entities (kind, data_url, id);
