// Package pubsub is the topic registry: Bun's publish-subscribe API in Go.
// Connections subscribe to named topics, and a message published to a topic
// is handed to each of its subscribers. The registry knows nothing about
// HTTP or Fiber; a subscriber is anything that can queue a message without
// blocking.
package pubsub

import (
	"sort"
	"sync"
	"sync/atomic"
)

// Subscriber receives published messages.
//
// Send is called with the registry's read lock held, possibly from many
// publishing goroutines at once. It must not block and must not call back
// into the registry: it queues the message for the subscriber's own writer,
// or refuses it, and reports which. It must not keep m after returning
// (copy the frame): the publisher reuses it.
type Subscriber interface {
	Send(m *Message) Status
}

// Status is what Send did with one message.
type Status int

// The outcomes of Send.
const (
	// Queued means the message will be written to the subscriber.
	Queued Status = iota
	// Dropped means the subscriber's queue was full and, under the drop
	// policy, this message was skipped for it.
	Dropped
	// ClosedSlow means the subscriber's queue was full and, under the
	// close policy, the subscriber is now being disconnected.
	ClosedSlow
	// Closing means the subscriber is already on its way out and takes no
	// more messages.
	Closing
)

// Result sums up one publish, like the send status Bun reports.
type Result struct {
	Delivered int // subscribers that queued the message
	Dropped   int // subscribers that skipped it (drop policy)
	Closed    int // subscribers disconnected as slow consumers by this publish
}

// Stats are the registry's running totals since it was created.
type Stats struct {
	Publishes  uint64 // Publish and PublishExcept calls
	Deliveries uint64 // messages queued to a subscriber
	Drops      uint64 // messages skipped under the drop policy
	SlowCloses uint64 // subscribers closed as slow consumers
}

// Registry maps topics to their subscribers. It is safe for concurrent use.
//
// mu guards topics and byConn. Publishing holds the read lock while it hands
// the message to each subscriber; Send never blocks and does no I/O, so a
// publish to N subscribers holds the lock for N short queue appends.
// Subscribe and Unsubscribe take the write lock.
//
// Subscribe and Unsubscribe report the topic's subscriber count afterwards:
// a count of 1 after Subscribe and 0 after Unsubscribe mark the moments a
// topic gains its first and loses its last local subscriber, which is when a
// backplane between server processes must start or stop listening.
type Registry struct {
	mu     sync.RWMutex
	topics map[string]*topic
	byConn map[Subscriber]map[string]struct{}

	publishes  atomic.Uint64
	deliveries atomic.Uint64
	drops      atomic.Uint64
	slowCloses atomic.Uint64
}

// topic is one topic's subscriber set: a slice to iterate quickly on
// publish, and an index into it for constant-time removal.
type topic struct {
	subs  []Subscriber
	index map[Subscriber]int
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{
		topics: make(map[string]*topic),
		byConn: make(map[Subscriber]map[string]struct{}),
	}
}

// Subscribe adds s to topic and returns the topic's subscriber count. A
// second Subscribe of the same pair changes nothing.
func (r *Registry) Subscribe(name string, s Subscriber) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.topics[name]
	if t == nil {
		t = &topic{index: make(map[Subscriber]int)}
		r.topics[name] = t
	}
	if _, ok := t.index[s]; ok {
		return len(t.subs)
	}
	t.index[s] = len(t.subs)
	t.subs = append(t.subs, s)

	mine := r.byConn[s]
	if mine == nil {
		mine = make(map[string]struct{}, 1)
		r.byConn[s] = mine
	}
	mine[name] = struct{}{}
	return len(t.subs)
}

// Unsubscribe removes s from topic and returns the topic's subscriber count
// afterwards. Removing a pair that is not subscribed changes nothing.
func (r *Registry) Unsubscribe(name string, s Subscriber) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unsubscribeLocked(name, s)
}

// UnsubscribeAll removes s from every topic and returns the topics it left,
// sorted.
func (r *Registry) UnsubscribeAll(s Subscriber) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	left := make([]string, 0, len(r.byConn[s]))
	for name := range r.byConn[s] {
		left = append(left, name)
	}
	for _, name := range left {
		r.unsubscribeLocked(name, s)
	}
	sort.Strings(left)
	return left
}

func (r *Registry) unsubscribeLocked(name string, s Subscriber) int {
	t := r.topics[name]
	if t == nil {
		return 0
	}
	i, ok := t.index[s]
	if !ok {
		return len(t.subs)
	}
	last := len(t.subs) - 1
	t.subs[i] = t.subs[last]
	t.index[t.subs[i]] = i
	t.subs[last] = nil
	t.subs = t.subs[:last]
	delete(t.index, s)
	if len(t.subs) == 0 {
		delete(r.topics, name)
	}

	mine := r.byConn[s]
	delete(mine, name)
	if len(mine) == 0 {
		delete(r.byConn, s)
	}
	return len(t.subs)
}

// IsSubscribed reports whether s is subscribed to topic.
func (r *Registry) IsSubscribed(name string, s Subscriber) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.byConn[s][name]
	return ok
}

// Topics returns the topics s is subscribed to, sorted.
func (r *Registry) Topics(s Subscriber) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.byConn[s]))
	for name := range r.byConn[s] {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// SubscriberCount returns the number of subscribers of topic.
func (r *Registry) SubscriberCount(name string) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if t := r.topics[name]; t != nil {
		return len(t.subs)
	}
	return 0
}

// Publish hands m to every subscriber of topic (Bun's server.publish).
func (r *Registry) Publish(name string, m *Message) Result {
	return r.PublishExcept(name, m, nil)
}

// PublishExcept hands m to every subscriber of topic but except (Bun's
// ws.publish, which skips the publishing socket). A nil except skips
// nobody.
func (r *Registry) PublishExcept(name string, m *Message, except Subscriber) Result {
	res := r.sendAll(name, m, except)
	r.count(res)
	return res
}

func (r *Registry) sendAll(name string, m *Message, except Subscriber) Result {
	var res Result
	r.mu.RLock()
	defer r.mu.RUnlock() // also when a subscriber panics
	t := r.topics[name]
	if t == nil {
		return res
	}
	for _, s := range t.subs {
		if s == except {
			continue
		}
		switch s.Send(m) {
		case Queued:
			res.Delivered++
		case Dropped:
			res.Dropped++
		case ClosedSlow:
			res.Closed++
		}
	}
	return res
}

func (r *Registry) count(res Result) {
	r.publishes.Add(1)
	if res.Delivered > 0 {
		r.deliveries.Add(uint64(res.Delivered))
	}
	if res.Dropped > 0 {
		r.drops.Add(uint64(res.Dropped))
	}
	if res.Closed > 0 {
		r.slowCloses.Add(uint64(res.Closed))
	}
}

// Stats returns the registry's running totals.
func (r *Registry) Stats() Stats {
	return Stats{
		Publishes:  r.publishes.Load(),
		Deliveries: r.deliveries.Load(),
		Drops:      r.drops.Load(),
		SlowCloses: r.slowCloses.Load(),
	}
}
