package wsframe

import (
	"bytes"
	"compress/flate"
	"strings"
	"sync"
)

// MinDeflate is the smallest payload worth compressing; shorter ones are
// sent as they are, which permessage-deflate allows message by message.
const MinDeflate = 128

// Deflater compresses text frames for peers that negotiated
// permessage-deflate without context takeover (RFC 7692), the only mode the
// library offers: each message is compressed on its own, so one compressed
// frame serves every such peer. It keeps a pool of compressors, which are
// costly to build. The zero value is ready to use.
type Deflater struct {
	pool sync.Pool // of *flate.Writer
}

// AppendText appends to dst a text frame carrying payload, compressed when
// that makes it smaller.
func (d *Deflater) AppendText(dst, payload []byte) []byte {
	if len(payload) >= MinDeflate {
		var buf bytes.Buffer
		buf.Grow(len(payload) / 2)
		fw, _ := d.pool.Get().(*flate.Writer)
		if fw == nil {
			fw, _ = flate.NewWriter(&buf, flate.BestSpeed)
		} else {
			fw.Reset(&buf)
		}
		_, _ = fw.Write(payload)
		_ = fw.Flush() // ends with the empty block 00 00 ff ff, which RFC 7692 drops
		d.pool.Put(fw)
		if z := buf.Bytes(); len(z) > 4 && len(z)-4 < len(payload) {
			z = z[:len(z)-4]
			dst = AppendHeader(dst, OpText, len(z))
			dst[len(dst)-HeaderLen(len(z))] |= rsv1
			return append(dst, z...)
		}
	}
	return append(AppendHeader(dst, OpText, len(payload)), payload...)
}

// rsv1 marks a compressed message's first frame.
const rsv1 = 0x40

// OffersDeflate reports whether a Sec-WebSocket-Extensions request header
// offers permessage-deflate, which the library then accepts when
// compression is enabled.
func OffersDeflate(extensions string) bool {
	for _, ext := range strings.Split(extensions, ",") {
		if strings.HasPrefix(strings.TrimSpace(ext), "permessage-deflate") {
			return true
		}
	}
	return false
}
