package wsconn

import "sync"

// bufferPool lends the buffers for queued frames and for reading messages,
// so that an idle connection holds none: a queue takes a buffer when a frame
// arrives and gives it back once written, a read keeps one only until the
// next read.
type bufferPool struct{ pool sync.Pool }

// maxPooled is the largest buffer worth keeping; a larger one, grown by a
// burst, goes to the garbage collector instead of pinning memory.
const maxPooled = 256 << 10

func (p *bufferPool) get() *[]byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 4096)
	return &b
}

func (p *bufferPool) put(b *[]byte) {
	if cap(*b) > maxPooled {
		return
	}
	*b = (*b)[:0]
	p.pool.Put(b)
}
