package wsframe

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
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

// Inflater decompresses the messages of peers that negotiated
// permessage-deflate. It keeps a pool of decompressors, which are costly
// to build. The zero value is ready to use.
type Inflater struct {
	pool sync.Pool // of io.ReadCloser that are also flate.Resetter
}

// ErrTooBig is a message that inflates to more than the limit.
var ErrTooBig = errors.New("message too big")

// deflateTail ends a message's deflate stream: RFC 7692 drops the empty
// block 00 00 ff ff from the end of every message, and a final empty
// stored block after it makes the reader stop there.
const deflateTail = "\x00\x00\xff\xff\x01\x00\x00\xff\xff"

// Append inflates the payload of a compressed message onto dst, failing
// with ErrTooBig once dst would grow past limit bytes.
func (f *Inflater) Append(dst, payload []byte, limit int) ([]byte, error) {
	src := io.MultiReader(bytes.NewReader(payload), strings.NewReader(deflateTail))
	fr, _ := f.pool.Get().(io.ReadCloser)
	if fr == nil {
		fr = flate.NewReader(src)
	} else if err := fr.(flate.Resetter).Reset(src, nil); err != nil {
		return dst, err
	}
	defer f.pool.Put(fr)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := fr.Read(dst[len(dst):min(cap(dst), limit+1)])
		dst = dst[:len(dst)+n]
		switch {
		case len(dst) > limit:
			return dst, ErrTooBig
		case err == io.EOF:
			return dst, nil
		case err != nil:
			return dst, err
		}
	}
}
