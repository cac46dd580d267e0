package main

import (
	"bufio"
	"flag"
	"io"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/model"
)

// runPredict: perch predict --model MODEL (--record key=value ... | --csv 'LINE');
// with neither, JSON Lines records on stdin, one prediction per line.
func runPredict(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	modelPath := fs.String("model", "", "model file")
	csvLine := fs.String("csv", "", "one record as a CSV line, in the schema's column order")
	var record multi
	fs.Var(&record, "record", "attribute=value (repeatable)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := need("model", *modelPath); err != nil {
		return err
	}
	if *csvLine != "" && len(record) > 0 {
		return usagef("give --record or --csv, not both")
	}
	m, err := model.ReadFile(*modelPath)
	if err != nil {
		return prefix(*modelPath, err)
	}
	p, err := model.Compile(m)
	if err != nil {
		return err
	}
	var pred perch.Prediction
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	emit := func() error {
		b := pred.AppendJSON(nil)
		b = append(b, '\n')
		_, err := w.Write(b)
		return err
	}
	switch {
	case *csvLine != "":
		fields, err := csvRecord(m.Schema, *csvLine)
		if err != nil {
			return err
		}
		p.Predict(fields, &pred)
		return emit()
	case len(record) > 0:
		kv, err := keyValues("record", record)
		if err != nil {
			return err
		}
		for k := range kv {
			if m.Schema.Index(k) < 0 {
				return perch.Errorf(perch.EInvalid, "--record %s: the model has no attribute %q", k, k)
			}
		}
		p.PredictRecord(perch.Record(kv), &pred)
		return emit()
	}
	names := make([]string, len(m.Schema.Attributes))
	for i, a := range m.Schema.Attributes {
		names[i] = a.Name
	}
	rd := data.NewJSONLReader(stdin, names, data.Options{})
	for {
		fields, err := rd.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p.Predict(fields, &pred)
		if err := emit(); err != nil {
			return err
		}
	}
}

// csvRecord parses one CSV line in schema order. The target may be left
// off the end, since a record to predict seldom has it.
func csvRecord(s *perch.Schema, line string) ([]string, error) {
	names := make([]string, len(s.Attributes))
	for i, a := range s.Attributes {
		names[i] = a.Name
	}
	rd := data.NewCSVReader(strings.NewReader(line), data.Options{Names: names, Fields: -1})
	fields, err := rd.Read()
	if err == io.EOF {
		return nil, usagef("--csv is empty")
	}
	if err != nil {
		return nil, err
	}
	n, t := len(s.Attributes), s.Target()
	switch {
	case len(fields) == n:
	case len(fields) == n-1 && t == n-1:
		fields = append(fields, "")
	default:
		return nil, perch.Errorf(perch.EInvalid, "--csv has %d fields, the model's schema has %d (%s)", len(fields), n, strings.Join(names, ","))
	}
	return fields, nil
}
