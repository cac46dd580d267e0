package objects

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
)

// BenchmarkFolderRead is the common read path: open a small object in a
// folder, read it whole, close it; "walk" as where openat2 is missing.
func BenchmarkFolderRead(b *testing.B) {
	for _, key := range []string{"small.csv", "a/b/c/small.csv", "walk/small.csv", "walk/a/b/c/small.csv"} {
		name := fmt.Sprintf("depth=%d", strings.Count(key, "/")+1)
		walk := strings.HasPrefix(key, "walk/")
		if walk {
			key = strings.TrimPrefix(key, "walk/")
			name = fmt.Sprintf("walk/depth=%d", strings.Count(key, "/")+1)
		}
		b.Run(name, func(b *testing.B) {
			if walk {
				was := noOpenat2.Load()
				noOpenat2.Store(true)
				defer noOpenat2.Store(was)
			}
			ctx := context.Background()
			bk := mustOpen(b, b.TempDir())
			if err := bk.Write(ctx, key, strings.NewReader(strings.Repeat("x", 512)), ""); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 1024)
			b.ReportAllocs()
			for b.Loop() {
				r, err := bk.NewReader(ctx, key)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.ReadFull(r, buf)
				if n != 512 || err != io.ErrUnexpectedEOF {
					b.Fatalf("read %d, %v", n, err)
				}
				r.Close()
			}
		})
	}
}

// BenchmarkFolderAttributes is what a pipeline's check of an object costs.
func BenchmarkFolderAttributes(b *testing.B) {
	ctx := context.Background()
	bk := mustOpen(b, b.TempDir())
	if err := bk.Write(ctx, "a/b/small.csv", strings.NewReader("x"), ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bk.Attributes(ctx, "a/b/small.csv"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFolderWrite writes a small object, replacing the last one.
func BenchmarkFolderWrite(b *testing.B) {
	ctx := context.Background()
	bk := mustOpen(b, b.TempDir())
	body := strings.Repeat("x", 512)
	b.ReportAllocs()
	for b.Loop() {
		if err := bk.Write(ctx, "out/small.csv", strings.NewReader(body), ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFolderList lists 1,000 objects in ten directories.
func BenchmarkFolderList(b *testing.B) {
	ctx := context.Background()
	bk := mustOpen(b, b.TempDir())
	for i := range 1000 {
		if err := bk.Write(ctx, fmt.Sprintf("in/%d/%03d.csv", i%10, i), strings.NewReader("x"), ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if l, err := bk.List(ctx, "in/"); err != nil || len(l) != 1000 {
			b.Fatal(len(l), err)
		}
	}
}
