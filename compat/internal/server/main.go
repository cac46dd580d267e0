// Command server is perch's server with the AML protocol mounted, wired
// from the same packages as perch serve, for the compatibility suite to
// run against until perch serve mounts the protocol itself.
//
//	server --data-dir DIR [--listen ADDR] [--database URL] [--objects URL]
//
// It prints "perch is serving on URL" once it serves, as perch serve does.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/perchml/perch/access"
	"github.com/perchml/perch/aml"
	"github.com/perchml/perch/api"
	"github.com/perchml/perch/jobs"
	"github.com/perchml/perch/objects"
	"github.com/perchml/perch/service"
	"github.com/perchml/perch/sqlstore"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run() error {
	dataDir := flag.String("data-dir", "", "data directory")
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	database := flag.String("database", "", "metadata database URL; default SQLite in the data directory")
	objectsURL := flag.String("objects", "", "object store URL; default the data directory's objects folder")
	flag.Parse()
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	db := *database
	sqlite := !strings.HasPrefix(db, "postgres")
	if db == "" {
		db = filepath.Join(dir, "perch.db")
	}
	store, err := sqlstore.Open(ctx, db)
	if err != nil {
		return err
	}
	defer store.Close()
	objURL := *objectsURL
	if objURL == "" {
		objURL = filepath.Join(dir, "objects")
	}
	bucket, err := objects.Open(ctx, objURL)
	if err != nil {
		return err
	}
	defer bucket.Close()
	svc := service.New(service.Config{Store: store, Objects: bucket, Logger: log})
	conns := 4
	if sqlite {
		conns = 1
	}
	pool, err := store.Pool(conns)
	if err != nil {
		return err
	}
	queue, err := jobs.Open(ctx, pool, store.Dialect(), svc, jobs.Options{Logger: log})
	if err != nil {
		return err
	}
	svc.SetQueue(queue)
	rootKey, _, err := access.EnsureRootKey(dir)
	if err != nil {
		return err
	}
	if err := svc.RegisterRootKey(ctx, rootKey); err != nil {
		return err
	}
	if _, _, err := aml.Setup(ctx, svc, dir); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	svc.SetBaseURL(url)
	srv := &http.Server{Handler: api.New(svc, api.Options{Logger: log, AML: aml.New(svc, aml.Options{Logger: log})})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if err := svc.Sweep(ctx, sqlite); err != nil {
		return err
	}
	if err := queue.Start(ctx); err != nil {
		return err
	}
	fmt.Printf("perch is serving on %s (data in %s)\n", url, dir)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
	case err := <-served:
		return err
	}
	srv.Shutdown(ctx)
	return queue.Stop(ctx)
}
