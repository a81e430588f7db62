package pubsub_test

import (
	"fmt"
	"testing"

	"github.com/chatserver/chat/app/pubsub"
)

// sink copies each frame into its own buffer, as a connection's queue does,
// and empties it now and then, as a writer would. Its buffer never grows,
// so the benchmark counts the registry's allocations only.
type sink struct{ buf []byte }

func newSink() *sink { return &sink{buf: make([]byte, 0, 8<<10)} }

func (s *sink) Send(m *pubsub.Message) pubsub.Status {
	if len(s.buf)+len(m.Frame()) > cap(s.buf) {
		s.buf = s.buf[:0]
	}
	s.buf = append(s.buf, m.Frame()...)
	return pubsub.Queued
}

// BenchmarkPublish publishes a 40-byte chat line to N subscribers. A
// publish must allocate nothing, whatever N.
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			r := pubsub.New()
			for range n {
				r.Subscribe("t", newSink())
			}
			body := []byte("0123456789012345678901234567890")
			var m pubsub.Message // reused, as a chat connection does
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				m.Set("c12: ", body)
				r.Publish("t", &m)
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
