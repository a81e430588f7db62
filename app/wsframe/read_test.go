package wsframe_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/chatserver/chat/app/wsframe"
)

// clientFrame builds a masked frame as a client sends it: b0 is the first
// byte (FIN, RSV bits, opcode).
func clientFrame(b0 byte, payload []byte, key uint32) []byte {
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xFFFF:
		f = binary.BigEndian.AppendUint16(append(f, 0x80|126), uint16(n))
	default:
		f = binary.BigEndian.AppendUint64(append(f, 0x80|127), uint64(n))
	}
	var k [4]byte
	binary.LittleEndian.PutUint32(k[:], key)
	f = append(f, k[:]...)
	for i, b := range payload {
		f = append(f, b^k[i%4])
	}
	return f
}

func TestParseHeaderReadsWhatClientsSend(t *testing.T) {
	for _, n := range []int{0, 5, 125, 126, 200, 0xFFFF, 0x10000, 100000} {
		payload := bytes.Repeat([]byte("x"), n)
		frame := clientFrame(0x80|wsframe.OpText, payload, 0xA1B2C3D4)
		size := len(frame) - n
		// Every prefix shorter than the header asks for more.
		for i := range size {
			if _, got, err := wsframe.ParseHeader(frame[:i]); got != 0 || err != nil {
				t.Fatalf("len %d: prefix of %d bytes parsed as %d, %v; want 0, nil", n, i, got, err)
			}
		}
		h, got, err := wsframe.ParseHeader(frame)
		if err != nil || got != size {
			t.Fatalf("len %d: header length %d, %v; want %d, nil", n, got, err, size)
		}
		if !h.Fin || h.Compressed || h.Op != wsframe.OpText || h.Len != n || h.IsControl() {
			t.Fatalf("len %d: parsed %+v", n, h)
		}
		body := frame[size:]
		wsframe.Unmask(h.Key, body)
		if !bytes.Equal(body, payload) {
			t.Fatalf("len %d: payload does not unmask to what was sent", n)
		}
	}

	h, _, err := wsframe.ParseHeader(clientFrame(0x40|wsframe.OpText, []byte("z"), 1))
	if err != nil || h.Fin || !h.Compressed || h.Op != wsframe.OpText {
		t.Errorf("non-final compressed frame parsed as %+v, %v", h, err)
	}
	h, _, err = wsframe.ParseHeader(clientFrame(0x80|wsframe.OpPing, []byte("p"), 1))
	if err != nil || !h.IsControl() {
		t.Errorf("ping parsed as %+v, %v", h, err)
	}
}

func TestParseHeaderRefusesWhatRFC6455Forbids(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 126)
	unmasked := clientFrame(0x80|wsframe.OpText, []byte("hi"), 0)
	unmasked[1] &^= 0x80
	hugeLen := []byte{0x80 | wsframe.OpText, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"RSV2", clientFrame(0x80|0x20|wsframe.OpText, nil, 1)},
		{"RSV3", clientFrame(0x80|0x10|wsframe.OpText, nil, 1)},
		{"opcode 3", clientFrame(0x80|0x3, nil, 1)},
		{"opcode 0xB", clientFrame(0x80|0xB, nil, 1)},
		{"not masked", unmasked},
		{"fragmented ping", clientFrame(wsframe.OpPing, nil, 1)},
		{"long ping", clientFrame(0x80|wsframe.OpPing, long, 1)},
		{"compressed close", clientFrame(0x80|0x40|wsframe.OpClose, nil, 1)},
		{"64-bit length with the top bit set", hugeLen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := wsframe.ParseHeader(tc.frame)
			var pe wsframe.ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a ProtocolError", err)
			}
		})
	}
}

func TestUnmaskMatchesByteByByte(t *testing.T) {
	for n := range 40 {
		key := rand.Uint32()
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(rand.IntN(256))
		}
		frame := clientFrame(0x80|wsframe.OpText, payload, key)
		body := frame[len(frame)-n:]
		wsframe.Unmask(key, body)
		if !bytes.Equal(body, payload) {
			t.Fatalf("len %d key %#x: got %x, want %x", n, key, body, payload)
		}
	}
}

func TestParseClose(t *testing.T) {
	withCode := func(code int, reason string) []byte {
		return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
	}
	for _, tc := range []struct {
		name    string
		payload []byte
		code    int
		reason  string
		err     string // "", "protocol" or "reason"
	}{
		{"empty", nil, wsframe.CloseNoStatus, "", ""},
		{"normal", withCode(1000, "bye"), 1000, "bye", ""},
		{"going away", withCode(1001, ""), 1001, "", ""},
		{"application code", withCode(4321, "x"), 4321, "x", ""},
		{"one byte", []byte{3}, 0, "", "protocol"},
		{"no status on the wire", withCode(1005, ""), 0, "", "protocol"},
		{"abnormal on the wire", withCode(1006, ""), 0, "", "protocol"},
		{"TLS failure on the wire", withCode(1015, ""), 0, "", "protocol"},
		{"below 1000", withCode(999, ""), 0, "", "protocol"},
		{"unassigned 1100", withCode(1100, ""), 0, "", "protocol"},
		{"5000", withCode(5000, ""), 0, "", "protocol"},
		{"reason not utf-8", withCode(1000, "\xff"), 0, "", "reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, reason, err := wsframe.ParseClose(tc.payload)
			var pe wsframe.ProtocolError
			switch tc.err {
			case "protocol":
				if !errors.As(err, &pe) {
					t.Fatalf("got %v, want a ProtocolError", err)
				}
			case "reason":
				if !errors.Is(err, wsframe.ErrBadReason) {
					t.Fatalf("got %v, want ErrBadReason", err)
				}
			default:
				if err != nil || code != tc.code || string(reason) != tc.reason {
					t.Fatalf("got %d %q %v, want %d %q", code, reason, err, tc.code, tc.reason)
				}
			}
		})
	}
}

func TestInflaterUndoesDeflater(t *testing.T) {
	var d wsframe.Deflater
	var f wsframe.Inflater
	text := []byte(strings.Repeat("inflate me again ", 500)) // 8,500 bytes
	_, z := parse(t, d.AppendText(nil, text))
	if len(z) >= len(text) {
		t.Fatalf("the deflater did not compress (%d bytes)", len(z))
	}
	for range 3 { // the second and third use a pooled decompressor
		got, err := f.Append([]byte("prefix:"), z, 100000)
		if err != nil || string(got) != "prefix:"+string(text) {
			t.Fatalf("inflated %d bytes, %v; want the %d bytes deflated, after the prefix", len(got), err, len(text))
		}
	}
	if _, err := f.Append(nil, z, len(text)-1); !errors.Is(err, wsframe.ErrTooBig) {
		t.Errorf("limit one byte short: got %v, want ErrTooBig", err)
	}
	if got, err := f.Append(nil, z, len(text)); err != nil || len(got) != len(text) {
		t.Errorf("limit exactly the size: got %d bytes, %v", len(got), err)
	}
	if _, err := f.Append(nil, []byte{0xff, 0xff, 0xff}, 1000); err == nil {
		t.Error("garbage inflated without an error")
	}
}
