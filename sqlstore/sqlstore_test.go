package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/internal/testdb"
)

// eachStore runs test once on SQLite and once on PostgreSQL. open opens
// the same fresh database every time it is called and closes it when the
// test ends.
func eachStore(t *testing.T, test func(t *testing.T, open func() *Store)) {
	eachDSN(t, func(t *testing.T, dsn string) { test(t, opener(t, dsn)) })
}

// eachDSN runs test with the name of a fresh SQLite database and of a
// fresh PostgreSQL schema.
func eachDSN(t *testing.T, test func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) {
		test(t, "sqlite://"+filepath.Join(t.TempDir(), "perch.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		test(t, postgresDSN(t))
	})
}

func opener(t *testing.T, dsn string) func() *Store {
	return func() *Store {
		t.Helper()
		s, err := Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("Open(%q): %v", dsn, err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// postgresDSN returns the URL of a fresh schema on the test server.
func postgresDSN(t *testing.T) string { return testdb.Postgres(t) }

func wantCode(t *testing.T, err error, code perch.ErrorCode) {
	t.Helper()
	if perch.Code(err) != code {
		t.Fatalf("error %v (code %q), want code %q", err, perch.Code(err), code)
	}
}

func ptr[T any](v T) *T { return &v }

func TestRoundTrip(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() *Store) {
		s := open()
		ctx := context.Background()
		started := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
		ds := &perch.DataSource{
			Meta: perch.Meta{ID: "ds-1", Name: "adult train", Message: "ok", StartedAt: &started,
				FinishedAt: ptr(started.Add(time.Second)), ComputeMS: 1234, Tags: map[string]string{"team": "a", "x": ""}},
			DataURL:           "file:///data/adult.csv",
			Schema:            &perch.Schema{Version: "1.0", TargetAttributeName: "y", DataFormat: "CSV", Attributes: []perch.Attribute{{Name: "x", Type: perch.Numeric}, {Name: "y", Type: perch.Binary}}, ExcludedAttributeNames: []string{}},
			Rearrangement:     `{"splitting":{"percentBegin":0,"percentEnd":70}}`,
			ComputeStatistics: true,
			StatisticsURL:     "file:///stats.json",
			SizeBytes:         1 << 20,
			Records:           32561,
		}
		m := &perch.MLModel{
			Meta:               perch.Meta{ID: "ml-1", Name: "adult", Status: perch.StatusInProgress},
			Type:               perch.BinaryModel,
			Algorithm:          "sgd",
			TrainingDataSource: "ds-1",
			Recipe:             `{"outputs":["ALL_INPUTS"]}`,
			Parameters:         map[string]string{"sgd.maxPasses": "10"},
			ScoreThreshold:     0.25,
			ArtifactURL:        "file:///models/ml-1.json",
			SizeBytes:          4096,
			Endpoint:           perch.Endpoint{Status: perch.EndpointReady, URL: "http://127.0.0.1:8080", PeakRequestsPerSecond: 200, CreatedAt: &started},
		}
		ev := &perch.Evaluation{
			Meta:               perch.Meta{ID: "ev-1", Name: "eval"},
			MLModel:            "ml-1",
			DataSource:         "ds-1",
			PerformanceMetrics: map[string]string{"BinaryAUC": "0.9"},
			ReportURL:          "file:///ev-1.json",
		}
		bp := &perch.BatchPrediction{
			Meta:           perch.Meta{ID: "bp-1", Name: "batch"},
			MLModel:        "ml-1",
			DataSource:     "ds-1",
			OutputURL:      "file:///out/",
			TotalRecords:   100,
			InvalidRecords: 3,
		}
		before := now()
		for _, err := range []error{
			s.CreateDataSource(ctx, ds), s.CreateMLModel(ctx, m),
			s.CreateEvaluation(ctx, ev), s.CreateBatchPrediction(ctx, bp),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		if ds.Status != perch.StatusPending || m.Status != perch.StatusInProgress {
			t.Errorf("status after create: %s, %s; want PENDING (default), INPROGRESS (given)", ds.Status, m.Status)
		}
		if ds.CreatedAt.Before(before) || !ds.UpdatedAt.Equal(ds.CreatedAt) {
			t.Errorf("times after create: created %v updated %v, want >= %v and equal", ds.CreatedAt, ds.UpdatedAt, before)
		}
		check := func(got, want any, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("read back\n%+v\nwant\n%+v", got, want)
			}
		}
		gotDS, err := s.GetDataSource(ctx, "ds-1")
		check(gotDS, ds, err)
		gotM, err := s.GetMLModel(ctx, "ml-1")
		check(gotM, m, err)
		gotEv, err := s.GetEvaluation(ctx, "ev-1")
		check(gotEv, ev, err)
		gotBP, err := s.GetBatchPrediction(ctx, "bp-1")
		check(gotBP, bp, err)

		// Kinds have separate ids.
		if err := s.CreateMLModel(ctx, &perch.MLModel{Meta: perch.Meta{ID: "ds-1"}}); err != nil {
			t.Errorf("a model with a data source's id: %v", err)
		}
	})
}

func TestErrors(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() *Store) {
		s := open()
		ctx := context.Background()
		if err := s.CreateDataSource(ctx, &perch.DataSource{Meta: perch.Meta{ID: "ds-1", Name: "first"}}); err != nil {
			t.Fatal(err)
		}
		dup := &perch.DataSource{Meta: perch.Meta{ID: "ds-1", Name: "second"}}
		wantCode(t, s.CreateDataSource(ctx, dup), perch.EConflict)
		if !dup.CreatedAt.IsZero() {
			t.Error("a failed create changed its argument")
		}
		if d, _ := s.GetDataSource(ctx, "ds-1"); d.Name != "first" {
			t.Errorf("duplicate create overwrote the name: %q", d.Name)
		}
		wantCode(t, s.CreateDataSource(ctx, &perch.DataSource{Meta: perch.Meta{ID: "bad id!"}}), perch.EInvalid)
		wantCode(t, s.CreateDataSource(ctx, &perch.DataSource{}), perch.EInvalid)
		wantCode(t, s.CreateDataSource(ctx, &perch.DataSource{Meta: perch.Meta{ID: strings.Repeat("a", 65)}}), perch.EInvalid)
		wantCode(t, s.CreateDataSource(ctx, &perch.DataSource{Meta: perch.Meta{ID: "ds-2", Status: "DONE"}}), perch.EInvalid)

		_, err := s.GetDataSource(ctx, "nope")
		wantCode(t, err, perch.ENotFound)
		_, err = s.GetMLModel(ctx, "ds-1")
		wantCode(t, err, perch.ENotFound)
		_, err = s.GetEvaluation(ctx, "nope")
		wantCode(t, err, perch.ENotFound)
		_, err = s.GetBatchPrediction(ctx, "nope")
		wantCode(t, err, perch.ENotFound)
		_, err = s.UpdateDataSource(ctx, "nope", func(*perch.DataSource) error { return nil })
		wantCode(t, err, perch.ENotFound)

		// A failing fn leaves the entity as it was and its error comes back.
		boom := errors.New("boom")
		_, err = s.UpdateDataSource(ctx, "ds-1", func(d *perch.DataSource) error {
			d.Name = "changed"
			return boom
		})
		if err != boom {
			t.Errorf("update error %v, want fn's", err)
		}
		_, err = s.UpdateDataSource(ctx, "ds-1", func(d *perch.DataSource) error {
			d.Status = "BOGUS"
			return nil
		})
		wantCode(t, err, perch.EInvalid)
		if d, _ := s.GetDataSource(ctx, "ds-1"); d.Name != "first" || d.Status != perch.StatusPending {
			t.Errorf("failed updates changed the entity: %q %s", d.Name, d.Status)
		}
	})
}

