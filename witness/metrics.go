package witness

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the witness's Prometheus metrics.
type Metrics struct {
	requests     *prometheus.CounterVec
	duration     prometheus.Histogram
	inconsistent *prometheus.CounterVec
	batch        prometheus.Histogram
	commit       prometheus.Histogram
	logs         prometheus.GaugeFunc
}

// NewMetrics registers the witness's metrics with reg and hooks the store's
// commits into them.
func NewMetrics(reg prometheus.Registerer, store *Store) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "witness_add_checkpoint_requests_total",
			Help: "add-checkpoint requests by HTTP status code.",
		}, []string{"code"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "witness_add_checkpoint_duration_seconds",
			Help:    "Time to answer an add-checkpoint request, durable write included.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		inconsistent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "witness_inconsistent_checkpoints_total",
			Help: "Signed checkpoints that conflict with the cosigned one (evidence kept), by kind.",
		}, []string{"kind"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "witness_commit_batch_size",
			Help:    "Writes committed together in one durable transaction (group commit).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "witness_commit_duration_seconds",
			Help:    "Time of one durable transaction, fsync included.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		logs: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "witness_logs",
			Help: "Logs this witness knows.",
		}, func() float64 { return float64(len(store.Logs())) }),
	}
	reg.MustRegister(m.requests, m.duration, m.inconsistent, m.batch, m.commit, m.logs)
	store.OnCommit = func(n int, d time.Duration) {
		m.batch.Observe(float64(n))
		m.commit.Observe(d.Seconds())
	}
	return m
}
