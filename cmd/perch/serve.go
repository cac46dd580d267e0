package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/perchml/perch/access"
	"github.com/perchml/perch/aml"
	"github.com/perchml/perch/api"
	"github.com/perchml/perch/audit"
	"github.com/perchml/perch/jobs"
	"github.com/perchml/perch/objects"
	"github.com/perchml/perch/policy"
	"github.com/perchml/perch/service"
	"github.com/perchml/perch/sqlstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serverConfig is what serve and quickstart take from flags and the
// environment.
type serverConfig struct {
	dataDir  string
	listen   string
	database string // "" is <data-dir>/perch.db
	objects  string // "" is <data-dir>/objects
	workers  int
	logLevel string
	// logFormat is "text" or "json"; "" is text when the log goes to a
	// terminal, JSON otherwise.
	logFormat string
	// metricsListen is an address serving /metrics without a key, for
	// a Prometheus that scrapes without one; "" serves it only with the
	// API, behind a key.
	metricsListen string
	// region is the AWS region AML's clients sign for and ARNs name.
	region string
	lease  time.Duration
	// auditRetention is how long the audit log keeps an event; 0 keeps
	// every one.
	auditRetention time.Duration
	// amlDatabases maps AML's DatabaseInformation (cluster/database, or an
	// RDS instance) to connection URLs, for CreateDataSourceFromRedshift
	// and FromRDS.
	amlDatabases multi
}

// serverFlags registers the flags of a server on fs.
func serverFlags(fs *flag.FlagSet) *serverConfig {
	c := &serverConfig{}
	fs.StringVar(&c.dataDir, "data-dir", envOr("PERCH_DATA_DIR", "perch-data"), "`DIR` for the database, objects and root key (env PERCH_DATA_DIR)")
	fs.StringVar(&c.listen, "listen", envOr("PERCH_LISTEN", "127.0.0.1:8080"), "`ADDR` to serve HTTP on (env PERCH_LISTEN)")
	fs.StringVar(&c.database, "database", os.Getenv("PERCH_DATABASE"), "metadata database `URL`: postgres://… to share it between servers (env PERCH_DATABASE;\ndefault: SQLite at DIR/perch.db)")
	fs.StringVar(&c.objects, "objects", os.Getenv("PERCH_OBJECTS"), "object store `URL`: s3://bucket?endpoint=… for any S3-compatible store (env PERCH_OBJECTS;\ndefault: the folder DIR/objects)")
	workers, _ := strconv.Atoi(os.Getenv("PERCH_WORKERS"))
	fs.IntVar(&c.workers, "workers", workers, "`N` jobs at once (env PERCH_WORKERS; default: the number of CPUs)")
	fs.StringVar(&c.logLevel, "log-level", envOr("PERCH_LOG_LEVEL", "info"), "`LEVEL`: debug, info, warn or error (env PERCH_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", os.Getenv("PERCH_LOG_FORMAT"), "log `FORMAT`: text or json (env PERCH_LOG_FORMAT;\ndefault: text when stderr is a terminal, JSON lines otherwise)")
	fs.StringVar(&c.region, "region", envOr("PERCH_REGION", "us-east-1"), "the AWS `REGION` AML's clients sign requests for and policies' ARNs name (env PERCH_REGION)")
	fs.StringVar(&c.metricsListen, "metrics-listen", os.Getenv("PERCH_METRICS_LISTEN"), "`ADDR` to serve /metrics on without a key, for Prometheus (env PERCH_METRICS_LISTEN;\ndefault: none; /metrics on --listen needs a key)")
	fs.Var(&c.amlDatabases, "aml-database", "`NAME=URL` (repeatable): the database AML's CreateDataSourceFromRedshift or FromRDS\n"+
		"names as NAME (cluster/database, cluster or RDS instance), e.g. mydb=postgres://host:5432/db, mysql://host:3306/db;\n"+
		"the request brings the credentials")
	if d, err := time.ParseDuration(os.Getenv("PERCH_JOB_LEASE")); err == nil {
		c.lease = d
	}
	retention := 90 * 24 * time.Hour
	if d, err := time.ParseDuration(os.Getenv("PERCH_AUDIT_RETENTION")); err == nil {
		retention = d
	}
	fs.DurationVar(&c.auditRetention, "audit-retention", retention, "how long the audit log keeps an event, as a `DURATION` (env PERCH_AUDIT_RETENTION; 0 keeps every one)")
	return c
}

