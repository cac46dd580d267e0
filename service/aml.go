package service

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/batch"
	"github.com/perchml/perch/model"
	"github.com/perchml/perch/recipe"
)

// AML's Create operations are idempotent: a caller that retries with the
// same id and the same parameters gets the entity it made; the same id
// with other parameters is a mismatch (EConflict). The *Once methods hold
// that rule, for AML's adapter; the REST API keeps answering an existing
// id with a conflict.

// mismatch is the error for an id reused with other parameters.
func mismatch(noun, id, what string) error {
	return perch.Errorf(perch.EConflict, "%s %s exists with another %s", noun, id, what)
}

// once runs create unless an entity with the id exists, and answers an
// existing one (found first or lost to a concurrent create) through same.
func once[T any](ctx context.Context, id string, get func(context.Context, string) (*T, error), create func() (*T, error), same func(*T) error) (*T, error) {
	if id != "" {
		v, err := get(ctx, id)
		if err == nil {
			return v, same(v)
		}
		if perch.Code(err) != perch.ENotFound {
			return nil, err
		}
	}
	v, err := create()
	if perch.Code(err) == perch.EConflict && id != "" {
		if v, gerr := get(ctx, id); gerr == nil {
			return v, same(v)
		}
	}
	return v, err
}

// CreateDataSourceOnce is CreateDataSource, idempotent as AML's Create
// calls are.
func (s *Service) CreateDataSourceOnce(ctx context.Context, in DataSourceInput) (*perch.DataSource, error) {
	// Decided before the store is read, which would tell what exists.
	if err := s.authorize(ctx, "machinelearning:CreateDataSourceFromS3", perch.Resource(perch.KindDataSource, in.ID), func() map[string]string { return in.Tags }); err != nil {
		return nil, err
	}
	return once(ctx, in.ID, s.store.GetDataSource, func() (*perch.DataSource, error) { return s.CreateDataSource(ctx, in) },
		func(d *perch.DataSource) error {
			if key, err := s.objects.Key(in.DataURL); err != nil || s.objects.URL(key) != d.DataURL {
				return mismatch("data source", d.ID, "data location")
			}
			if in.Schema != nil && !sameJSON(in.Schema, d.Schema) {
				return mismatch("data source", d.ID, "schema")
			}
			if in.Rearrangement != d.Rearrangement {
				return mismatch("data source", d.ID, "data rearrangement")
			}
			if in.ComputeStatistics != d.ComputeStatistics {
				return mismatch("data source", d.ID, "computeStatistics")
			}
			if in.Database != nil && !sameJSON(in.Database, d.Database) {
				return mismatch("data source", d.ID, "database or query")
			}
			if in.Name != "" && in.Name != d.Name {
				return mismatch("data source", d.ID, "name")
			}
			return nil
		})
}

// CreateMLModelOnce is CreateMLModel, idempotent as AML's Create calls
// are.
func (s *Service) CreateMLModelOnce(ctx context.Context, in MLModelInput) (*perch.MLModel, error) {
	if err := s.authorize(ctx, "machinelearning:CreateMLModel", perch.Resource(perch.KindMLModel, in.ID), func() map[string]string { return in.Tags }); err != nil {
		return nil, err
	}
	return once(ctx, in.ID, s.store.GetMLModel, func() (*perch.MLModel, error) { return s.CreateMLModel(ctx, in) },
		func(m *perch.MLModel) error {
			switch {
			case !strings.EqualFold(string(in.Type), string(m.Type)):
				return mismatch("model", m.ID, "model type")
			case in.TrainingDataSourceID != m.TrainingDataSource:
				return mismatch("model", m.ID, "training data source")
			case in.Recipe != m.Recipe:
				return mismatch("model", m.ID, "recipe")
			case !maps.Equal(in.Parameters, m.Parameters):
				return mismatch("model", m.ID, "set of parameters")
			case in.Name != "" && in.Name != m.Name:
				return mismatch("model", m.ID, "name")
			}
			return nil
		})
}

// CreateEvaluationOnce is CreateEvaluation, idempotent as AML's Create
// calls are.
func (s *Service) CreateEvaluationOnce(ctx context.Context, in EvaluationInput) (*perch.Evaluation, error) {
	if err := s.authorize(ctx, "machinelearning:CreateEvaluation", perch.Resource(perch.KindEvaluation, in.ID), func() map[string]string { return in.Tags }); err != nil {
		return nil, err
	}
	return once(ctx, in.ID, s.store.GetEvaluation, func() (*perch.Evaluation, error) { return s.CreateEvaluation(ctx, in) },
		func(e *perch.Evaluation) error {
			switch {
			case in.MLModelID != e.MLModel:
				return mismatch("evaluation", e.ID, "model")
			case in.DataSourceID != e.DataSource:
				return mismatch("evaluation", e.ID, "data source")
			case in.Name != "" && in.Name != e.Name:
				return mismatch("evaluation", e.ID, "name")
			}
			return nil
		})
}

