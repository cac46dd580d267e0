package main

import (
	"errors"
	"io"
)

// runServe: perch serve — the server. (Being wired.)
func runServe(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	return errors.New("serve: not built yet")
}
