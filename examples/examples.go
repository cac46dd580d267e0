// Package examples embeds the sample data sets shipped with perch (see
// NOTICE for their sources and licence), so that the quickstart and the
// tests run on a fresh clone with nothing else to fetch.
package examples

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io"
)

//go:embed NOTICE adult/*.gz iris/*.gz sms-spam/*.gz wine-quality/*.gz
var FS embed.FS

// Open returns the uncompressed contents of a shipped data set, named by
// its path without .gz: "adult/train.csv", "adult/test.csv",
// "iris/iris.csv", "sms-spam/sms.csv" or "wine-quality/wine.csv".
func Open(name string) (io.Reader, error) {
	b, err := FS.ReadFile(name + ".gz")
	if err != nil {
		return nil, err
	}
	return gzip.NewReader(bytes.NewReader(b))
}

// ReadAll returns the uncompressed bytes of a shipped data set.
func ReadAll(name string) ([]byte, error) {
	r, err := Open(name)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}
