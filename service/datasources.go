package service

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
)

// DataSourceInput describes a data source to create.
type DataSourceInput struct {
	ID   string `json:"id,omitempty"` // "" picks one
	Name string `json:"name,omitempty"`
	// DataURL names the data object: a key in the object store, or its URL
	// (file:///…/objects/key, s3://bucket/key). A key ending in .gz is
	// gunzipped.
	DataURL string `json:"dataUrl"`
	// Schema is the AML data schema; nil infers it from the data.
	Schema *perch.Schema `json:"schema,omitempty"`
	// TargetAttributeName names the attribute to predict when the schema is
	// inferred.
	TargetAttributeName string `json:"targetAttributeName,omitempty"`
	// Rearrangement is AML's DataRearrangement JSON: the rows this data
	// source keeps.
	Rearrangement     string            `json:"rearrangement,omitempty"`
	ComputeStatistics bool              `json:"computeStatistics,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	// Database records the query the data is staged from
	// (CreateDataSourceFromSQL sets it); never from a request's body.
	Database *perch.DatabaseSource `json:"-"`
}

// Update changes an entity's editable fields; nil fields stay as they are.
type Update struct {
	Name *string `json:"name,omitempty"`
	// ScoreThreshold applies to BINARY models only.
	ScoreThreshold *float64 `json:"scoreThreshold,omitempty"`
}

// CreateDataSource stores a data source and starts the job that reads it.
// What can be checked without reading the data (the schema, the
// rearrangement, that the object exists) is checked here.
func (s *Service) CreateDataSource(ctx context.Context, in DataSourceInput) (*perch.DataSource, error) {
	if in.ID == "" {
		in.ID = newID(dataSourcePrefix)
	}
	if err := s.authorize(ctx, "machinelearning:CreateDataSourceFromS3", perch.Resource(perch.KindDataSource, in.ID), func() map[string]string { return in.Tags }); err != nil {
		return nil, err
	}
	if err := checkName("data source", in.Name); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.DataURL) == "" {
		return nil, perch.Errorf(perch.EInvalid, "dataUrl: required")
	}
	key, err := s.locationKey(in.DataURL)
	if err != nil {
		return nil, perch.Errorf(perch.EInvalid, "dataUrl: %v", errMessage(err))
	}
	// The data source reads the object, and shows what is in it.
	if err := s.authorize(ctx, "perch:GetObject", perch.Resource(perch.KindObject, key), nil); err != nil {
		return nil, err
	}
	attrs, err := s.dataAttributes(ctx, key)
	if err != nil {
		return nil, perch.Errorf(perch.Code(err), "dataUrl: %v", errMessage(err))
	}
	if in.Schema != nil {
		if err := data.ValidateSchema(in.Schema); err != nil {
			return nil, perch.Errorf(perch.EInvalid, "%v", errMessage(err)) // it names the schema
		}
	}
	if _, err := data.ParseRearrangement(in.Rearrangement); err != nil {
		return nil, perch.Errorf(perch.EInvalid, "%v", errMessage(err)) // it names the rearrangement
	}
	d := &perch.DataSource{
		Meta: perch.Meta{
			ID: in.ID, Name: in.Name, Tags: cloneTags(in.Tags), Attempt: 1, CreatedBy: creator(ctx),
		},
		DataURL:             s.objects.URL(key),
		Schema:              in.Schema,
		TargetAttributeName: in.TargetAttributeName,
		Rearrangement:       in.Rearrangement,
		ComputeStatistics:   in.ComputeStatistics,
		SizeBytes:           attrs.Size,
		Database:            in.Database,
	}
	if d.Name == "" {
		d.Name = key
	}
	if err := s.store.CreateDataSource(ctx, d); err != nil {
		return nil, err
	}
	s.enqueue(ctx, Job{Kind: JobDataSource, ID: d.ID, Attempt: 1})
	return d, nil
}

// GetDataSource returns a data source.
func (s *Service) GetDataSource(ctx context.Context, id string) (*perch.DataSource, error) {
	if err := s.authorize(ctx, "machinelearning:GetDataSource", perch.Resource(perch.KindDataSource, id), dsTags(s, ctx, id)); err != nil {
		return nil, err
	}
	return s.store.GetDataSource(ctx, id)
}

// ListDataSources returns one page of data sources.
func (s *Service) ListDataSources(ctx context.Context, f perch.Filter) ([]*perch.DataSource, string, error) {
	if err := s.authorize(ctx, "machinelearning:DescribeDataSources", "*", nil); err != nil {
		return nil, "", err
	}
	items, next, err := s.store.ListDataSources(ctx, f)
	return filterList(s, ctx, items, "machinelearning:GetDataSource", perch.KindDataSource, func(v *perch.DataSource) *perch.Meta { return &v.Meta }), next, err
}

// UpdateDataSource renames a data source.
func (s *Service) UpdateDataSource(ctx context.Context, id string, u Update) (*perch.DataSource, error) {
	if err := s.authorize(ctx, "machinelearning:UpdateDataSource", perch.Resource(perch.KindDataSource, id), dsTags(s, ctx, id)); err != nil {
		return nil, err
	}
	if u.ScoreThreshold != nil {
		return nil, perch.Errorf(perch.EInvalid, "scoreThreshold: a data source has none")
	}
	if u.Name != nil {
		if err := checkName("data source", *u.Name); err != nil {
			return nil, err
		}
	}
	return s.store.UpdateDataSource(ctx, id, func(d *perch.DataSource) error {
		if u.Name != nil {
			d.Name = *u.Name
		}
		return nil
	})
}

// DeleteDataSource marks a data source DELETED. It stays readable; models
// already trained on it are not affected.
func (s *Service) DeleteDataSource(ctx context.Context, id string) (*perch.DataSource, error) {
	if err := s.authorize(ctx, "machinelearning:DeleteDataSource", perch.Resource(perch.KindDataSource, id), dsTags(s, ctx, id)); err != nil {
		return nil, err
	}
	return s.store.UpdateDataSource(ctx, id, func(d *perch.DataSource) error {
		d.Status = perch.StatusDeleted
		return nil
	})
}

// DataSourceStatistics returns the statistics JSON of a data source created
// with computeStatistics.
func (s *Service) DataSourceStatistics(ctx context.Context, id string) ([]byte, error) {
	if err := s.authorize(ctx, "machinelearning:GetDataSource", perch.Resource(perch.KindDataSource, id), dsTags(s, ctx, id)); err != nil {
		return nil, err
	}
	d, err := s.store.GetDataSource(ctx, id)
	if err != nil {
		return nil, err
	}
	if d.StatisticsURL == "" {
		if !d.ComputeStatistics {
			return nil, perch.Errorf(perch.ENotFound, "data source %s was created without computeStatistics", id)
		}
		return nil, perch.Errorf(perch.ENotFound, "data source %s has no statistics yet (status %s)", id, d.Status)
	}
	key, err := s.objects.Key(d.StatisticsURL)
	if err != nil {
		return nil, err
	}
	return s.objects.ReadAll(ctx, key)
}

// runDataSource reads the whole data source, streaming: it infers the
// schema if none was given, checks every record against it, counts the
// records the rearrangement keeps and computes the statistics asked for.
// Nothing is held in memory but one record, so a data source may be far
// larger than the server's memory.
func (s *Service) runDataSource(ctx context.Context, d *perch.DataSource) error {
	key, err := s.objects.Key(d.DataURL)
	if err != nil {
		return err
	}
	schema := d.Schema
	if schema == nil {
		r, err := s.open(ctx, key)
		if err != nil {
			return err
		}
		schema, err = data.InferSchema(r, data.InferOptions{Target: d.TargetAttributeName})
		r.Close()
		if err != nil {
			return fmt.Errorf("inferring the schema: %v", errMessage(err))
		}
	}
	re, err := data.ParseRearrangement(d.Rearrangement)
	if err != nil {
		return err
	}
	// The first pass checks every record and counts them; a rearrangement
	// needs the count to know which records it keeps.
	// It also records the sha256 of the bytes, which every later read is
	// checked against.
	total, sum, err := s.scan(ctx, key, "", d.SizeBytes, schema, nil, 0, nil)
	if err != nil {
		return err
	}
	if total == 0 {
		return fmt.Errorf("%s: no records", key)
	}
	kept := total
	var statsURL string
	if re != nil || d.ComputeStatistics {
		var st *data.Stats
		kept, _, err = s.scan(ctx, key, sum, d.SizeBytes, schema, re, total, func(r data.Reader) error {
			if !d.ComputeStatistics {
				return nil
			}
			var err error
			st, err = data.ComputeStats(r, schema)
			return err
		})
		if err != nil {
			return err
		}
		if kept == 0 {
			return fmt.Errorf("%s: no records in the selected range", key)
		}
		if st != nil {
			b, err := json.Marshal(st)
			if err != nil {
				return err
			}
			skey := ".perch/datasources/" + d.ID + "/statistics.json"
			if err := s.objects.Write(ctx, skey, bytes.NewReader(b), "application/json"); err != nil {
				return err
			}
			statsURL = skey
		}
	}
	attrs, err := s.dataAttributes(ctx, key)
	if err != nil {
		return err
	}
	_, err = s.store.UpdateDataSource(ctx, d.ID, func(d *perch.DataSource) error {
		d.Schema = schema
		d.Records = int64(kept)
		d.SizeBytes = attrs.Size
		d.DataSHA256 = sum
		d.StatisticsURL = statsURL
		return nil
	})
	return err
}

// scan reads the records of an object that re keeps (all when re is nil;
// total is then unused) and returns how many there were, and the sha256
// of the data read, which must be want unless want is "". size is the
// data's size, for the job's progress. With use, use
// reads them; otherwise scan does. Every record must parse and have one
// field per attribute.
func (s *Service) scan(ctx context.Context, key, want string, size int64, schema *perch.Schema, re *data.Rearrangement, total int, use func(data.Reader) error) (int, string, error) {
	r, err := s.openData(ctx, key, want)
	if err != nil {
		return 0, "", err
	}
	defer r.Close()
	r.report(progressFrom(ctx), "reading", size)
	opt := data.Options{Fields: len(schema.Attributes)}
	if schema.DataFormat != "JSON" {
		opt.Header = schema.DataFileContainsHeader
	}
	rd, err := data.NewReader(r, schema, opt)
	if err != nil {
		return 0, "", fmt.Errorf("%s: %v", key, errMessage(err))
	}
	c := &checked{r: rd, n: len(schema.Attributes), re: re, total: total, ctx: ctx}
	if use != nil {
		err = use(c)
	}
	for err == nil {
		_, err = c.Read()
	}
	if err == io.EOF {
		err = nil
	}
	sum, err := r.result(err)
	if err != nil {
		if perch.Code(err) == perch.EConflict {
			return 0, "", err
		}
		return 0, "", fmt.Errorf("%s: %v", key, errMessage(err))
	}
	return c.kept, sum, nil
}

// checked reads records, failing on one that does not parse or has the
// wrong number of fields, and passes on those a rearrangement keeps.
type checked struct {
	r     data.Reader
	n     int
	re    *data.Rearrangement
	total int
	i     int // records read
	kept  int
	eof   bool
	ctx   context.Context
}

func (c *checked) Read() ([]string, error) {
	if c.eof {
		return nil, io.EOF
	}
	for {
		rec, err := c.r.Read()
		if err == io.EOF {
			c.eof = true
			return nil, io.EOF
		}
		if err != nil {
			return nil, err
		}
		if len(rec) != c.n {
			return nil, data.FieldCountError(c.r.Line(), len(rec), c.n)
		}
		i := c.i
		c.i++
		if i%65536 == 0 && c.ctx.Err() != nil {
			return nil, c.ctx.Err()
		}
		if c.re == nil || c.re.Keep(i, c.total, c.r.Offset()) {
			c.kept++
			return rec, nil
		}
	}
}

func (c *checked) Line() int     { return c.r.Line() }
func (c *checked) Offset() int64 { return c.r.Offset() }

// open opens an object for reading, gunzipping a key ending in .gz; a
// key naming a folder reads its files as one.
func (s *Service) open(ctx context.Context, key string) (io.ReadCloser, error) {
	return s.openDigest(ctx, key, nil)
}

// openData opens a data location as open does, checked against want,
// the sha256 its data source's job recorded ("" checks nothing): see
// checkedData.
func (s *Service) openData(ctx context.Context, key, want string) (*checkedData, error) {
	dg := newDigest()
	r, err := s.openDigest(ctx, key, dg)
	if err != nil {
		return nil, err
	}
	return &checkedData{ReadCloser: r, dg: dg, want: want, key: key}, nil
}

// openDigest is open, adding the raw bytes read to dg unless it is nil.
func (s *Service) openDigest(ctx context.Context, key string, dg *digest) (io.ReadCloser, error) {
	r, err := s.objects.NewReader(ctx, key)
	if perch.Code(err) == perch.ENotFound {
		if pr, ok, perr := s.openPrefix(ctx, key, dg); ok || perr != nil {
			return pr, perr
		}
	}
	if err != nil {
		return nil, err
	}
	if dg != nil {
		r = dg.reader(r)
	}
	if !strings.HasSuffix(key, ".gz") {
		return r, nil
	}
	z, err := gzip.NewReader(r)
	if err != nil {
		r.Close()
		return nil, perch.Errorf(perch.EInvalid, "%s: %v", key, err)
	}
	return &gzipReadCloser{z, r}, nil
}

type gzipReadCloser struct {
	*gzip.Reader
	under io.Closer
}

func (g *gzipReadCloser) Close() error {
	g.Reader.Close()
	return g.under.Close()
}

// loadTable reads the rows of a data source that its rearrangement
// keeps, exactly as its job read them.
func (s *Service) loadTable(ctx context.Context, d *perch.DataSource) (*data.Table, error) {
	schema := d.Schema
	re, err := data.ParseRearrangement(d.Rearrangement)
	if err != nil {
		return nil, err
	}
	key, err := s.objects.Key(d.DataURL)
	if err != nil {
		return nil, err
	}
	r, err := s.openData(ctx, key, d.DataSHA256)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	r.report(progressFrom(ctx), "reading", d.SizeBytes)
	opt := data.Options{Fields: len(schema.Attributes)}
	if schema.DataFormat != "JSON" {
		opt.Header = schema.DataFileContainsHeader
	}
	t, err := data.Load(r, schema, re, opt)
	if _, err := r.result(err); err != nil {
		if perch.Code(err) == perch.EConflict {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %v", key, errMessage(err))
	}
	return t, nil
}

// errMessage is err's message without the package prefixes that mean
// nothing to the person who made the request.
func errMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{"objects: ", "data: ", "recipe: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}