// CreateAMLBatchPrediction creates a batch prediction that writes its
// output as AML did: in.OutputURL is a prefix (s3://bucket/out/), the
// results go, gzipped, to
// <prefix>/batch-prediction/result/<id>-<input file>.gz and a manifest
// mapping the input to them to <prefix>/batch-prediction/<id>.manifest.
// A data source naming a folder of files (and keeping all their records)
// gets one result per file, and the batch prediction's output is then
// the manifest that lists them. It is idempotent as AML's Create calls
// are.
func (s *Service) CreateAMLBatchPrediction(ctx context.Context, in BatchPredictionInput) (*perch.BatchPrediction, error) {
	if in.ID == "" {
		return nil, perch.Errorf(perch.EInvalid, "BatchPredictionId: required")
	}
	if err := s.authorize(ctx, "machinelearning:CreateBatchPrediction", perch.Resource(perch.KindBatchPrediction, in.ID), func() map[string]string { return in.Tags }); err != nil {
		return nil, err
	}
	prefix, err := s.S3Key(strings.TrimSuffix(in.OutputURL, "/") + "/batch-prediction")
	if err != nil {
		return nil, perch.Errorf(perch.EInvalid, "OutputUri: %v", errMessage(err))
	}
	d, err := s.store.GetDataSource(ctx, in.DataSourceID)
	if err != nil {
		return nil, err
	}
	file := path.Base(d.DataURL)
	file = strings.TrimSuffix(file, ".gz")
	in.OutputURL = prefix + "/result/" + in.ID + "-" + file + ".gz"
	if d.Rearrangement == "" && s.isFolder(ctx, d.DataURL) {
		in.OutputURL = prefix + "/" + in.ID + ".manifest"
	}
	return once(ctx, in.ID, s.store.GetBatchPrediction, func() (*perch.BatchPrediction, error) { return s.CreateBatchPrediction(ctx, in) },
		func(b *perch.BatchPrediction) error {
			switch {
			case in.MLModelID != b.MLModel:
				return mismatch("batch prediction", b.ID, "model")
			case in.DataSourceID != b.DataSource:
				return mismatch("batch prediction", b.ID, "data source")
			case s.objects.URL(in.OutputURL) != b.OutputURL:
				return mismatch("batch prediction", b.ID, "output location")
			case in.Name != "" && in.Name != b.Name:
				return mismatch("batch prediction", b.ID, "name")
			}
			return nil
		})
}

// amlManifest returns the key of the manifest of a batch prediction laid
// out as AML's (see CreateAMLBatchPrediction), and false for any other
// output.
func amlManifest(id, outKey string) (string, bool) {
	dir, file := path.Split(outKey)
	prefix, ok := strings.CutSuffix(dir, "batch-prediction/result/")
	if !ok || !strings.HasPrefix(file, id+"-") || !strings.HasSuffix(file, ".gz") {
		return "", false
	}
	return prefix + "batch-prediction/" + id + ".manifest", true
}

// amlPerFile returns the manifest key of a batch prediction whose output
// is that manifest, with one result per file of its folder (see
// CreateAMLBatchPrediction), and false for any other output.
func amlPerFile(id, outKey string) (string, bool) {
	dir, file := path.Split(outKey)
	if file != id+".manifest" || !strings.HasSuffix(dir, "batch-prediction/") {
		return "", false
	}
	return outKey, true
}

// isFolder reports whether a data location names a folder of files
// rather than one object.
func (s *Service) isFolder(ctx context.Context, dataURL string) bool {
	key, err := s.objects.Key(dataURL)
	if err != nil {
		return false
	}
	if ok, err := s.objects.Exists(ctx, key); err != nil || ok {
		return false
	}
	files, err := s.prefixFiles(ctx, key)
	return err == nil && len(files) > 0
}

