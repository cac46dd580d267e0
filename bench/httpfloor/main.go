// The reference floor for bench/http.sh, copied from the shared peers.
// httpfloor: the fastest a Go net/http JSON predict endpoint can be on this machine:
// it decodes the {"record":{...}} body into a map and answers a fixed prediction.
// It is the "physical limit" anchor for perch's real-time predict route.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
)

type request struct {
	Record    map[string]string `json:"record"`
	RecordAML map[string]string `json:"Record"`
}

var answer = []byte(`{"prediction":{"predictedLabel":"0","predictedScores":{"0":0.1234},"details":{"PredictiveModelType":"BINARY","Algorithm":"SGD"}}}`)

func main() {
	addr := flag.String("listen", "127.0.0.1:18090", "address")
	flag.Parse()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