// server is a running perch server.
type server struct {
	cfg     *serverConfig
	dataDir string // absolute
	url     string // http://host:port, as clients reach it
	rootKey string
	created bool // the root key was made by this start
	// awsKeyID is the root access key id for AML's protocol; awsCreated
	// says this start made the pair.
	awsKeyID   string
	awsCreated bool
	svc        *service.Service
	store      *sqlstore.Store
	audit      *audit.Log
	jobDB      interface{ Close() error }
	bucket     *objects.Bucket
	queue      *jobs.Queue
	http       *http.Server
	metrics    *http.Server // on --metrics-listen; nil without it
	metricsURL string
	requests   atomic.Int64 // being answered
	ln         net.Listener
	lock       *os.File
	log        *slog.Logger
	flushLog   func() // writes the log's buffer out; close calls it last
	ready      atomic.Bool
	served     chan error
	cancel     context.CancelFunc
	swept      chan struct{}
	watched    chan struct{} // closed when the pipeline watchers have stopped
}

// startServer opens everything a server needs and starts serving. The
// caller stops it with shutdown.
func startServer(ctx context.Context, c *serverConfig, stderr io.Writer) (_ *server, err error) {
	logw, flushLog := newLogWriter(stderr)
	log, err := newLogger(logw, c.logLevel, c.logFormat)
	if err != nil {
		flushLog()
		return nil, err
	}
	dbs, err := keyValues("aml-database", c.amlDatabases)
	if err != nil {
		flushLog()
		return nil, err
	}
	s := &server{cfg: c, served: make(chan error, 1), swept: make(chan struct{}), log: log, flushLog: flushLog}
	if s.dataDir, err = filepath.Abs(c.dataDir); err != nil {
		flushLog()
		return nil, err
	}
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		flushLog()
		return nil, err
	}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	db := c.database
	sqlite := db == "" || !(strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://"))
	if db == "" {
		db = filepath.Join(s.dataDir, "perch.db")
		// Made 0600 here: SQLite would make it 0644, and its -wal and -shm files as it is.
		if f, err := os.OpenFile(db, os.O_RDONLY|os.O_CREATE, 0o600); err == nil {
			f.Close()
		}
	}
	if sqlite {
		// One server per SQLite file: then a job found running at start
		// was left by a server that stopped, and can be restarted at once.
		if s.lock, err = lockFile(filepath.Join(s.dataDir, "perch.lock")); err != nil {
			return nil, err
		}
	}
	if s.store, err = sqlstore.Open(ctx, db); err != nil {
		return nil, err
	}
	objURL := c.objects
	if objURL == "" {
		objURL = filepath.Join(s.dataDir, "objects")
		// The store's folder is the server's alone; what it makes inside takes its mode.
		if err := os.MkdirAll(objURL, 0o700); err != nil {
			return nil, err
		}
	}
	if err := outsideDataDir(objURL, s.dataDir); err != nil {
		return nil, err
	}
	if s.bucket, err = objects.Open(ctx, objURL); err != nil {
		return nil, err
	}
	s.audit = audit.New(s.store, audit.Options{Retention: c.auditRetention, Logger: s.log})
	s.svc = service.New(service.Config{Store: s.store, Objects: s.bucket, Logger: s.log, Lease: c.lease, Audit: s.audit})
	conns := 4
	if sqlite {
		conns = 1
	}
	pool, err := s.store.Pool(conns)
	if err != nil {
		return nil, err
	}
	s.jobDB = pool
	if s.queue, err = jobs.Open(ctx, pool, s.store.Dialect(), s.svc, jobs.Options{Workers: c.workers, Logger: s.log}); err != nil {
		return nil, err
	}
	s.svc.SetQueue(s.queue)

	var created bool
	if s.rootKey, created, err = access.EnsureRootKey(s.dataDir); err != nil {
		return nil, err
	}
	s.created = created
	if err := s.svc.RegisterRootKey(ctx, s.rootKey); err != nil {
		return nil, err
	}
	// AML's protocol signs requests with an access key pair: the root pair
	// lives beside the root key, in the AWS credentials-file format.
	if s.awsKeyID, s.awsCreated, err = aml.Setup(ctx, s.svc, s.dataDir); err != nil {
		return nil, err
	}

	if s.ln, err = net.Listen("tcp", c.listen); err != nil {
		return nil, fmt.Errorf("--listen %s: %w", c.listen, err)
	}
	s.url = "http://" + s.ln.Addr().String()
	s.svc.SetBaseURL(s.url)
	policy.Region = c.region // policies' ARNs name the server's region
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := api.New(s.svc, api.Options{Logger: s.log, Ready: s.ready.Load, Registry: reg,
		AML: aml.New(s.svc, aml.Options{Logger: s.log, Databases: dbs, Region: c.region})})
	if c.metricsListen != "" {
		ln, err := net.Listen("tcp", c.metricsListen)
		if err != nil {
			return nil, fmt.Errorf("--metrics-listen %s: %w", c.metricsListen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		s.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
		s.metricsURL = "http://" + ln.Addr().String() + "/metrics"
		go s.metrics.Serve(ln)
	}
	s.http = &http.Server{
		Handler:           &counting{h: h, n: &s.requests},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go func() { s.served <- s.http.Serve(s.ln) }()

	// Jobs left behind by a stopped server start again before new ones.
	if sqlite {
		if n, err := s.queue.ReleaseRunning(ctx); err != nil {
			return nil, err
		} else if n > 0 {
			s.log.Warn("released jobs a stopped server was running", "jobs", n)
		}
	}
	if err := s.svc.Sweep(ctx, sqlite); err != nil {
		return nil, err
	}
	// Keys made before policies existed keep doing what they did.
	if n, err := s.svc.UpgradeKeys(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		s.log.Info("gave keys made before policies the policy that keeps what they could do", "keys", n)
	}
	if err := s.queue.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	go s.sweep(bg)
	// Pipelines: watch the sources of active pipelines until shutdown
	// cancels bg (their runs are jobs on the queue).
	s.watched = make(chan struct{})
	go func() {
		defer close(s.watched)
		s.svc.WatchPipelines(bg)
	}()
	s.ready.Store(true)
	s.log.Info("serving", "url", s.url, "dataDir", s.dataDir, "database", s.store.Dialect(), "objects", objURL)
	if s.metrics != nil {
		s.log.Info("serving metrics without a key", "url", s.metricsURL)
	}
	return s, nil
}

// sweep restarts lost jobs now and then: those of servers that stopped.
func (s *server) sweep(ctx context.Context) {
	defer close(s.swept)
	lease := s.cfg.lease
	if lease <= 0 {
		lease = 30 * time.Second
	}
	t := time.NewTicker(lease / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.svc.Sweep(ctx, false); err != nil && ctx.Err() == nil {
				s.log.Warn("sweep", "err", err)
			}
		}
	}
}

// outsideDataDir refuses an object folder that holds the data directory,
// whose secret files (the root key, the credentials, the master key) would
// then be objects any key allowed GetObject could read.
func outsideDataDir(objURL, dataDir string) error {
	dir := objURL
	if u, err := url.Parse(objURL); err == nil && u.Scheme != "" {
		if u.Scheme != "file" {
			return nil
		}
		dir = u.Path
	}
	d, err1 := filepath.Abs(dir)
	data, err2 := filepath.Abs(dataDir)
	if err1 != nil || err2 != nil {
		return nil
	}
	if rel, err := filepath.Rel(d, data); err == nil && (rel == "." || !strings.HasPrefix(rel, "..")) {
		return usagef("--objects %s holds the data directory %s and its secret files; give a folder beside it", objURL, dataDir)
	}
	return nil
}

// newLogger is the server's log on stderr at the level named, as text
// or JSON lines; format "" picks text for a terminal.
func newLogger(stderr io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	if format == "" {
		format = "json"
		if isTerminal(stderr) {
			format = "text"
		}
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(stderr, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

// isTerminal reports whether w is a character device, as a terminal is.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// counting counts the requests being answered, so that a stopping server
// can say how many it waits for.
type counting struct {
	h http.Handler
	n *atomic.Int64
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	defer c.n.Add(-1)
	c.h.ServeHTTP(w, r)
}

// stopTimeout is how long a stopping server lets running requests and
// jobs finish.
const stopTimeout = 30 * time.Second

// errStopNow cancels a stop that was asked for again.
var errStopNow = errors.New("stop now")

// shutdown stops taking requests, lets running requests and jobs finish
// for a while, and closes everything.
func (s *server) shutdown(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.stop(ctx)
}

// stop stops taking requests, lets running requests and jobs finish until
// ctx is done, and closes everything. Jobs still running then are
// cancelled: their entities go back to PENDING and run again at the next
// start. A stop cancelled with errStopNow is no failure.
func (s *server) stop(ctx context.Context) error {
	s.ready.Store(false)
	var errs []error
	if s.metrics != nil {
		s.metrics.Close()
	}
	if s.http != nil {
		if err := s.http.Shutdown(ctx); err != nil {
			// Requests still running are cut off.
			s.http.Close()
			if context.Cause(ctx) != errStopNow {
				errs = append(errs, err)
			}
		}
	}
	if s.cancel != nil {
		s.cancel()
		<-s.swept
		<-s.watched
	}
	if s.queue != nil {
		errs = append(errs, s.queue.Stop(ctx))
	}
	s.queue = nil
	errs = append(errs, s.close())
	return errors.Join(errs...)
}

// close releases what startServer opened.
func (s *server) close() error {
	var errs []error
	if s.ln != nil && s.http == nil {
		s.ln.Close()
	}
	if s.jobDB != nil {
		errs = append(errs, s.jobDB.Close())
	}
	// The audit log writes what is waiting, after the last request.
	if s.audit != nil {
		errs = append(errs, s.audit.Close())
	}
	if s.store != nil {
		errs = append(errs, s.store.Close())
	}
	if s.bucket != nil {
		errs = append(errs, s.bucket.Close())
	}
	if s.lock != nil {
		s.lock.Close()
	}
	if s.flushLog != nil {
		s.flushLog()
	}
	return errors.Join(errs...)
}

// lockFile takes an exclusive lock on path, failing at once if another
// process holds it.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another perch server is using %s (its lock file %s is held); stop it, or give this one its own --data-dir", filepath.Dir(path), path)
	}
	return f, nil
}

// stopRequested, when closed, stops servers as a signal would; tests use it.
var stopRequested chan struct{}

// serveUntilStopped serves until SIGINT or SIGTERM, or until the server
// stops serving on its own, and then stops it. After a signal it logs what
// it waits for; the same signal again stops at once, cancelling the jobs
// still running (they run again at the next start).
func (s *server) serveUntilStopped() error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	q := s.queue // stop clears it
	var got os.Signal
	var werr error
	select {
	case got = <-sig:
	case werr = <-s.served:
	case <-stopRequested:
	}
	base, stopNow := context.WithCancelCause(context.Background())
	defer stopNow(nil)
	ctx, cancel := context.WithTimeout(base, stopTimeout)
	defer cancel()
	if got != nil {
		s.log.Info("stopping", "signal", got.String())
		if busy := describeBusy(s.requests.Load(), q.Running()); busy != "" {
			again := "press Ctrl-C again"
			if got != os.Interrupt {
				again = "signal again"
			}
			s.log.Info(fmt.Sprintf("waiting for %s to finish, up to %s; %s to stop now", busy, stopTimeout, again))
		}
		go func() {
			select {
			case got := <-sig:
				msg := "stopping now"
				if busy := describeBusy(s.requests.Load(), q.Running()); busy != "" {
					msg = "stopping now, cutting off " + busy + "; interrupted jobs run again at the next start"
				}
				s.log.Warn(msg, "signal", got.String())
				stopNow(errStopNow)
			case <-ctx.Done():
			}
		}()
	}
	return errors.Join(werr, s.stop(ctx))
}

// describeBusy says what a stopping server waits for: "2 requests and 1
// job (model ml-123)"; "" when nothing.
func describeBusy(requests int64, running []jobs.Running) string {
	var parts []string
	switch {
	case requests == 1:
		parts = append(parts, "1 request")
	case requests > 1:
		parts = append(parts, fmt.Sprintf("%d requests", requests))
	}
	if n := len(running); n > 0 {
		const named = 3
		var names []string
		for _, r := range running[:min(n, named)] {
			if r.PipelineRun != "" {
				names = append(names, "pipeline run "+r.PipelineRun)
			} else {
				names = append(names, r.Job.Kind.Entity()+" "+r.Job.ID)
			}
		}
		list := strings.Join(names, ", ")
		if n > named {
			list += fmt.Sprintf(" and %d more", n-named)
		}
		word := "jobs"
		if n == 1 {
			word = "job"
		}
		parts = append(parts, fmt.Sprintf("%d %s (%s)", n, word, list))
	}
	return strings.Join(parts, " and ")
}

// printRootKey says where the root key is, and shows it when this start
// made it: the only time it is printed.
func (s *server) printRootKey(w io.Writer) {
	path := filepath.Join(s.dataDir, access.RootKeyFile)
	if s.created {
		fmt.Fprintf(w, "root API key (shown once; kept in %s, mode 0600):\n  %s\n", path, s.rootKey)
	} else {
		fmt.Fprintf(w, "root API key: in %s\n", path)
	}
	creds := filepath.Join(s.dataDir, access.RootAWSCredentialsFile)
	if s.awsCreated {
		fmt.Fprintf(w, "AML API (boto3 \"machinelearning\", endpoint_url %s): access key %s, secret in %s\n", s.url, s.awsKeyID, creds)
	} else {
		fmt.Fprintf(w, "AML API access key %s: in %s\n", s.awsKeyID, creds)
	}
}

// runServe: perch serve [flags] — the server, until SIGINT or SIGTERM.
func runServe(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := serverFlags(fs)
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	s, err := startServer(context.Background(), cfg, stderr)
	if err != nil {
		return err
	}
	s.printRootKey(stdout)
	fmt.Fprintf(stdout, "perch is serving on %s (data in %s)\n", s.url, s.dataDir)
	return s.serveUntilStopped()
}

// envOr returns the environment variable key, or def when it is unset or
// empty.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