func TestConcurrentUpdates(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() *Store) {
		s, other := open(), open() // two stores on one database, as two servers have
		ctx := context.Background()
		m := &perch.MLModel{Meta: perch.Meta{ID: "ml-1", Name: "m"}, Type: perch.BinaryModel}
		if err := s.CreateMLModel(ctx, m); err != nil {
			t.Fatal(err)
		}
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			store := []*Store{s, other}[i%2]
			wg.Go(func() {
				_, err := store.UpdateMLModel(ctx, "ml-1", func(m *perch.MLModel) error {
					m.ComputeMS++
					time.Sleep(time.Millisecond)               // widen the window a lost update needs
					m.ID, m.CreatedAt = "changed", time.Time{} // not the caller's to change
					return nil
				})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetMLModel(ctx, "ml-1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ComputeMS != n {
			t.Errorf("ComputeMS = %d after %d concurrent increments", got.ComputeMS, n)
		}
		if got.ID != "ml-1" || !got.CreatedAt.Equal(m.CreatedAt) {
			t.Errorf("update changed id or CreatedAt: %q %v", got.ID, got.CreatedAt)
		}
		if !got.UpdatedAt.After(got.CreatedAt) {
			t.Errorf("UpdatedAt %v not after CreatedAt %v", got.UpdatedAt, got.CreatedAt)
		}
		// The filter columns follow the document.
		if _, err := s.UpdateMLModel(ctx, "ml-1", func(m *perch.MLModel) error {
			m.Endpoint.Status = perch.EndpointReady
			m.Status = perch.StatusCompleted
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, f := range []perch.Filter{
			{Variable: "RealtimeEndpointStatus", Op: perch.OpEQ, Value: "READY"},
			{Variable: "Status", Op: perch.OpEQ, Value: "COMPLETED"},
		} {
			items, _, err := s.ListMLModels(ctx, f)
			if err != nil || len(items) != 1 {
				t.Errorf("%+v: %d items, %v", f, len(items), err)
			}
		}
	})
}

func TestList(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() *Store) {
		s := open()
		ctx := context.Background()
		names := []string{"alpha", "beta", "alpha", "Alpha", "gamma", "al", "", "béta", "beta"}
		statuses := []perch.Status{perch.StatusPending, perch.StatusCompleted, perch.StatusFailed}
		users := []string{"arn:aws:iam::000000000000:root", "arn:aws:iam::000000000000:user/ann", "", "arn:aws:iam::000000000000:user/bob"}
		var all []*perch.Evaluation
		for i := range 23 {
			e := &perch.Evaluation{
				Meta:         perch.Meta{ID: fmt.Sprintf("ev-%02d", (i*7)%23), Name: names[i%len(names)], Status: statuses[i%len(statuses)], CreatedBy: users[i%len(users)]},
				MLModel:      fmt.Sprintf("ml-%d", i%4),
				DataSource:   fmt.Sprintf("ds-%d", i%5),
				InputDataURL: fmt.Sprintf("s3://b/in/%d.csv", i%6),
			}
			if err := s.CreateEvaluation(ctx, e); err != nil {
				t.Fatal(err)
			}
			all = append(all, e)
			if i == 11 {
				time.Sleep(2 * time.Millisecond) // a CreatedAt strictly between two halves
			}
		}
		mid := all[12].CreatedAt

		keys := map[string]func(*perch.Evaluation) string{
			"Name":         func(e *perch.Evaluation) string { return e.Name },
			"Status":       func(e *perch.Evaluation) string { return string(e.Status) },
			"MLModelId":    func(e *perch.Evaluation) string { return e.MLModel },
			"DataSourceId": func(e *perch.Evaluation) string { return e.DataSource },
			"IAMUser":      func(e *perch.Evaluation) string { return e.CreatedBy },
			"DataURI":      func(e *perch.Evaluation) string { return e.InputDataURL },
		}
		timeKeys := map[string]func(*perch.Evaluation) time.Time{
			"CreatedAt":     func(e *perch.Evaluation) time.Time { return e.CreatedAt },
			"LastUpdatedAt": func(e *perch.Evaluation) time.Time { return e.UpdatedAt },
		}
		// expect filters and sorts all as the store should.
		expect := func(f perch.Filter) []string {
			type row struct {
				text string
				time time.Time
				id   string
			}
			var rows []row
			for _, e := range all {
				r := row{id: e.ID}
				key, text := keys[f.Variable]
				if text {
					r.text = key(e)
				} else {
					r.time = timeKeys[cmp.Or(f.Variable, "CreatedAt")](e)
				}
				keep := true
				for _, cm := range append([]perch.Comparison{{Op: f.Op, Value: f.Value}}, f.And...) {
					var c int
					if text {
						c = strings.Compare(r.text, cm.Value)
					} else if cm.Op != "" {
						v, err := parseTime(cm.Value)
						if err != nil {
							t.Fatal(err)
						}
						c = r.time.Compare(v)
					}
					keep = keep && map[perch.FilterOp]bool{
						"": true, perch.OpEQ: c == 0, perch.OpNE: c != 0, perch.OpGT: c > 0,
						perch.OpGE: c >= 0, perch.OpLT: c < 0, perch.OpLE: c <= 0,
						perch.OpPrefix: strings.HasPrefix(r.text, cm.Value),
					}[cm.Op]
				}
				if keep {
					rows = append(rows, r)
				}
			}
			slices.SortFunc(rows, func(a, b row) int {
				c := cmp.Or(strings.Compare(a.text, b.text), a.time.Compare(b.time), strings.Compare(a.id, b.id))
				if f.Desc {
					return -c
				}
				return c
			})
			var ids []string
			for _, r := range rows {
				ids = append(ids, r.id)
			}
			return ids
		}
		// pages follows the tokens to the end.
		pages := func(f perch.Filter) (ids []string, n int) {
			for {
				items, next, err := s.ListEvaluations(ctx, f)
				if err != nil {
					t.Fatalf("%+v: %v", f, err)
				}
				limit := cmp.Or(f.Limit, perch.DefaultPageLimit)
				if len(items) > limit || (next != "" && len(items) != limit) {
					t.Fatalf("%+v: page of %d with next %q", f, len(items), next)
				}
				for _, e := range items {
					ids = append(ids, e.ID)
				}
				n++
				if next == "" {
					return ids, n
				}
				if n > 100 {
					t.Fatalf("%+v: pages do not end", f)
				}
				f.PageToken = next
			}
		}

		var filters []perch.Filter
		ops := []perch.FilterOp{"", perch.OpEQ, perch.OpNE, perch.OpGT, perch.OpGE, perch.OpLT, perch.OpLE}
		for _, v := range []string{"Name", "Status", "MLModelId", "DataSourceId", "IAMUser", "DataURI"} {
			for _, op := range append(ops, perch.OpPrefix) {
				value := map[string]string{"Name": "beta", "Status": "FAILED", "MLModelId": "ml-2", "DataSourceId": "ds-3",
					"IAMUser": users[1], "DataURI": "s3://b/in/3.csv"}[v]
				if op == perch.OpPrefix {
					value = map[string]string{"Name": "al", "Status": "CO", "MLModelId": "ml-", "DataSourceId": "",
						"IAMUser": "arn:aws:iam::000000000000:user/", "DataURI": "s3://b/in/"}[v]
				}
				filters = append(filters, perch.Filter{Variable: v, Op: op, Value: value})
			}
		}
		for _, v := range []string{"", "CreatedAt", "LastUpdatedAt"} {
			for _, op := range ops {
				filters = append(filters, perch.Filter{Variable: v, Op: op, Value: mid.Format(time.RFC3339Nano)})
			}
		}
		filters = append(filters,
			perch.Filter{Variable: "CreatedAt", Op: perch.OpLT, Value: fmt.Sprintf("%d.%06d", mid.Unix(), mid.Nanosecond()/1000)},
			perch.Filter{Variable: "Name", Op: perch.OpPrefix, Value: "bé"},
			perch.Filter{Variable: "Name", Op: perch.OpEQ, Value: "nobody"},
			perch.Filter{Variable: "IAMUser", Op: perch.OpEQ, Value: ""},
			// Several comparisons all apply: ranges, and a prefix less one value.
			perch.Filter{Variable: "CreatedAt", Op: perch.OpGE, Value: all[5].CreatedAt.Format(time.RFC3339Nano),
				And: []perch.Comparison{{Op: perch.OpLE, Value: all[17].CreatedAt.Format(time.RFC3339Nano)}}},
			perch.Filter{Variable: "LastUpdatedAt", Op: perch.OpGT, Value: all[3].UpdatedAt.Format(time.RFC3339Nano),
				And: []perch.Comparison{{Op: perch.OpLT, Value: all[20].UpdatedAt.Format(time.RFC3339Nano)}, {Op: perch.OpNE, Value: mid.Format(time.RFC3339Nano)}}},
			perch.Filter{Variable: "Name", Op: perch.OpGE, Value: "al", And: []perch.Comparison{{Op: perch.OpLT, Value: "beta"}}},
			perch.Filter{Variable: "DataURI", Op: perch.OpPrefix, Value: "s3://b/in/", And: []perch.Comparison{{Op: perch.OpNE, Value: "s3://b/in/0.csv"}, {Op: perch.OpLE, Value: "s3://b/in/4.csv"}}},
			perch.Filter{Variable: "IAMUser", Op: perch.OpPrefix, Value: "arn:", And: []perch.Comparison{{Op: perch.OpNE, Value: users[0]}}},
			perch.Filter{Variable: "Status", Op: perch.OpEQ, Value: "FAILED", And: []perch.Comparison{{Op: perch.OpEQ, Value: "PENDING"}}}, // none
			perch.Filter{Variable: "Name", And: []perch.Comparison{{Op: perch.OpPrefix, Value: "b"}}},                                      // And alone
		)
		for _, f := range filters {
			for _, desc := range []bool{false, true} {
				for _, limit := range []int{0, 1, 4, 23} {
					f := f
					f.Desc, f.Limit = desc, limit
					want := expect(f)
					got, n := pages(f)
					if !slices.Equal(got, want) {
						t.Fatalf("%+v:\n got %v\nwant %v", f, got, want)
					}
					if l := cmp.Or(limit, 100); n != max(1, (len(want)+l-1)/l) {
						t.Errorf("%+v: %d items in %d pages", f, len(want), n)
					}
				}
			}
		}
		if ids, _ := pages(perch.Filter{Variable: "Name", Op: perch.OpEQ, Value: "alpha"}); len(ids) != 6 {
			t.Errorf("EQ alpha: %v, want 6 ids (case matters)", ids)
		}
		if ids, _ := pages(perch.Filter{Variable: "IAMUser", Op: perch.OpEQ, Value: users[3]}); len(ids) != 5 {
			t.Errorf("IAMUser EQ %s: %v, want 5 ids", users[3], ids)
		}

		// Who created an entity stays what it was.
		e, err := s.UpdateEvaluation(ctx, all[1].ID, func(e *perch.Evaluation) error {
			e.CreatedBy = users[0]
			return nil
		})
		if err != nil || e.CreatedBy != users[1] {
			t.Fatalf("update: CreatedBy %q, %v", e.CreatedBy, err)
		}
		if got, err := s.GetEvaluation(ctx, all[1].ID); err != nil || got.CreatedBy != users[1] || got.InputDataURL != "s3://b/in/1.csv" {
			t.Fatalf("get: %+v, %v", got, err)
		}

		// Other kinds filter on their own variables.
		for i := range 3 {
			if err := s.CreateMLModel(ctx, &perch.MLModel{Meta: perch.Meta{ID: fmt.Sprint("ml-", i), CreatedBy: users[i]}, Type: []perch.ModelType{perch.BinaryModel, perch.RegressionModel, perch.BinaryModel}[i], Algorithm: "sgd", TrainingDataSource: "ds-9", InputDataURL: fmt.Sprint("s3://b/", i%2, ".csv")}); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateDataSource(ctx, &perch.DataSource{Meta: perch.Meta{ID: fmt.Sprint("ds-", i), CreatedBy: users[i]}, DataURL: fmt.Sprint("s3://b/", i, ".csv")}); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateBatchPrediction(ctx, &perch.BatchPrediction{Meta: perch.Meta{ID: fmt.Sprint("bp-", i), CreatedBy: users[i]}, MLModel: fmt.Sprint("ml-", i), InputDataURL: fmt.Sprint("s3://b/", i, ".csv")}); err != nil {
				t.Fatal(err)
			}
		}
		if ms, _, err := s.ListMLModels(ctx, perch.Filter{Variable: "MLModelType", Op: perch.OpEQ, Value: "BINARY", Desc: true}); err != nil || len(ms) != 2 || ms[0].ID != "ml-2" {
			t.Errorf("models of type BINARY, descending: %v %v", ms, err)
		}
		for _, f := range []perch.Filter{
			{Variable: "TrainingDataSourceId", Op: perch.OpEQ, Value: "ds-9"},
			{Variable: "Algorithm", Op: perch.OpEQ, Value: "sgd"},
			{Variable: "RealtimeEndpointStatus", Op: perch.OpEQ, Value: ""},
		} {
			if ms, _, err := s.ListMLModels(ctx, f); err != nil || len(ms) != 3 {
				t.Errorf("models %+v: %d, %v", f, len(ms), err)
			}
		}
		if ds, _, err := s.ListDataSources(ctx, perch.Filter{Variable: "DataLocationS3", Op: perch.OpGE, Value: "s3://b/1"}); err != nil || len(ds) != 2 || ds[0].ID != "ds-1" {
			t.Errorf("data sources at s3://b/1 and after: %v %v", ds, err)
		}
		if bs, _, err := s.ListBatchPredictions(ctx, perch.Filter{Variable: "MLModelId", Op: perch.OpNE, Value: "ml-1"}); err != nil || len(bs) != 2 {
			t.Errorf("batch predictions not of ml-1: %v %v", bs, err)
		}
		ids := func(ids []string, err error) string { return fmt.Sprint(ids, err) }
		for _, c := range []struct {
			list func(perch.Filter) ([]string, error)
			f    perch.Filter
			want string
		}{
			{listIDs(ctx, s.ListMLModels), perch.Filter{Variable: "TrainingDataURI", Op: perch.OpEQ, Value: "s3://b/0.csv"}, "[ml-0 ml-2]"},
			{listIDs(ctx, s.ListMLModels), perch.Filter{Variable: "TrainingDataURI", Op: perch.OpGT, Value: "s3://b/0.csv", Desc: true}, "[ml-1]"},
			{listIDs(ctx, s.ListMLModels), perch.Filter{Variable: "IAMUser", Op: perch.OpPrefix, Value: "arn:aws:iam::000000000000:user/"}, "[ml-1]"},
			{listIDs(ctx, s.ListMLModels), perch.Filter{Variable: "IAMUser", Op: perch.OpNE, Value: users[0]}, "[ml-2 ml-1]"},
			{listIDs(ctx, s.ListDataSources), perch.Filter{Variable: "IAMUser", Op: perch.OpEQ, Value: users[0]}, "[ds-0]"},
			{listIDs(ctx, s.ListDataSources), perch.Filter{Variable: "IAMUser", Op: perch.OpLT, Value: users[1], Desc: true}, "[ds-0 ds-2]"},
			{listIDs(ctx, s.ListBatchPredictions), perch.Filter{Variable: "DataURI", Op: perch.OpGE, Value: "s3://b/1.csv", And: []perch.Comparison{{Op: perch.OpLE, Value: "s3://b/2.csv"}}}, "[bp-1 bp-2]"},
			{listIDs(ctx, s.ListBatchPredictions), perch.Filter{Variable: "IAMUser", Op: perch.OpEQ, Value: users[1]}, "[bp-1]"},
		} {
			if got := ids(c.list(c.f)); got != c.want+" <nil>" {
				t.Errorf("%+v: %s, want %s", c.f, got, c.want)
			}
		}

		_, token, err := s.ListEvaluations(ctx, perch.Filter{Variable: "Name", Limit: 2})
		if err != nil || token == "" {
			t.Fatal(token, err)
		}
		for _, f := range []perch.Filter{
			{Variable: "Bogus"},
			{Variable: "DataLocationS3"},  // a data source's variable
			{Variable: "TrainingDataURI"}, // a model's variable
			{Variable: "CreatedAt", Op: perch.OpGT, Value: "0", And: []perch.Comparison{{Op: perch.OpLT, Value: "tomorrow"}}},
			{Variable: "Name", Op: perch.OpGT, Value: "a", And: []perch.Comparison{{Op: "LIKE", Value: "a"}}},
			{Variable: "Name", Op: "LIKE", Value: "a"},
			{Variable: "Name", Limit: 101},
			{Variable: "Name", Limit: -1},
			{Variable: "Name", PageToken: "!!"},
			{Variable: "Name", PageToken: "e30"}, // {}
			{Variable: "Status", PageToken: token},
			{Variable: "Name", Desc: true, PageToken: token},
			{Variable: "CreatedAt", Op: perch.OpPrefix, Value: "2026"},
			{Variable: "CreatedAt", Op: perch.OpGT, Value: "yesterday"},
		} {
			_, _, err := s.ListEvaluations(ctx, f)
			wantCode(t, err, perch.EInvalid)
		}
	})
}

