package handlers

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chatserver/chat/app/pubsub"
	"github.com/chatserver/chat/app/wsconn"
)

// Metrics serves the server's figures in the Prometheus text format. The
// registry and the connections keep their counters as plain atomics; they
// are read here, at scrape time, so the hot paths never touch Prometheus.
func Metrics(reg *pubsub.Registry, conns *wsconn.Group) fiber.Handler {
	pr := prometheus.NewRegistry()
	pr.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&chatCollector{reg: reg, conns: conns},
	)
	return adaptor.HTTPHandler(promhttp.HandlerFor(pr, promhttp.HandlerOpts{}))
}

// Healthz answers 200 "ok" while the server runs.
func Healthz(c *fiber.Ctx) error {
	return c.SendString("ok\n")
}

// chatCollector turns the registry's and the connections' figures into
// Prometheus metrics.
type chatCollector struct {
	reg   *pubsub.Registry
	conns *wsconn.Group
}

var (
	descOpen = prometheus.NewDesc("chat_connections_open",
		"WebSocket connections open now.", nil, nil)
	descQueued = prometheus.NewDesc("chat_queued_bytes",
		"Bytes queued for peers and not yet written.", nil, nil)
	descReceived = prometheus.NewDesc("chat_messages_received_total",
		"Messages accepted from peers.", nil, nil)
	descPublishes = prometheus.NewDesc("chat_publishes_total",
		"Messages published to a topic.", nil, nil)
	descDeliveries = prometheus.NewDesc("chat_deliveries_total",
		"Messages queued to a subscriber (a publish to N subscribers counts N).", nil, nil)
	descDrops = prometheus.NewDesc("chat_dropped_total",
		"Messages skipped for a subscriber whose queue was full (drop policy).", nil, nil)
	descSlow = prometheus.NewDesc("chat_slow_consumer_closes_total",
		"Subscribers disconnected because their queue was full (close policy).", nil, nil)
	descBytes = prometheus.NewDesc("chat_bytes_written_total",
		"Bytes written to peers' sockets.", nil, nil)
	descWrites = prometheus.NewDesc("chat_write_calls_total",
		"Write system calls made to peers' sockets.", nil, nil)
)

// Describe implements prometheus.Collector.
func (cc *chatCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOpen, descQueued, descReceived, descPublishes,
		descDeliveries, descDrops, descSlow, descBytes, descWrites} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (cc *chatCollector) Collect(ch chan<- prometheus.Metric) {
	rs, cs := cc.reg.Stats(), cc.conns.Stats()
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(descOpen, cs.Open)
	gauge(descQueued, cs.QueuedBytes)
	counter(descReceived, cs.MessagesIn)
	counter(descPublishes, rs.Publishes)
	counter(descDeliveries, rs.Deliveries)
	counter(descDrops, rs.Drops)
	counter(descSlow, rs.SlowCloses)
	counter(descBytes, cs.BytesWritten)
	counter(descWrites, cs.Writes)
}
