// Command amlsign signs one AmazonML_20141212 request with SigV4 and
// prints its headers, one "Name: value" a line, so that a load generator
// can send the same signed request for the minutes the signature is good
// for (perch allows 5 minutes of clock skew, as AWS did).
//
//	amlsign -credentials DIR/root-aws-credentials -url http://127.0.0.1:8080/ -target Predict -body FILE
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"time"

	"github.com/perchml/perch/access"
)

func main() {
	creds := flag.String("credentials", "", "AWS credentials `FILE` (default profile)")
	url := flag.String("url", "", "perch's `URL`")
	target := flag.String("target", "Predict", "AML `operation`")
	bodyFile := flag.String("body", "", "request body `FILE`")
	flag.Parse()
	id, secret, err := access.ReadCredentialsFile(*creds)
	if err != nil {
		fmt.Fprintln(os.Stderr, "amlsign:", err)
		os.Exit(1)
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "amlsign:", err)
		os.Exit(1)
	}
	r, err := http.NewRequest("POST", *url, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintln(os.Stderr, "amlsign:", err)
		os.Exit(1)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "AmazonML_20141212."+*target)
	access.SignV4(r, body, id, secret, "us-east-1", "machinelearning", time.Now())
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Printf("%s: %s\n", k, r.Header.Get(k))
	}
}
