package wsframe_test

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/chatserver/chat/app/wsframe"
)

// parse splits a server frame into its first byte and payload.
func parse(t *testing.T, frame []byte) (byte, []byte) {
	t.Helper()
	n, off := int(frame[1]&0x7f), 2
	switch n {
	case 126:
		n, off = int(binary.BigEndian.Uint16(frame[2:])), 4
	case 127:
		n, off = int(binary.BigEndian.Uint64(frame[2:])), 10
	}
	if frame[1]&0x80 != 0 {
		t.Fatal("server frame is masked")
	}
	if len(frame) != off+n {
		t.Fatalf("frame is %d bytes, header says %d", len(frame), off+n)
	}
	return frame[0], frame[off:]
}

func TestDeflaterAppendText(t *testing.T) {
	random := make([]byte, 1000)
	for i := range random {
		random[i] = byte(rand.IntN(256))
	}
	var d wsframe.Deflater
	for _, tc := range []struct {
		name       string
		payload    []byte
		compressed bool
	}{
		{"empty", nil, false},
		{"short", []byte("hello"), false},
		{"just under the threshold", bytes.Repeat([]byte("a"), wsframe.MinDeflate-1), false},
		{"repetitive", []byte(strings.Repeat("compress me ", 100)), true},
		{"incompressible", random, false},
		{"large", []byte(strings.Repeat("0123456789", 10000)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, payload := parse(t, d.AppendText(nil, tc.payload))
			if first&0x0f != wsframe.OpText || first&0x80 == 0 {
				t.Fatalf("first byte %#x: want a final text frame", first)
			}
			if got := first&0x40 != 0; got != tc.compressed {
				t.Fatalf("RSV1 (compressed) = %v, want %v", got, tc.compressed)
			}
			if !tc.compressed {
				if !bytes.Equal(payload, tc.payload) {
					t.Fatal("uncompressed payload differs")
				}
				return
			}
			// RFC 7692: append the empty block the sender removed, inflate.
			r := flate.NewReader(io.MultiReader(bytes.NewReader(payload),
				bytes.NewReader([]byte{0, 0, 0xff, 0xff})))
			got, err := io.ReadAll(r)
			if err != nil && err != io.ErrUnexpectedEOF {
				t.Fatalf("inflate: %v", err)
			}
			if !bytes.Equal(got, tc.payload) {
				t.Fatalf("inflated %d bytes, want the %d sent", len(got), len(tc.payload))
			}
			if len(payload) >= len(tc.payload) {
				t.Errorf("compressed to %d bytes from %d", len(payload), len(tc.payload))
			}
		})
	}
}

func TestOffersDeflate(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{"permessage-deflate", true},
		{"permessage-deflate; client_max_window_bits", true},
		{"x-webkit-deflate-frame, permessage-deflate", true},
		{"x-webkit-deflate-frame", false},
	} {
		if got := wsframe.OffersDeflate(tc.header); got != tc.want {
			t.Errorf("OffersDeflate(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestCloseFrame(t *testing.T) {
	first, payload := parse(t, wsframe.AppendClose(nil, 1008, strings.Repeat("r", 200)))
	if first != 0x80|wsframe.OpClose {
		t.Fatalf("first byte %#x, want a final close frame", first)
	}
	if len(payload) != wsframe.MaxControlPayload {
		t.Errorf("close payload %d bytes, want it cut to %d", len(payload), wsframe.MaxControlPayload)
	}
	if code := binary.BigEndian.Uint16(payload); code != 1008 {
		t.Errorf("code %d, want 1008", code)
	}
}
