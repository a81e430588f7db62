package app_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/chatserver/chat/app"
	"github.com/chatserver/chat/app/wsconn"
)

// The server parses the frames its clients send itself. These tests send
// frames byte by byte as RFC 6455 allows (and forbids) them, on a raw TCP
// connection, and read the server's answers.

// rawClient is a WebSocket client with no library in between.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

// rawDial upgrades a raw TCP connection as name, with extra header lines,
// and writes early right behind the request, before the server's answer.
func rawDial(t *testing.T, s *server, name, extra string, early []byte) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.addr, waitFor)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(deadline())
	req := "GET / HTTP/1.1\r\nHost: " + s.addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Cookie: username=" + name + "\r\n" + extra + "\r\n"
	if _, err := conn.Write(append([]byte(req), early...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %s", resp.Status)
	}
	return &rawClient{t: t, conn: conn, br: br}
}

// frame builds a masked client frame; b0 is its first byte.
func frame(b0 byte, payload []byte) []byte {
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xFFFF:
		f = binary.BigEndian.AppendUint16(append(f, 0x80|126), uint16(n))
	default:
		f = binary.BigEndian.AppendUint64(append(f, 0x80|127), uint64(n))
	}
	key := []byte{0x37, 0xfa, 0x21, 0x3d}
	f = append(f, key...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

const (
	fin  = 0x80
	rsv1 = 0x40
	text = 0x1
	bin  = 0x2
	cont = 0x0
	cls  = 0x8
	ping = 0x9
	pong = 0xA
)

func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

func (c *rawClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// writeBytewise writes b one byte per write, so that frames reach the
// server in pieces.
func (c *rawClient) writeBytewise(b []byte) {
	c.t.Helper()
	for i := range b {
		c.write(b[i : i+1])
	}
}

// next reads the server's next frame: its first byte and payload.
func (c *rawClient) next() (byte, []byte) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(deadline())
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	if h[1]&0x80 != 0 {
		c.t.Fatal("server frame is masked")
	}
	n := int(h[1] & 0x7F)
	switch n {
	case 126:
		var l [2]byte
		_, _ = io.ReadFull(c.br, l[:])
		n = int(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		_, _ = io.ReadFull(c.br, l[:])
		n = int(binary.BigEndian.Uint64(l[:]))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		c.t.Fatalf("read payload: %v", err)
	}
	return h[0], p
}

// expect reads text messages and checks them; pongs are skipped.
func (c *rawClient) expect(want ...string) {
	c.t.Helper()
	for _, w := range want {
		b0, p := c.next()
		for b0&0x0F == pong {
			b0, p = c.next()
		}
		if b0 != fin|text || string(p) != w {
			c.t.Fatalf("got frame %#x %q, want text %q", b0, short(string(p)), short(w))
		}
	}
}

// expectClose reads until the server's close frame and returns its code
// and reason.
func (c *rawClient) expectClose() (int, string) {
	c.t.Helper()
	for {
		b0, p := c.next()
		if b0&0x0F != cls {
			continue
		}
		if len(p) < 2 {
			c.t.Fatalf("close frame without a code: %x", p)
		}
		return int(binary.BigEndian.Uint16(p)), string(p[2:])
	}
}

// expectEnd checks that the server closes the TCP connection.
func (c *rawClient) expectEnd() {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(deadline())
	if n, err := io.Copy(io.Discard, c.br); err != nil {
		c.t.Fatalf("waiting for the server to close the connection: %v (after %d bytes)", err, n)
	}
}

func TestFragmentsAndInterleavedPingsMakeOneMessage(t *testing.T) {
	s := startServer(t, app.Config{})
	other := joined(t, s, "other")
	c := rawDial(t, s, "frag", "", nil)
	c.expect("frag has entered the chat")
	other.skipTo("frag has entered the chat")

	var b []byte
	b = append(b, frame(text, []byte("héllo, "))...)
	b = append(b, frame(fin|ping, []byte("are you there"))...)
	b = append(b, frame(cont, []byte("wor"))...)
	b = append(b, frame(fin|pong, nil)...) // unsolicited, ignored
	b = append(b, frame(fin|cont, []byte("ld"))...)
	b = append(b, frame(fin|text, []byte("next"))...)
	c.writeBytewise(b)

	b0, p := c.next()
	if b0 != fin|pong || string(p) != "are you there" {
		t.Fatalf("answer to the ping: frame %#x %q, want a pong with the ping's payload", b0, p)
	}
	c.expect("frag: héllo, world", "frag: next")
	other.expect("frag: héllo, world", "frag: next")
}

func TestFramesSentBeforeTheUpgradeAnswerAreKept(t *testing.T) {
	s := startServer(t, app.Config{})
	early := append(frame(fin|text, []byte("too eager")), frame(fin|text, []byte("me too"))...)
	c := rawDial(t, s, "eager", "", early)
	c.expect("eager has entered the chat", "eager: too eager", "eager: me too")
}

func TestLargeFramesAndTheirLengthForms(t *testing.T) {
	s := startServer(t, app.Config{})
	c := rawDial(t, s, "big", "", nil)
	c.expect("big has entered the chat")
	for _, n := range []int{125, 126, 0xFFFF, 0x10000} {
		msg := strings.Repeat("é", n/2) + strings.Repeat("x", n%2)
		c.write(frame(fin|text, []byte(msg)))
		c.expect("big: " + msg)
	}
}

func TestCompressedFragmentedMessage(t *testing.T) {
	s := startServer(t, app.Config{Conn: wsconn.Config{Compression: true}})
	c := rawDial(t, s, "zip", "Sec-WebSocket-Extensions: permessage-deflate\r\n", nil)
	c.expect("zip has entered the chat")

	msg := strings.Repeat("squeeze this line ", 200)
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	_, _ = fw.Write([]byte(msg))
	_ = fw.Flush()
	data := bytes.TrimSuffix(z.Bytes(), []byte{0, 0, 0xff, 0xff})
	half := len(data) / 2
	c.write(append(frame(rsv1|text, data[:half]), frame(fin|cont, data[half:])...))

	// The answer is compressed too; undo it.
	b0, p := c.next()
	if b0 != fin|rsv1|text {
		t.Fatalf("first byte %#x, want a compressed final text frame", b0)
	}
	r := flate.NewReader(io.MultiReader(bytes.NewReader(p), strings.NewReader("\x00\x00\xff\xff\x01\x00\x00\xff\xff")))
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "zip: "+msg {
		t.Fatalf("inflated %d bytes (%v), want %q", len(got), err, short("zip: "+msg))
	}
}

func TestProtocolErrorsCloseWith1002(t *testing.T) {
	unmasked := frame(fin|text, []byte("hi"))
	unmasked[1] &^= 0x80
	for _, tc := range []struct {
		name  string
		bytes []byte
		code  int
	}{
		{"unmasked frame", unmasked, 1002},
		{"reserved bit", frame(fin|0x20|text, []byte("hi")), 1002},
		{"reserved opcode", frame(fin|0x3, nil), 1002},
		{"fragmented ping", frame(ping, nil), 1002},
		{"ping over 125 bytes", frame(fin|ping, bytes.Repeat([]byte("p"), 126)), 1002},
		{"continuation first", frame(fin|cont, []byte("x")), 1002},
		{"new message inside a fragmented one", append(frame(text, []byte("a")), frame(fin|text, []byte("b"))...), 1002},
		{"compressed without negotiating it", frame(fin|rsv1|text, []byte("x")), 1002},
		{"close of one byte", frame(fin|cls, []byte{3}), 1002},
		{"close with 1005 on the wire", frame(fin|cls, closePayload(1005, "")), 1002},
		{"close with code 999", frame(fin|cls, closePayload(999, "")), 1002},
		{"close reason not UTF-8", frame(fin|cls, closePayload(1000, "\xff")), 1007},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, app.Config{})
			other := joined(t, s, "other")
			c := rawDial(t, s, "rude", "", nil)
			c.expect("rude has entered the chat")
			other.skipTo("rude has entered the chat")
			c.write(tc.bytes)
			if code, _ := c.expectClose(); code != tc.code {
				t.Fatalf("closed with %d, want %d", code, tc.code)
			}
			// Nothing after a broken frame can be trusted: the server hangs up
			// without waiting for a close frame.
			c.expectEnd()
			other.expect("rude has left the chat")
		})
	}
}

