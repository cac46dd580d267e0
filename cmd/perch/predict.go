package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/data"
	"github.com/perchml/perch/model"
)

// runPredict: perch predict --model MODEL (--record key=value ... | --csv 'LINE');
// with neither, JSON Lines records on stdin, one prediction per line. With
// --server, a server's model predicts.
func runPredict(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	modelPath := fs.String("model", "", "`MODEL` file, or with --server the model's ID")
	csvLine := fs.String("csv", "", "one record as a CSV `LINE`, in the schema's column order (the target may be left out)")
	var record multi
	fs.Var(&record, "record", "one attribute of the record, `name=value` (repeatable)")
	explain := fs.Bool("explain", false, "add each attribute's contribution to the margin to details (gbdt models)")
	var rm remote
	fs.StringVar(&rm.server, "server", "", "`URL` of a perch server whose real-time endpoint predicts, instead of a model file")
	rm.keyFlags(fs)
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("unexpected argument %q (give a record with --record or --csv, or JSON Lines on stdin)", pos[0])
	}
	if err := need("model", *modelPath); err != nil {
		return err
	}
	if *csvLine != "" && len(record) > 0 {
		return usagef("give --record or --csv, not both")
	}
	if rm.server != "" {
		return remotePredict(&rm, *modelPath, *csvLine, record, *explain, stdin, stdout, stderr)
	}
	m, err := readModel(*modelPath)
	if err != nil {
		return err
	}
	p, err := model.Compile(m)
	if err != nil {
		return err
	}
	if *explain && m.Trees == nil {
		return perch.Errorf(perch.EInvalid, "--explain: the model's algorithm %s does not explain predictions (gbdt does)", m.Algorithm)
	}
	var pred perch.Prediction
	predict := func(fields []string) {
		if *explain {
			p.Explain(fields, &pred) // a tree model, checked above: no error
			return
		}
		p.Predict(fields, &pred)
	}
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
		predict(fields)
		return emit()
	case len(record) > 0:
		kv, err := keyValues("record", record)
		if err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(kv)) {
			if m.Schema.Index(k) < 0 {
				return perch.Errorf(perch.EInvalid, "--record %s: the model has no attribute %q (attributes: %s)",
					k, k, strings.Join(attributeNames(m.Schema), ", "))
			}
		}
		fields := make([]string, p.Width())
		p.Fields(perch.Record(kv), fields)
		predict(fields)
		return emit()
	}
	names := attributeNames(m.Schema)
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintln(stderr, "reading records as JSON Lines, one object a line; end with Ctrl-D (or give --record or --csv)")
		}
	}
	rd := data.NewJSONLReader(stdin, names, data.Options{})
	for {
		fields, err := rd.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return prefix("stdin", err)
		}
		predict(fields)
		if err := emit(); err != nil {
			return err
		}
	}
}

// csvRecord parses one CSV line in schema order. The target may be left
// out, since a record to predict seldom has it.
func csvRecord(s *perch.Schema, line string) ([]string, error) {
	names := attributeNames(s)
	rd := data.NewCSVReader(strings.NewReader(line), data.Options{Names: names, Fields: -1})
	fields, err := rd.Read()
	if err == io.EOF {
		return nil, usagef("--csv is empty")
	}
	if err != nil {
		return nil, fmt.Errorf("--csv: %w", err)
	}
	n, t := len(s.Attributes), s.Target()
	switch {
	case len(fields) == n:
	case len(fields) == n-1 && t >= 0:
		fields = slices.Insert(fields, t, "")
	case t >= 0:
		return nil, perch.Errorf(perch.EInvalid, "--csv has %d fields, want %d without the target or %d with it (%s)",
			len(fields), n-1, n, strings.Join(names, ","))
	default:
		return nil, perch.Errorf(perch.EInvalid, "--csv has %d fields, want %d (%s)", len(fields), n, strings.Join(names, ","))
	}
	return fields, nil
}

// attributeNames lists a schema's attributes in column order.
func attributeNames(s *perch.Schema) []string {
	names := make([]string, len(s.Attributes))
	for i, a := range s.Attributes {
		names[i] = a.Name
	}
	return names
}
