package pubsub

import (
	"sync"

	"github.com/chatserver/chat/app/wsframe"
)

// Message is one published text message, already encoded as the WebSocket
// frame a server sends. It is built once per publish and shared, read-only,
// by every subscriber that receives it.
type Message struct {
	frame []byte
	size  int // payload length; the frame is header + payload

	deflateOnce sync.Once
	deflated    []byte // the frame for permessage-deflate peers; see Deflated
}

// NewMessage encodes text as a message.
func NewMessage(text string) *Message {
	return NewPrefixed(text, nil)
}

// NewPrefixed encodes prefix followed by body as one message, in a single
// allocation: "<name>: <text>" is never assembled twice.
func NewPrefixed(prefix string, body []byte) *Message {
	n := len(prefix) + len(body)
	frame := make([]byte, 0, wsframe.HeaderLen(n)+n)
	frame = wsframe.AppendHeader(frame, wsframe.OpText, n)
	frame = append(append(frame, prefix...), body...)
	return &Message{frame: frame, size: n}
}

// Frame returns the encoded frame. Callers must not modify it.
func (m *Message) Frame() []byte { return m.frame }

// Deflated returns the frame for peers that use permessage-deflate: the
// payload compressed by d on the first call, then shared. Callers must not
// modify it.
func (m *Message) Deflated(d *wsframe.Deflater) []byte {
	m.deflateOnce.Do(func() {
		m.deflated = d.AppendText(nil, m.payload())
	})
	return m.deflated
}

// Text returns the message's payload.
func (m *Message) Text() string { return string(m.payload()) }

func (m *Message) payload() []byte { return m.frame[len(m.frame)-m.size:] }
