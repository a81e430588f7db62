package wsconn

import (
	"runtime"
	"sync"
	"syscall"
	"time"
)

// flusher is a small pool of workers, one per processor, that write the
// pending frames of connections in line. A connection joins the line when
// its first frame is queued, and rejoins at the back while more keeps
// coming, so every pass over the line writes all that piled up since the
// last: under load one write carries many frames, at rest a frame leaves at
// once. Workers never block on a peer (see Conn.flush).
//
// mu guards line, idle and stopped. The workers run from the first push
// until stop.
type flusher struct {
	mu      sync.Mutex
	wake    sync.Cond
	line    []*Conn
	idle    int  // workers waiting for work
	started bool // the workers are running
	stopped bool
	workers sync.WaitGroup
	watch   *watch // the group's, set before the first push
}

// chunk is how many connections a worker takes from the line at once: small
// enough to share a big fan-out between workers, large enough to keep the
// lock quiet.
const chunk = 32

// Under heavy load a worker lingers before its next chunk, so that each
// write carries more. On loopback a send costs about the same whatever it
// carries, and so does the peer's read: halving the writes lets both ends
// deliver more (scenario a of bench/compare.sh, measured on 2026-12-04:
// 0.066-0.071 µs of server CPU per delivery with the linger, 0.12-0.14
// without, where the server saturated its core). The load is
// called heavy when the last chunk averaged busyFrames frames a write,
// which only a flood of messages gives: at chat rates a write carries one
// or two, and a frame leaves at once. A pass that found a frame or two
// stops the lingering, so a quiet room never waits.
const (
	linger     = 100 * time.Microsecond
	busyFrames = 16
)

// push puts c at the back of the line. After stop, c's write side runs on a
// goroutine of its own instead.
func (f *flusher) push(c *Conn) {
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		go c.writeAll()
		return
	}
	if !f.started {
		f.startLocked()
	}
	f.line = append(f.line, c)
	wake := f.idle > 0
	f.mu.Unlock()
	if wake {
		f.wake.Signal()
	}
}

func (f *flusher) startLocked() {
	f.started = true
	f.wake.L = &f.mu
	n := runtime.GOMAXPROCS(0)
	f.workers.Add(n)
	for range n {
		go f.work()
	}
}

func (f *flusher) work() {
	defer f.workers.Done()
	p := newPace(f.watch)
	var mine []*Conn
	for {
		mine = f.take(mine[:0])
		if len(mine) == 0 {
			return // stopped, and the line is empty
		}
		p.wait()
		frames := 0
		for _, c := range mine {
			n, again := c.safeFlush()
			frames += n
			if again {
				f.push(c)
			}
		}
		p.busy = frames >= busyFrames*len(mine)
		clear(mine)
	}
}

// take waits for connections in line and moves up to chunk of them into
// mine. It returns none once the flusher has stopped and the line is empty.
func (f *flusher) take(mine []*Conn) []*Conn {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.line) == 0 && !f.stopped {
		f.idle++
		f.wake.Wait()
		f.idle--
	}
	k := min(chunk, len(f.line))
	mine = append(mine, f.line[:k]...)
	clear(f.line[:k])
	f.line = f.line[k:]
	return mine
}

// pace is one worker's choice of how to let publishers go first before it
// writes a chunk: under heavy load it lingers, so that each write carries
// more; when a peer's message waits unread it steps aside until a reader
// has published it (see watch); otherwise it only yields, which at rest
// returns at once.
type pace struct {
	busy  bool // the last chunk averaged busyFrames frames a write or more
	watch *watch
	evs   []syscall.EpollEvent
	timer *time.Timer
}

func newPace(w *watch) *pace {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pace{watch: w, evs: make([]syscall.EpollEvent, 16), timer: t}
}

func (p *pace) wait() {
	switch {
	case p.busy:
		time.Sleep(linger)
	case p.watch.unread(p.evs):
		p.watch.awaitReaders(p.timer)
	default:
		runtime.Gosched()
	}
}

// stop lets the workers finish the line and waits for them.
func (f *flusher) stop() {
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
	f.wake.Broadcast()
	f.workers.Wait()
}
