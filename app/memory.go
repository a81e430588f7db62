package app

import (
	"context"
	"runtime/debug"
	"time"
)

// returnMemory hands freed memory back to the operating system once
// publishing has been quiet for a whole period after a busy one. Go returns
// freed pages to the OS only slowly; after a burst (10,000 joins fan out to
// 50 million deliveries) that would leave the resident size at the burst's
// high-water mark long after the connections went idle. It runs until ctx
// ends.
func (a *App) returnMemory(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	last := a.registry.Stats().Publishes
	busy := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := a.registry.Stats().Publishes
		switch {
		case n != last:
			busy = true
		case busy:
			// Twice: the first collection moves pooled buffers into
			// sync.Pool's victim cache, the second frees them.
			debug.FreeOSMemory()
			debug.FreeOSMemory()
			busy = false
		}
		last = n
	}
}
