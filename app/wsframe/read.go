package wsframe

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"unicode/utf8"
)

// Opcodes a client may send besides those the server writes.
const (
	OpContinuation = 0x0
	OpBinary       = 0x2
)

// Header is the header of a frame a client sent (RFC 6455, section 5.2).
type Header struct {
	Fin        bool
	Compressed bool // RSV1: the first frame of a deflated message (RFC 7692)
	Op         byte
	Len        int // payload length
	Key        uint32
}

// IsControl reports whether the frame is a close, ping or pong.
func (h Header) IsControl() bool { return h.Op&0x8 != 0 }

// ProtocolError is a frame that breaks RFC 6455; the answer is a close
// with code 1002 and the error's text as reason.
type ProtocolError string

func (e ProtocolError) Error() string { return string(e) }

// ParseHeader reads the header of a client frame at the start of b. It
// returns the header's length, or 0 when b does not hold all of it yet.
// Whether RSV1 is allowed depends on the connection, so the caller checks
// that.
func ParseHeader(b []byte) (Header, int, error) {
	if len(b) < 2 {
		return Header{}, 0, nil
	}
	h := Header{Fin: b[0]&0x80 != 0, Compressed: b[0]&rsv1 != 0, Op: b[0] & 0x0F}
	switch {
	case b[0]&0x30 != 0:
		return h, 0, ProtocolError("reserved bits set")
	case h.Op > OpBinary && h.Op < OpClose, h.Op > OpPong:
		return h, 0, ProtocolError("reserved opcode")
	case b[1]&0x80 == 0:
		return h, 0, ProtocolError("frame not masked")
	}
	n, size := int(b[1]&0x7F), 2
	switch n {
	case 126:
		size = 4
	case 127:
		size = 10
	}
	size += 4 // the masking key
	if len(b) < size {
		return h, 0, nil
	}
	switch n {
	case 126:
		n = int(binary.BigEndian.Uint16(b[2:]))
	case 127:
		v := binary.BigEndian.Uint64(b[2:])
		if v > 1<<62 {
			return h, 0, ProtocolError("frame length out of range")
		}
		n = int(v)
	}
	h.Len = n
	h.Key = binary.LittleEndian.Uint32(b[size-4:])
	if h.IsControl() {
		switch {
		case !h.Fin:
			return h, 0, ProtocolError("fragmented control frame")
		case h.Len > MaxControlPayload:
			return h, 0, ProtocolError("control frame too long")
		case h.Compressed:
			return h, 0, ProtocolError("compressed control frame")
		}
	}
	return h, size, nil
}

// Unmask undoes the client's masking of a whole frame payload in place.
func Unmask(key uint32, b []byte) {
	if len(b) >= 8 {
		k := uint64(key) | uint64(key)<<32
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= byte(key)
		key = bits.RotateLeft32(key, -8)
	}
}

// ParseClose reads a close frame's payload: its status code (1005, "no
// status", when there is none) and its reason. A payload of one byte or a
// code no endpoint may send is a ProtocolError; a reason that is not UTF-8
// is reported as bad, which calls for 1007.
func ParseClose(p []byte) (code int, reason []byte, err error) {
	switch {
	case len(p) == 0:
		return CloseNoStatus, nil, nil
	case len(p) == 1:
		return 0, nil, ProtocolError("close frame of one byte")
	}
	code = int(binary.BigEndian.Uint16(p))
	if !validCloseCode(code) {
		return code, nil, ProtocolError("invalid close code")
	}
	if !utf8.Valid(p[2:]) {
		return code, nil, ErrBadReason
	}
	return code, p[2:], nil
}

// CloseNoStatus stands for a close frame without a status code; it is
// never sent on the wire.
const CloseNoStatus = 1005

// ErrBadReason is a close reason that is not UTF-8.
var ErrBadReason = errors.New("close reason is not utf-8")

// validCloseCode reports whether a peer may send code (RFC 6455 section
// 7.4, and the IANA registry).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	default:
		return code >= 3000 && code <= 4999
	}
}