// listIDs lists one page of any kind and answers its ids.
func listIDs[T any](ctx context.Context, list func(context.Context, perch.Filter) ([]*T, string, error)) func(perch.Filter) ([]string, error) {
	return func(f perch.Filter) ([]string, error) {
		items, _, err := list(ctx, f)
		var ids []string
		for _, v := range items {
			ids = append(ids, reflect.ValueOf(v).Elem().FieldByName("ID").String())
		}
		return ids, err
	}
}

// Entities created between two pages neither repeat nor hide the ones
// listed.
func TestListWhileCreating(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() *Store) {
		s := open()
		ctx := context.Background()
		add := func(id, name string) {
			t.Helper()
			if err := s.CreateDataSource(ctx, &perch.DataSource{Meta: perch.Meta{ID: id, Name: name}}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 6 {
			add(fmt.Sprint("ds-", i), fmt.Sprint("n", i))
		}
		f := perch.Filter{Variable: "Name", Limit: 3}
		first, next, err := s.ListDataSources(ctx, f)
		if err != nil || len(first) != 3 || next == "" {
			t.Fatalf("first page: %d items, %q, %v", len(first), next, err)
		}
		add("ds-a", "n0a") // before the token
		add("ds-b", "n4a") // after it
		f.PageToken, f.Limit = next, 10
		rest, next, err := s.ListDataSources(ctx, f)
		if err != nil || next != "" {
			t.Fatalf("second page: %q, %v", next, err)
		}
		var got []string
		for _, d := range append(first, rest...) {
			got = append(got, d.Name)
		}
		if want := []string{"n0", "n1", "n2", "n3", "n4", "n4a", "n5"}; !slices.Equal(got, want) {
			t.Errorf("names %v, want %v", got, want)
		}
	})
}