func TestClosingHandshakeFromTheClient(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		want    []byte
	}{
		{"with a code", closePayload(4000, "done"), closePayload(4000, "")},
		{"without a code", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, app.Config{})
			c := rawDial(t, s, "polite", "", nil)
			c.expect("polite has entered the chat")
			c.write(frame(fin|cls, tc.payload))
			b0, p := c.next()
			if b0 != fin|cls || !bytes.Equal(p, tc.want) {
				t.Fatalf("answer %#x %x, want a close frame with %x", b0, p, tc.want)
			}
			c.expectEnd()
		})
	}
}

// A frame over the limit is refused with 1009 and skipped as it arrives,
// so the client's close frame behind it still ends the handshake at once.
func TestOversizedFrameIsSkippedUntilTheClose(t *testing.T) {
	s := startServer(t, app.Config{Conn: wsconn.Config{MaxMessage: 1000, CloseTimeout: time.Minute}})
	c := rawDial(t, s, "huge", "", nil)
	c.expect("huge has entered the chat")
	c.write(frame(fin|text, bytes.Repeat([]byte("h"), 200000)))
	if code, _ := c.expectClose(); code != websocket.CloseMessageTooBig {
		t.Fatalf("closed with %d, want %d", code, websocket.CloseMessageTooBig)
	}
	c.write(frame(fin|cls, closePayload(websocket.CloseMessageTooBig, "")))
	c.expectEnd() // well before the minute of CloseTimeout
}

func TestFragmentedMessageOverTheLimit(t *testing.T) {
	s := startServer(t, app.Config{Conn: wsconn.Config{MaxMessage: 1000}})
	c := rawDial(t, s, "sly", "", nil)
	c.expect("sly has entered the chat")
	part := bytes.Repeat([]byte("s"), 600)
	c.write(append(frame(text, part), frame(fin|cont, part)...))
	if code, _ := c.expectClose(); code != websocket.CloseMessageTooBig {
		t.Fatalf("closed with %d, want %d", code, websocket.CloseMessageTooBig)
	}
}
