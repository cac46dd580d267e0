package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/examples"
	"github.com/perchml/perch/learn"
	"github.com/perchml/perch/model"
)

// foundingRecord is the record the quickstart predicts.
const foundingRecord = "22, Local-gov, 108435, Masters, 14, Married-civ-spouse, Prof-specialty, Husband, White, Male, 0, 0, 80, United-States"

// runQuickstart trains the bundled Adult example end to end — schema,
// model, evaluation, one prediction — into a data folder, reusing what an
// earlier run left there.
func runQuickstart(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	dir := fl.String("data-dir", envOr("PERCH_DATA_DIR", "perch-data"), "`DIR` for the example's files (env PERCH_DATA_DIR)")
	if pos, err := parseFlags(fl, args, stdout); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	abs, err := filepath.Abs(filepath.Join(*dir, "adult"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"train.csv.gz", "test.csv.gz"} {
		if err := copyExample(filepath.Join(abs, name), "adult/"+name); err != nil {
			return err
		}
	}
	train, test := filepath.Join(abs, "train.csv.gz"), filepath.Join(abs, "test.csv.gz")
	schemaPath, modelPath := filepath.Join(abs, "adult.schema.json"), filepath.Join(abs, "adult.model")

	m, err := model.ReadFile(modelPath)
	if errors.Is(err, fs.ErrNotExist) {
		start := time.Now()
		f, err := open(train)
		if err != nil {
			return err
		}
		s, err := data.InferSchema(f, data.InferOptions{Target: "income"})
		f.Close()
		if err != nil {
			return err
		}
		var sb bytes.Buffer
		if err := writeJSON(&sb, s); err != nil {
			return err
		}
		if err := os.WriteFile(schemaPath, sb.Bytes(), 0o644); err != nil {
			return err
		}
		t, err := data.LoadFile(train, s, nil)
		if err != nil {
			return err
		}
		if m, err = learn.Train(t, learn.Options{Type: perch.BinaryModel}); err != nil {
			return err
		}
		if err := m.WriteFile(modelPath); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "trained a BINARY model of income >50K on %d rows in %s\n", m.Training.Rows, time.Since(start).Round(time.Millisecond))
	} else if err != nil {
		return prefix(modelPath, err)
	} else {
		fmt.Fprintf(stdout, "reusing the model in %s\n", modelPath)
	}
	p, err := model.Compile(m)
	if err != nil {
		return err
	}
	t, err := data.LoadFile(test, m.Schema, nil)
	if err != nil {
		return err
	}
	ev, err := learn.Evaluate(p, t)
	if err != nil {
		return err
	}
	fields, err := csvRecord(m.Schema, foundingRecord)
	if err != nil {
		return err
	}
	var pred perch.Prediction
	p.Predict(fields, &pred)
	fmt.Fprintf(stdout, "evaluated on %d held-out rows: BinaryAUC %s\n\n", ev.Records, ev.PerformanceMetrics.Properties["BinaryAUC"])
	fmt.Fprintf(stdout, "prediction for %q:\n%s\n\n", foundingRecord, pred.AppendJSON(nil))
	fmt.Fprintf(stdout, "files: %s\ntry:   perch predict --model %s --record age=52 --record education=Doctorate\n", abs, modelPath)
	return nil
}

// copyExample writes a shipped data set to path unless it is there already.
func copyExample(path, name string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	b, err := examples.FS.ReadFile(name)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