func TestReopen(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		s := open()
		if err := s.CreateDataSource(ctx, &perch.DataSource{Meta: perch.Meta{ID: "ds-1", Name: "kept"}}); err != nil {
			t.Fatal(err)
		}
		// A second store on the same database while the first is open.
		s2 := open()
		if _, err := s2.UpdateDataSource(ctx, "ds-1", func(d *perch.DataSource) error { d.Records = 7; return nil }); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s2.Close()
		s3 := open()
		d, err := s3.GetDataSource(ctx, "ds-1")
		if err != nil || d.Name != "kept" || d.Records != 7 {
			t.Fatalf("after reopen: %+v, %v", d, err)
		}
		files, _ := migrations.ReadDir("migrations/" + s3.dialect.String())
		var n int
		if err := s3.db.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(files) {
			t.Errorf("schema_migrations has %d rows (%v), want %d", n, err, len(files))
		}
	})
}

// Servers starting together on a new database migrate it once.
func TestConcurrentOpen(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string) {
		const n = 4
		stores := make([]*Store, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { stores[i], errs[i] = Open(context.Background(), dsn) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Error(err)
				continue
			}
			if err := stores[i].CreateEvaluation(context.Background(), &perch.Evaluation{Meta: perch.Meta{ID: fmt.Sprint("ev-", i)}}); err != nil {
				t.Error(err)
			}
			stores[i].Close()
		}
	})
}

