package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/perchml/perch"
	"github.com/perchml/perch/client"
	"github.com/perchml/perch/examples"
	"github.com/perchml/perch/service"
)

// TestPipelineKafka runs a pipeline on a Kafka topic in the server: the
// records published to the topic's two partitions land in the table once
// each, and `perch pipeline runs` shows the stream's run of the minute
// with its counts.
func TestPipelineKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server; not in -short")
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "records"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := startAdultServer(ctx, t, "")
	c := srv.c
	ds, err := c.CreateDataSource(ctx, service.DataSourceInput{DataURL: "adult/train.csv.gz", TargetAttributeName: "income"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.CreateMLModel(ctx, service.MLModelInput{Type: perch.BinaryModel, TrainingDataSourceID: ds.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(ctx, client.MLModels, m.ID, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(srv.dataDir, "results.db")
	pl, err := c.CreatePipeline(ctx, service.PipelineInput{
		Model:      m.ID,
		Source:     perch.PipelineSource{Stream: &perch.StreamSource{URL: "kafka://" + strings.Join(brokers, ",") + "/records"}},
		Sinks:      []perch.PipelineSink{{SQL: &perch.SQLSink{URL: "sqlite://" + results, Table: "predictions"}}},
		DeadLetter: (&url.URL{Scheme: "file", Path: filepath.Join(srv.dataDir, "dead")}).String(),
	})
	if err != nil {
		t.Fatal(err)
	}

	// 1,000 records and 3 malformed ones, spread over both partitions.
	test, err := examples.ReadAll("adult/test.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(test)), "\n")[1:1001]
	for i := range 3 {
		lines = append(lines, fmt.Sprintf("bad record %d", i))
	}
	pub, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("records"))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	var recs []*kgo.Record
	for i, l := range lines {
		recs = append(recs, &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte(l)})
	}
	if err := pub.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", results+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for {
		var n, distinct int
		err := db.QueryRow("SELECT count(*), count(DISTINCT source_key || '/' || source_row) FROM predictions").Scan(&n, &distinct)
		if err == nil && n == 1000 && distinct == 1000 {
			break
		}
		if ctx.Err() != nil || n > 1000 {
			t.Fatalf("%d rows, %d distinct (%v)\n%s", n, distinct, err, srv.p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The runs: one a minute (two if the records straddled one), keyed
	// by the topic, counting every record and dead letter once.
	key := regexp.MustCompile(`^stream:records@\d{4}-\d\d-\d\dT\d\d:\d\dZ$`)
	var table string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		table = mustRun(t, "", "pipeline", "runs", pl.ID, "--server", srv.p.url, "--key", srv.key).stdout
		var rows, predicted, dead, runs int
		for _, line := range strings.Split(strings.TrimSpace(table), "\n")[1:] {
			f := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1)
			if len(f) < 6 || !key.MatchString(f[1]) || f[2] != "COMPLETED" {
				t.Fatalf("runs row %q in\n%s", f, table)
			}
			runs++
			for i, v := range []*int{&rows, &predicted, &dead} {
				n, _ := strconv.Atoi(f[3+i])
				*v += n
			}
		}
		if runs >= 1 && runs <= 2 && rows == 1003 && predicted == 1000 && dead == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs count %d rows, %d predicted, %d dead letters:\n%s", rows, predicted, dead, table)
		}
	}
	t.Logf("perch pipeline runs:\n%s", table)
}
