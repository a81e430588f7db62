// Package wsframe encodes the frames a WebSocket server sends (RFC 6455,
// section 5): final, unmasked, one buffer per frame. The delivery path
// writes these bytes straight to the socket, so that a message published to
// many subscribers is encoded once and many frames go out in one write.
package wsframe

import "encoding/binary"

// Opcodes, RFC 6455 section 5.2.
const (
	OpText  = 0x1
	OpClose = 0x8
	OpPing  = 0x9
	OpPong  = 0xA
)

// MaxControlPayload is the largest payload a control frame may carry.
const MaxControlPayload = 125

// HeaderLen returns the length of the header of a frame whose payload is n
// bytes long.
func HeaderLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xFFFF:
		return 4
	default:
		return 10
	}
}

// AppendHeader appends the header of a final, unmasked frame with opcode op
// and an n-byte payload to dst.
func AppendHeader(dst []byte, op byte, n int) []byte {
	dst = append(dst, 0x80|op)
	switch {
	case n < 126:
		return append(dst, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(dst, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 127), uint64(n))
	}
}

// AppendClose appends a close frame with code and reason to dst. A reason
// too long for a control frame is cut short at a byte boundary; callers use
// short ASCII reasons.
func AppendClose(dst []byte, code int, reason string) []byte {
	if len(reason) > MaxControlPayload-2 {
		reason = reason[:MaxControlPayload-2]
	}
	dst = AppendHeader(dst, OpClose, 2+len(reason))
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// AppendPing appends a ping frame with an empty payload to dst.
func AppendPing(dst []byte) []byte {
	return AppendHeader(dst, OpPing, 0)
}

// AppendPong appends a pong frame that echoes data to dst. The reader has
// already refused pings longer than MaxControlPayload.
func AppendPong(dst, data []byte) []byte {
	return append(AppendHeader(dst, OpPong, len(data)), data...)
}
