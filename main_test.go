package main

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// TestMain lets a test run this binary as the real server: with
// CHAT_RUN_MAIN=1 it runs main instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("CHAT_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const waitFor = 15 * time.Second

// startProcess runs the server as a child process on a free port and
// returns it, its address and its collected stderr.
func startProcess(t *testing.T, args ...string) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "CHAT_RUN_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	out := &lockedBuffer{done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		listening := regexp.MustCompile(`msg=listening addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			out.add(sc.Text())
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		out.close()
	}()
	select {
	case a := <-addr:
		return cmd, a, out
	case <-time.After(waitFor):
		t.Fatalf("server did not log its address; stderr:\n%s", out)
		return nil, "", nil
	}
}

// chatter connects and keeps sending until its connection ends; it
// reports how its connection ended.
type chatter struct {
	conn     *websocket.Conn
	received chan struct{} // closed after the first few chat lines came back
	ended    chan error    // the read error that ended the connection
}

func newChatter(t *testing.T, addr string, i int) *chatter {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: waitFor}
	conn, _, err := d.Dial("ws://"+addr+"/", http.Header{"Cookie": {fmt.Sprintf("username=c%d", i)}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &chatter{conn: conn, received: make(chan struct{}), ended: make(chan error, 1)}
	go c.read()
	go c.send()
	return c
}

func (c *chatter) read() {
	n := 0
	_ = c.conn.SetReadDeadline(time.Now().Add(waitFor))
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			c.ended <- err
			return
		}
		if strings.Contains(string(msg), ": ") {
			if n++; n == 20 {
				close(c.received)
			}
		}
	}
}

func (c *chatter) send() {
	for i := 0; ; i++ {
		_ = c.conn.SetWriteDeadline(time.Now().Add(waitFor))
		if c.conn.WriteMessage(websocket.TextMessage, []byte(fmt.Sprint(i))) != nil {
			return
		}
		time.Sleep(2 * time.Millisecond) // pacing the load, not synchronising
	}
}

func TestSIGTERMUnderLoad(t *testing.T) {
	cmd, addr, stderr := startProcess(t, "-rate-limit", "0", "-shutdown-timeout", "5s")
	chatters := make([]*chatter, 10)
	for i := range chatters {
		chatters[i] = newChatter(t, addr, i)
	}
	for i, c := range chatters {
		select {
		case <-c.received:
		case <-time.After(waitFor):
			t.Fatalf("c%d: no chat traffic", i)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v, want status 0", err)
		}
	case <-time.After(waitFor):
		t.Fatal("server still running after SIGTERM")
	}
	for i, c := range chatters {
		err := <-c.ended
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
			t.Errorf("c%d ended with %v, want close 1001", i, err)
		}
	}
	stderr.wait()
	for _, bad := range []string{"panic", "concurrent write", "DATA RACE"} {
		if strings.Contains(stderr.String(), bad) {
			t.Errorf("stderr mentions %q:\n%s", bad, stderr)
		}
	}
}

func TestBadFlagExitsNonZero(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-queue-limit", "lots")
	cmd.Env = append(os.Environ(), "CHAT_RUN_MAIN=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exit %v, want non-zero; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "-queue-limit") {
		t.Errorf("output does not name the bad flag:\n%s", out)
	}
}

// lockedBuffer collects lines from one goroutine for reading in another.
type lockedBuffer struct {
	mu    sync.Mutex
	lines []string
	done  chan struct{} // closed when the stream ends
}

func (b *lockedBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, line)
}

func (b *lockedBuffer) close() { close(b.done) }

// wait blocks until the stream has ended, at most waitFor.
func (b *lockedBuffer) wait() {
	select {
	case <-b.done:
	case <-time.After(waitFor):
	}
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}
