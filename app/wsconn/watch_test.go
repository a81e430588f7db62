package wsconn

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection and the file
// descriptor of the server's end.
func tcpPair(t testing.TB) (server, client net.Conn, fd int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	fd, _ = rawSocket(server)
	if fd < 0 {
		t.Fatal("no file descriptor under a TCP connection")
	}
	return server, client, fd
}

// unreadWithin asks the watch until it reports unread input or the
// deadline passes: the kernel queues the event as the data arrives, which
// on loopback is before Write returns, but the test does not rely on it.
func unreadWithin(w *watch, d time.Duration) bool {
	evs := make([]syscall.EpollEvent, 4)
	for end := time.Now().Add(d); time.Now().Before(end); {
		if w.unread(evs) {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

func TestWatchUnread(t *testing.T) {
	w := newWatch()
	defer w.close()
	server, client, fd := tcpPair(t)
	w.add(fd)
	evs := make([]syscall.EpollEvent, 4)

	if w.unread(evs) {
		t.Fatal("unread input reported before the peer sent anything")
	}
	if _, err := client.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if !unreadWithin(w, 5*time.Second) {
		t.Fatal("input the peer sent was not reported")
	}

	// The same input, once a reader has taken it, is not reported again,
	// even though its event is still queued in the watch.
	if _, err := client.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := 0
	for got < len("hello")+len("again") { // both writes, however they arrive
		n, err := server.Read(buf[got:])
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	if w.unread(evs) {
		t.Fatal("input already read was reported as unread")
	}

	// A socket removed from the watch is not reported.
	w.remove(fd)
	if _, err := client.Write([]byte("gone")); err != nil {
		t.Fatal(err)
	}
	if unreadWithin(w, 50*time.Millisecond) {
		t.Fatal("a socket removed from the watch was reported")
	}
}

func TestWatchClosedIsQuiet(t *testing.T) {
	w := newWatch()
	_, client, fd := tcpPair(t)
	w.add(fd)
	w.close()
	w.add(fd)
	w.remove(fd)
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if w.unread(make([]syscall.EpollEvent, 4)) {
		t.Fatal("a closed watch reported input")
	}
}

// await runs awaitReaders on a goroutine and returns a channel closed when
// it returns.
func await(w *watch) <-chan struct{} {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	done := make(chan struct{})
	go func() {
		w.awaitReaders(timer)
		close(done)
	}()
	return done
}

func TestAwaitReadersWokenByReader(t *testing.T) {
	w := newWatch()
	defer w.close()
	w.patience = time.Hour // only readerDone can end the wait

	done := await(w)
	deadline := time.Now().Add(5 * time.Second)
	for w.wait.Load() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the worker never started waiting")
		}
		time.Sleep(10 * time.Microsecond)
	}
	w.readerDone()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("awaitReaders did not return after readerDone")
	}
	if w.wait.Load() != nil {
		t.Fatal("the wait is still registered after the wake")
	}
}

func TestAwaitReadersGivesUp(t *testing.T) {
	w := newWatch()
	defer w.close()
	w.patience = time.Millisecond

	select {
	case <-await(w):
	case <-time.After(5 * time.Second):
		t.Fatal("awaitReaders with no reader did not return")
	}
	w.readerDone() // clears the registration the wait left behind
	if w.wait.Load() != nil {
		t.Fatal("readerDone left a wait registered")
	}
}