func TestOpenPaths(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{filepath.Join(dir, "plain.db"), "sqlite://" + filepath.Join(dir, "url.db")} {
		s, err := Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("Open(%q): %v", dsn, err)
		}
		var mode string
		if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("%s: journal_mode %q, %v", dsn, mode, err)
		}
		s.Close()
	}
	for _, name := range []string{"plain.db", "url.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	if _, err := Open(context.Background(), "sqlite://"); perch.Code(err) != perch.EInvalid {
		t.Errorf("Open(sqlite://): %v", err)
	}
}

func TestStatements(t *testing.T) {
	got := statements("-- a comment\nCREATE TABLE a (x INT);\n\n  -- another\nCREATE INDEX b ON a (x);\n")
	want := []string{"CREATE TABLE a (x INT)", "CREATE INDEX b ON a (x)"}
	if !slices.Equal(got, want) {
		t.Errorf("statements = %q, want %q", got, want)
	}
}

// TestMigrateCreatedBy opens a database as it was before entities
// recorded their creator and input location, with an entity in it: the
// migration gives the entity empty values, which the filters find.
func TestMigrateCreatedBy(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		s := open()
		for _, stmt := range []string{
			"DROP INDEX entities_created_by",
			"DROP INDEX entities_data_url",
			"ALTER TABLE entities DROP COLUMN created_by",
			"DELETE FROM schema_migrations WHERE version = 3",
			`INSERT INTO entities (kind, id, name, status, created_at, updated_at, datasource_id, doc) VALUES
				('mlmodel', 'ml-old', 'old', 'COMPLETED', 1, 1, 'ds-old', '{"id":"ml-old","name":"old","status":"COMPLETED","trainingDataSourceId":"ds-old","type":"BINARY"}')`,
		} {
			if _, err := s.DB().ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		s.Close()
		s = open()
		if err := s.CreateMLModel(ctx, &perch.MLModel{Meta: perch.Meta{ID: "ml-new", CreatedBy: "arn:aws:iam::000000000000:root"}, InputDataURL: "s3://b/k"}); err != nil {
			t.Fatal(err)
		}
		m, err := s.GetMLModel(ctx, "ml-old")
		if err != nil || m.CreatedBy != "" || m.InputDataURL != "" || m.TrainingDataSource != "ds-old" {
			t.Fatalf("old model: %+v, %v", m, err)
		}
		for _, c := range []struct {
			f    perch.Filter
			want string
		}{
			{perch.Filter{Variable: "IAMUser", Op: perch.OpEQ, Value: ""}, "[ml-old]"},
			{perch.Filter{Variable: "TrainingDataURI", Op: perch.OpEQ, Value: ""}, "[ml-old]"},
			{perch.Filter{Variable: "IAMUser", Op: perch.OpNE, Value: ""}, "[ml-new]"},
			{perch.Filter{Variable: "TrainingDataURI", Op: perch.OpPrefix, Value: "s3://"}, "[ml-new]"},
		} {
			ids, err := listIDs(ctx, s.ListMLModels)(c.f)
			if got := fmt.Sprint(ids); err != nil || got != c.want {
				t.Errorf("%+v: %s, %v; want %s", c.f, got, err, c.want)
			}
		}
	})
}
