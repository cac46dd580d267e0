// Command modelmem prints how much Go heap a model file takes once loaded
// and compiled as the server's model cache holds it (model.Decode, then
// model.Compile), next to the file's size.
//
//	go run ./bench/modelmem [-memprofile FILE] MODEL.json
//
// -memprofile writes a heap profile of what the model holds, for
// go tool pprof -sample_index=inuse_space.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/perchml/perch"
	"github.com/perchml/perch/model"
)

func heap() uint64 {
	var ms runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func main() {
	prof := flag.String("memprofile", "", "write a heap profile to `FILE`")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: modelmem [-memprofile FILE] MODEL.json")
		os.Exit(2)
	}
	if *prof != "" {
		runtime.MemProfileRate = 1
	}
	b, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	size := len(b)
	// The first load also fills process-wide caches (encoding/json's type
	// cache, reflect's); the second shows what one more model holds.
	h0 := heap()
	p1 := load(b)
	h1 := heap()
	const more = 20
	ps := make([]*model.Predictor, more)
	for i := range ps {
		ps[i] = load(b)
	}
	h2 := heap()
	first, each := int64(h1)-int64(h0), (int64(h2)-int64(h1))/more
	fmt.Printf("model file %d bytes; decoded and compiled, Go heap: first model %d bytes (%.2f x the file, with one-time caches), each of %d more %d bytes (%.2f x the file)\n",
		size, first, float64(first)/float64(size), more, each, float64(each)/float64(size))
	if *prof != "" {
		f, err := os.Create(*prof)
		if err == nil {
			err = pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	runtime.KeepAlive(p1)
	runtime.KeepAlive(ps)
}

// load decodes and compiles a model file and predicts one record with it,
// so that whatever the predictor builds on first use is built.
func load(b []byte) *model.Predictor {
	m, err := model.Decode(b)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	p, err := model.Compile(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rec := perch.Record{}
	for _, a := range m.Schema.Attributes {
		rec[a.Name] = "1"
	}
	var out perch.Prediction
	p.PredictRecord(rec, &out)
	return p
}
