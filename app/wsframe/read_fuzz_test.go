package wsframe_test

import (
	"bytes"
	"testing"

	"github.com/chatserver/chat/app/wsframe"
)

// ParseHeader takes whatever a client sends: it must never panic, never
// claim more bytes than it was given, never let through a control frame
// that RFC 6455 forbids, and give the same answer however the bytes are
// cut.
func FuzzParseHeader(f *testing.F) {
	f.Add(clientFrame(0x80|wsframe.OpText, []byte("hello"), 7))
	f.Add(clientFrame(0x80|wsframe.OpPing, []byte("p"), 9))
	f.Add(clientFrame(0x40|wsframe.OpText, bytes.Repeat([]byte("x"), 300), 3))
	f.Add(clientFrame(0x80|wsframe.OpBinary, bytes.Repeat([]byte("y"), 70000), 5)[:20])
	f.Add([]byte{0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := wsframe.ParseHeader(b)
		if err != nil || n == 0 {
			if n != 0 {
				t.Fatalf("error %v with header length %d", err, n)
			}
			return
		}
		want := 6
		switch b[1] & 0x7F {
		case 126:
			want = 8
		case 127:
			want = 14
		}
		if n != want || n > len(b) {
			t.Fatalf("header length %d of %d bytes, want %d", n, len(b), want)
		}
		if h.Len < 0 || h.IsControl() && (!h.Fin || h.Len > wsframe.MaxControlPayload || h.Compressed) {
			t.Fatalf("accepted %+v", h)
		}
		for i := range n {
			if _, m, err := wsframe.ParseHeader(b[:i]); m != 0 || err != nil {
				t.Fatalf("prefix of %d bytes: %d, %v; want 0, nil", i, m, err)
			}
		}
	})
}
