package pubsub

import "github.com/chatserver/chat/app/wsframe"

// Message is one published text message, already encoded as the WebSocket
// frame a server sends. It is encoded once per publish and shared,
// read-only, by every subscriber the publish reaches.
//
// Subscribers copy what they need before Send returns, so a publisher may
// reuse one Message for publish after publish (Set), and a chat connection
// publishes without allocating.
type Message struct {
	frame []byte
	size  int // payload length; the frame is header + payload

	deflated    []byte // the frame for permessage-deflate peers; see Deflated
	hasDeflated bool
}

// NewMessage encodes text as a new message.
func NewMessage(text string) *Message {
	m := &Message{}
	m.Set(text, nil)
	return m
}

// NewPrefixed encodes prefix followed by body as a new message.
func NewPrefixed(prefix string, body []byte) *Message {
	m := &Message{}
	m.Set(prefix, body)
	return m
}

// Set makes m the message prefix followed by body, reusing m's buffers:
// "<name>: <text>" is assembled once, straight into the frame.
func (m *Message) Set(prefix string, body []byte) {
	n := len(prefix) + len(body)
	frame := m.frame[:0]
	if cap(frame) < wsframe.HeaderLen(n)+n {
		frame = make([]byte, 0, wsframe.HeaderLen(n)+n)
	}
	frame = wsframe.AppendHeader(frame, wsframe.OpText, n)
	m.frame = append(append(frame, prefix...), body...)
	m.size = n
	m.hasDeflated = false
}

// Trim lets go of buffers that a large message grew past keep bytes, so
// that a Message kept for reuse by an idle connection stays small.
func (m *Message) Trim(keep int) {
	if cap(m.frame) > keep {
		m.frame = nil
	}
	if cap(m.deflated) > keep {
		m.deflated = nil
	}
}

// Frame returns the encoded frame. Callers must not modify it.
func (m *Message) Frame() []byte { return m.frame }

// Deflated returns the frame for peers that use permessage-deflate: the
// payload compressed by d on the first call for this message, then reused.
// Like Send, it is called by the publishing goroutine only.
func (m *Message) Deflated(d *wsframe.Deflater) []byte {
	if !m.hasDeflated {
		m.deflated = d.AppendText(m.deflated[:0], m.payload())
		m.hasDeflated = true
	}
	return m.deflated
}

// Text returns the message's payload.
func (m *Message) Text() string { return string(m.payload()) }

func (m *Message) payload() []byte { return m.frame[len(m.frame)-m.size:] }
