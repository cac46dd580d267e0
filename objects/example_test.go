package objects_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/perchml/perch/objects"
)

func ExampleParseURL() {
	bucket, key := objects.ParseURL("s3://ml-data/adult/train.csv?endpoint=http://127.0.0.1:9000&use_path_style=true")
	fmt.Println(bucket)
	fmt.Println(key)
	// Output:
	// s3://ml-data?endpoint=http://127.0.0.1:9000&use_path_style=true
	// adult/train.csv
}

func ExampleBucket_Write() {
	dir, _ := os.MkdirTemp("", "perch-objects")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	b, err := objects.Open(ctx, "file://"+dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	b.Write(ctx, "inbox/a.csv", strings.NewReader("age\n22\n"), "text/csv")
	b.Write(ctx, "inbox/b.csv", strings.NewReader("age\n37\n"), "text/csv")
	list, _ := b.List(ctx, "inbox/")
	for _, a := range list {
		fmt.Println(a.Key, a.Size)
	}
	// Output:
	// inbox/a.csv 7
	// inbox/b.csv 7
}
