package federation

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"jukinet/internal/node"
)

// Collector exposes the node's network and audit-log state as Prometheus
// metrics, read from the database at each scrape.
type Collector struct {
	n *node.Node

	pending, lag, acked, last, cosigned, entries, alerts *prometheus.Desc
	inbox, stopped                                       *prometheus.Desc

	walBytes, walLimit, walCuts, walFailed *prometheus.Desc
}

// NewCollector returns the collector of node n.
func NewCollector(n *node.Node) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("jukinet_"+name, help, labels, nil)
	}
	return &Collector{
		n:        n,
		pending:  d("federation_outbox_pending", "Changes not yet acknowledged by the upstream node."),
		lag:      d("federation_outbox_lag_seconds", "Age of the oldest change not yet acknowledged by the upstream node."),
		acked:    d("federation_acked_seq", "The upstream node's acknowledgement (change sequence)."),
		last:     d("federation_last_change_seq", "This node's last change sequence."),
		cosigned: d("audit_cosigned_size", "Size of the latest audit-log checkpoint cosigned by the witness."),
		entries:  d("audit_entries", "Entries in the audit log."),
		alerts:   d("federation_alerts_total", "Refused batches and checkpoints (alerts) raised at this node."),
		inbox:    d("federation_inbox_last_seq", "The last change applied from a downstream source.", "source"),
		stopped:  d("federation_source_stopped", "1 if a downstream source is stopped after an alert.", "source"),

		walBytes:  d("sqlite_wal_bytes", "Size of the SQLite write-ahead log file (SQLite nodes only)."),
		walLimit:  d("sqlite_wal_limit_bytes", "The configured bound on the SQLite write-ahead log (database.wal_limit_mib)."),
		walCuts:   d("sqlite_wal_cuts_total", "Escalated (TRUNCATE) checkpoints tried to keep the SQLite write-ahead log bounded."),
		walFailed: d("sqlite_wal_cuts_failed_total", "Escalated checkpoints that gave up because readers stayed in the write-ahead log."),
	}
}

// Describe sends the metrics' descriptions.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pending, c.lag, c.acked, c.last, c.cosigned, c.entries, c.alerts, c.inbox, c.stopped,
		c.walBytes, c.walLimit, c.walCuts, c.walFailed} {
		ch <- d
	}
}

// Collect reads the state and sends the metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	// The WAL first, and whatever else fails: it is what to watch when the
	// database is in trouble.
	if wal, ok := c.n.DB.WAL(); ok {
		ch <- prometheus.MustNewConstMetric(c.walBytes, prometheus.GaugeValue, float64(wal.Bytes))
		ch <- prometheus.MustNewConstMetric(c.walLimit, prometheus.GaugeValue, float64(wal.Limit))
		ch <- prometheus.MustNewConstMetric(c.walCuts, prometheus.CounterValue, float64(wal.Cuts))
		ch <- prometheus.MustNewConstMetric(c.walFailed, prometheus.CounterValue, float64(wal.Failed))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := GetStatus(ctx, c.n)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.pending, err)
		return
	}
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	g(c.pending, float64(st.Pending))
	lag := 0.0
	if st.Pending > 0 {
		lag = time.Since(st.OldestSince).Seconds()
	}
	g(c.lag, lag)
	g(c.acked, float64(st.Acked))
	g(c.last, float64(st.LastChange))
	g(c.cosigned, float64(st.CosignedSize))
	var alerts int64
	c.n.DB.QueryRow(ctx, `SELECT COUNT(*) FROM fed_alert`).Scan(&alerts)
	ch <- prometheus.MustNewConstMetric(c.alerts, prometheus.CounterValue, float64(alerts))
	if size, err := c.n.Log.Size(ctx); err == nil {
		g(c.entries, float64(size))
	}
	for _, in := range st.Inbox {
		g(c.inbox, float64(in.Last), in.Source)
		stopped := 0.0
		if !in.StoppedAt.IsZero() {
			stopped = 1
		}
		g(c.stopped, stopped, in.Source)
	}
}
