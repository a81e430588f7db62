package pubsub_test

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/chatserver/chat/app/pubsub"
)

// recorder is a subscriber that keeps what it is sent and answers with a
// fixed status.
type recorder struct {
	name   string
	status pubsub.Status
	mu     sync.Mutex
	got    []string
}

func (r *recorder) Send(m *pubsub.Message) pubsub.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == pubsub.Queued {
		r.got = append(r.got, m.Text())
	}
	return r.status
}

func (r *recorder) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func TestSubscribeUnsubscribeCounts(t *testing.T) {
	r := pubsub.New()
	a, b := &recorder{name: "a"}, &recorder{name: "b"}
	steps := []struct {
		name string
		do   func() int
		want int
	}{
		{"first subscriber", func() int { return r.Subscribe("t", a) }, 1},
		{"same pair again", func() int { return r.Subscribe("t", a) }, 1},
		{"second subscriber", func() int { return r.Subscribe("t", b) }, 2},
		{"unsubscribe one", func() int { return r.Unsubscribe("t", a) }, 1},
		{"unsubscribe it again", func() int { return r.Unsubscribe("t", a) }, 1},
		{"unsubscribe the last", func() int { return r.Unsubscribe("t", b) }, 0},
		{"unknown topic", func() int { return r.Unsubscribe("nope", b) }, 0},
	}
	for _, s := range steps {
		if got := s.do(); got != s.want {
			t.Fatalf("%s: count %d, want %d", s.name, got, s.want)
		}
	}
	if n := r.SubscriberCount("t"); n != 0 {
		t.Errorf("SubscriberCount after all left = %d, want 0", n)
	}
}

func TestTopicsAndIsSubscribed(t *testing.T) {
	r := pubsub.New()
	a := &recorder{name: "a"}
	r.Subscribe("b-topic", a)
	r.Subscribe("a-topic", a)
	if got, want := r.Topics(a), []string{"a-topic", "b-topic"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Topics = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		topic string
		want  bool
	}{{"a-topic", true}, {"b-topic", true}, {"c-topic", false}} {
		if got := r.IsSubscribed(tc.topic, a); got != tc.want {
			t.Errorf("IsSubscribed(%q) = %v, want %v", tc.topic, got, tc.want)
		}
	}
	if got, want := r.UnsubscribeAll(a), []string{"a-topic", "b-topic"}; !reflect.DeepEqual(got, want) {
		t.Errorf("UnsubscribeAll = %v, want %v", got, want)
	}
	if got := r.Topics(a); len(got) != 0 {
		t.Errorf("Topics after UnsubscribeAll = %v, want none", got)
	}
}

func TestPublishReachesSubscribersOfThatTopicOnly(t *testing.T) {
	r := pubsub.New()
	a, b, c := &recorder{name: "a"}, &recorder{name: "b"}, &recorder{name: "c"}
	r.Subscribe("chat", a)
	r.Subscribe("chat", b)
	r.Subscribe("other", c)

	res := r.Publish("chat", pubsub.NewMessage("hi"))
	if res != (pubsub.Result{Delivered: 2}) {
		t.Errorf("Publish result %+v, want 2 delivered", res)
	}
	r.PublishExcept("chat", pubsub.NewPrefixed("a: ", []byte("skip me")), a)
	r.Publish("nobody-here", pubsub.NewMessage("lost in space"))

	for _, tc := range []struct {
		sub  *recorder
		want []string
	}{
		{a, []string{"hi"}},
		{b, []string{"hi", "a: skip me"}},
		{c, nil},
	} {
		if got := tc.sub.received(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s received %q, want %q", tc.sub.name, got, tc.want)
		}
	}
}

func TestPublishResultAndStatsCountEachOutcome(t *testing.T) {
	r := pubsub.New()
	for i, st := range []pubsub.Status{pubsub.Queued, pubsub.Queued, pubsub.Dropped, pubsub.ClosedSlow, pubsub.Closing} {
		r.Subscribe("t", &recorder{name: fmt.Sprint(i), status: st})
	}
	res := r.Publish("t", pubsub.NewMessage("x"))
	if want := (pubsub.Result{Delivered: 2, Dropped: 1, Closed: 1}); res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	r.Publish("t", pubsub.NewMessage("y"))
	want := pubsub.Stats{Publishes: 2, Deliveries: 4, Drops: 2, SlowCloses: 2}
	if got := r.Stats(); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

func TestMessageFrames(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		header []byte
	}{
		{"empty", 0, []byte{0x81, 0}},
		{"7-bit length", 125, []byte{0x81, 125}},
		{"16-bit length", 126, []byte{0x81, 126, 0, 126}},
		{"16-bit max", 0xFFFF, []byte{0x81, 126, 0xFF, 0xFF}},
		{"64-bit length", 0x10000, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := make([]byte, tc.n)
			for i := range body {
				body[i] = 'a' + byte(i%26)
			}
			m := pubsub.NewPrefixed("", body)
			frame := m.Frame()
			if got := frame[:len(tc.header)]; !reflect.DeepEqual(got, tc.header) {
				t.Errorf("header % x, want % x", got, tc.header)
			}
			if got := frame[len(tc.header):]; string(got) != string(body) || m.Text() != string(body) {
				t.Errorf("payload differs from the body (%d bytes, want %d)", len(got), tc.n)
			}
		})
	}
}

// Subscribers come and go while others publish: every subscriber that stays
// subscribed throughout gets every message, each publisher's in order.
func TestConcurrentPublishAndSubscribe(t *testing.T) {
	r := pubsub.New()
	const publishers, perPublisher, stayers = 4, 500, 3
	stay := make([]*recorder, stayers)
	for i := range stay {
		stay[i] = &recorder{name: fmt.Sprint("stay", i)}
		r.Subscribe("t", stay[i])
	}

	var wg sync.WaitGroup
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range perPublisher {
				r.Publish("t", pubsub.NewMessage(fmt.Sprintf("%d.%d", p, k)))
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 1000 {
			c := &recorder{name: fmt.Sprint("churn", i)}
			r.Subscribe("t", c)
			_ = r.IsSubscribed("t", c)
			_ = r.SubscriberCount("t")
			r.UnsubscribeAll(c)
		}
	}()
	wg.Wait()

	for _, s := range stay {
		next := make([]int, publishers)
		for _, msg := range s.received() {
			var p, k int
			if _, err := fmt.Sscanf(msg, "%d.%d", &p, &k); err != nil {
				t.Fatalf("%s: bad message %q", s.name, msg)
			}
			if k != next[p] {
				t.Fatalf("%s: from publisher %d got %d, want %d", s.name, p, k, next[p])
			}
			next[p]++
		}
		for p, n := range next {
			if n != perPublisher {
				t.Errorf("%s: got %d messages from publisher %d, want %d", s.name, n, p, perPublisher)
			}
		}
	}
	if n := r.SubscriberCount("t"); n != stayers {
		t.Errorf("SubscriberCount = %d, want %d", n, stayers)
	}
}