// runBatchFiles predicts each file of a folder into its own result, as
// AML did for a prefix: <prefix>/batch-prediction/result/<id>-<file>.gz
// (a file in a subfolder named with its path, '/' as '-'), each listed in
// the manifest at mkey. The files are read as the folder is read whole:
// a first line repeating the first file's header is left out, and every
// result has the header when the data has one.
func (s *Service) runBatchFiles(ctx context.Context, b *perch.BatchPrediction, d *perch.DataSource, pred *model.Predictor, folder, mkey string, opt batch.Options) error {
	files, err := s.prefixFiles(ctx, folder)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return perch.Errorf(perch.ENotFound, "data source %s: %s holds no files", d.ID, s.S3URL(folder))
	}
	dir := strings.TrimSuffix(mkey, b.ID+".manifest") + "result/"
	manifest := make(map[string]string, len(files))
	var total batch.Result
	var header []byte // the first file's first line
	dg := newDigest()
	for i, f := range files {
		c := &concat{s: s, ctx: ctx, folder: folder, files: files[:i+1], i: i, header: header, dg: dg}
		var r io.Reader = c
		if i > 0 && opt.Header {
			r = io.MultiReader(bytes.NewReader(header), c)
		}
		name := strings.TrimSuffix(strings.ReplaceAll(strings.TrimPrefix(f.Key, folder+"/"), "/", "-"), ".gz")
		out := dir + b.ID + "-" + name + ".gz"
		res, err := s.predictInto(ctx, pred, r, out, opt)
		c.Close()
		if err != nil {
			return fmt.Errorf("%s: %v", s.S3URL(f.Key), err)
		}
		if i == 0 {
			header = c.header
		}
		total.Records += res.Records
		total.Invalid += res.Invalid
		for _, e := range res.Errors {
			if len(total.Errors) < 10 { // as many as one file reports
				total.Errors = append(total.Errors, s.S3URL(f.Key)+": "+e)
			}
		}
		manifest[s.S3URL(f.Key)] = s.S3URL(out)
	}
	// Each file was read whole, so the folder's digest is complete; the
	// results are only listed in a manifest if they are the data source's.
	if sum := dg.sum(); d.DataSHA256 != "" && sum != d.DataSHA256 {
		return dataChanged(folder, d.DataSHA256, sum)
	}
	m, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	if err := s.objects.Write(ctx, mkey, bytes.NewReader(m), "application/json"); err != nil {
		return err
	}
	return s.recordBatchCounts(ctx, b.ID, d.DataSHA256, total)
}

// writeOutput writes a batch prediction's output object from r, gzipped
// when its key ends in .gz (as AML's result files are, and as a .gz data
// file is read).
func (s *Service) writeOutput(ctx context.Context, key string, r io.Reader) error {
	if !strings.HasSuffix(key, ".gz") {
		return s.objects.Write(ctx, key, r, "text/csv")
	}
	zr, zw := io.Pipe()
	go func() {
		z := gzip.NewWriter(zw)
		_, err := io.Copy(z, r)
		if cerr := z.Close(); err == nil {
			err = cerr
		}
		zw.CloseWithError(err)
	}()
	err := s.objects.Write(ctx, key, zr, "application/gzip")
	zr.CloseWithError(err) // stop the compressor if the write failed first
	return err
}

// writeAMLManifest writes the manifest of a batch prediction laid out as
// AML's: a JSON map from its input to its result file, as s3:// URLs.
func (s *Service) writeAMLManifest(ctx context.Context, b *perch.BatchPrediction, d *perch.DataSource, outKey string) error {
	mkey, ok := amlManifest(b.ID, outKey)
	if !ok {
		return nil
	}
	m, err := json.Marshal(map[string]string{s.S3URL(d.DataURL): s.S3URL(outKey)})
	if err != nil {
		return err
	}
	return s.objects.Write(ctx, mkey, strings.NewReader(string(m)), "application/json")
}

// BaseURL is where clients reach the server (an endpoint's URL starts
// with it).
func (s *Service) BaseURL() string { return s.baseURL }

// ModelRecipe returns the recipe a model is trained with: the one it was
// given, or the one suggested for its data's schema ("" while the schema
// is not known yet).
func (s *Service) ModelRecipe(ctx context.Context, m *perch.MLModel) (string, error) {
	if m.Recipe != "" {
		return m.Recipe, nil
	}
	d, err := s.store.GetDataSource(ctx, m.TrainingDataSource)
	if err != nil || d.Schema == nil {
		return "", err
	}
	b, err := json.Marshal(recipe.Suggest(d.Schema, nil))
	return string(b), err
}

// CheckTagRoom fails with ELimitExceeded when adding tags to an entity
// would give it more than the tags it may have.
func (s *Service) CheckTagRoom(ctx context.Context, resource, id string, adding map[string]string) error {
	have, err := s.Tags(ctx, resource, id)
	if err != nil {
		return err
	}
	n := len(have)
	for k := range adding {
		if _, ok := have[k]; !ok {
			n++
		}
	}
	if n > maxTags {
		return perch.Errorf(perch.ELimitExceeded, "%s %s would have %d tags, more than %d", resource, id, n, maxTags)
	}
	return nil
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
