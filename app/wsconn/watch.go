package wsconn

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// watch lets the flusher see, in the middle of a long fan-out, that a peer
// has sent something that nobody has read yet.
//
// With one processor the runtime polls the network only when it has
// nothing else to run, so while a worker writes one message to hundreds of
// peers, the next message waits unread until the whole fan-out is done,
// and then goes out with a write of its own to every peer. A worker that
// learns between two chunks that input is waiting steps aside until a
// reader has published it: the peers not yet written to then get both
// messages in one write, and the second one sooner.
//
// The watch is an epoll instance of our own that holds every connection's
// socket (the runtime's own is out of reach), edge-triggered, so that
// asking it costs one system call that never waits. An event only says
// that data arrived at some point; a peek at the socket tells whether it
// is still unread, since a reader may have taken it already.
//
// The watch is an optimisation only: if it cannot be set up, or a socket
// cannot join it, writing simply goes on as before.
type watch struct {
	mu sync.RWMutex // guards fd: held to use it, exclusively to close it
	fd int          // the epoll instance; -1 if none or closed

	patience time.Duration // how long awaitReaders waits at most: stepAside

	// wait, when set, is closed by the next reader that has published
	// what it read (readerDone).
	wait atomic.Pointer[chan struct{}]
}

// stepAside bounds how long a worker waits for readers: a peer's input
// that a reader is not going to take soon (its handler is leaving, say)
// delays the rest of the fan-out by no more than this, give or take the
// runtime's timer resolution.
const stepAside = 200 * time.Microsecond

func newWatch() *watch {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		fd = -1
	}
	return &watch{fd: fd, patience: stepAside}
}

func (w *watch) add(fd int) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.fd < 0 || fd < 0 {
		return
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | epollET, Fd: int32(fd)}
	_ = syscall.EpollCtl(w.fd, syscall.EPOLL_CTL_ADD, fd, &ev)
}

func (w *watch) remove(fd int) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.fd < 0 || fd < 0 {
		return
	}
	_ = syscall.EpollCtl(w.fd, syscall.EPOLL_CTL_DEL, fd, nil)
}

func (w *watch) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd >= 0 {
		_ = syscall.Close(w.fd)
		w.fd = -1
	}
}

// epollET is EPOLLET as the unsigned field wants it.
const epollET = 1 << 31

// unread reports whether a socket in the watch has received data that no
// reader has taken yet. evs is the caller's scratch space.
func (w *watch) unread(evs []syscall.EpollEvent) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.fd < 0 {
		return false
	}
	n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(w.fd),
		uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)), 0, 0, 0)
	if e != 0 {
		return false
	}
	var b [1]byte
	for _, ev := range evs[:n] {
		// The socket may have been closed, even reused, since the event:
		// a peek at it changes nothing either way.
		m, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(ev.Fd),
			uintptr(unsafe.Pointer(&b[0])), 1, syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if e == 0 && m > 0 {
			return true
		}
	}
	return false
}

// awaitReaders parks the calling worker until a reader has published what
// it read, or w.patience has passed, then lets the other runnable readers
// go first too.
func (w *watch) awaitReaders(t *time.Timer) {
	ch := make(chan struct{})
	if !w.wait.CompareAndSwap(nil, &ch) {
		p := w.wait.Load()
		if p == nil {
			return
		}
		ch = *p
	}
	t.Reset(w.patience)
	select {
	case <-ch:
		t.Stop()
	case <-t.C:
	}
	runtime.Gosched()
}

// readerDone wakes the workers waiting for readers. A reader calls it each
// time it has published all it read and goes back to the socket.
func (w *watch) readerDone() {
	if w.wait.Load() == nil {
		return
	}
	if p := w.wait.Swap(nil); p != nil {
		close(*p)
	}
}
