package main

import (
	"bufio"
	"io"
	"os"
	"sync"
	"time"
)

// logFlushEvery is how long a log line may wait in the buffer.
const logFlushEvery = 200 * time.Millisecond

// bufferedLog writes the server's log to a file or pipe in blocks rather
// than a write a line: a busy server logs a line per request, and a
// system call each cost a fifth of its prediction throughput. Lines wait
// at most logFlushEvery; a crash may lose that much of the log. A
// terminal gets each line at once, unbuffered.
type bufferedLog struct {
	mu     sync.Mutex
	w      *bufio.Writer
	f      *os.File
	direct bool // stopped: lines go straight to f
	stop   chan struct{}
	done   chan struct{}
}

// newLogWriter returns the writer the server logs to, and a func that
// writes what waits and stops the flushing.
func newLogWriter(w io.Writer) (io.Writer, func()) {
	f, ok := w.(*os.File)
	if !ok || isTerminal(w) {
		return w, func() {}
	}
	b := &bufferedLog{w: bufio.NewWriterSize(f, 64<<10), f: f, stop: make(chan struct{}), done: make(chan struct{})}
	go b.flushing()
	var once sync.Once
	return b, func() {
		once.Do(func() {
			close(b.stop)
			<-b.done
		})
	}
}

func (b *bufferedLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.direct {
		return b.f.Write(p)
	}
	return b.w.Write(p)
}

func (b *bufferedLog) flushing() {
	defer close(b.done)
	t := time.NewTicker(logFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-b.stop:
			b.mu.Lock()
			b.w.Flush()
			b.direct = true // what is logged after the stop is not left waiting
			b.mu.Unlock()
			return
		}
		b.flush()
	}
}

func (b *bufferedLog) flush() {
	b.mu.Lock()
	b.w.Flush()
	b.mu.Unlock()
}
