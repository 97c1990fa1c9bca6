package log

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/transparency-dev/tessera"

	"treelog/checkpoint"
	"treelog/note"
)

type metrics struct {
	accepted    prometheus.Counter
	duplicates  prometheus.Counter
	rejected    *prometheus.CounterVec
	integration prometheus.Histogram
	size        prometheus.Gauge
	cosigs      prometheus.Gauge
	witnessAge  *prometheus.GaugeVec

	indexVersions prometheus.Counter
	indexErrors   prometheus.Counter
	indexSize     prometheus.Gauge
	indexOrigins  prometheus.Gauge

	mu      sync.Mutex
	waiting []pending // sequenced entries not yet covered by a checkpoint
	s       *Server
}

type pending struct {
	index uint64
	at    time.Time
}

func newMetrics(reg prometheus.Registerer, s *Server) *metrics {
	m := &metrics{
		s: s,
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "treelog_log_entries_accepted_total", Help: "MetaManifests appended to the log.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "treelog_log_entries_duplicate_total", Help: "Submissions of a MetaManifest already logged (answered with its index).",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "treelog_log_entries_rejected_total", Help: "Submissions refused, by reason.",
		}, []string{"reason"}),
		integration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "treelog_log_integration_seconds",
			Help:    "Time from an entry's sequencing to the first published (witnessed) checkpoint that covers it.",
			Buckets: prometheus.ExponentialBuckets(0.05, 1.6, 14),
		}),
		size: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "treelog_log_checkpoint_size", Help: "Size of the latest published checkpoint.",
		}),
		cosigs: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "treelog_log_checkpoint_cosignatures", Help: "Cosignature lines on the latest published checkpoint.",
		}),
		witnessAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "treelog_log_witness_cosignature_timestamp_seconds", Help: "Timestamp of each witness's cosignature on the latest published checkpoint (Unix seconds).",
		}, []string{"witness"}),
	}
	m.indexVersions = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "treelog_log_index_entries_total", Help: "Index entries this process appended.",
	})
	m.indexErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "treelog_log_index_errors_total", Help: "Failures building the index (retried), and wrong index entries found in the log.",
	})
	m.indexSize = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "treelog_log_index_size", Help: "Log size the newest index entry covers.",
	})
	m.indexOrigins = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "treelog_log_index_origins", Help: "Origins in the newest index entry.",
	})
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "treelog_log_checkpoint_age_seconds", Help: "Seconds since the published checkpoint last changed (republication included).",
	}, func() float64 {
		s.published.mu.Lock()
		defer s.published.mu.Unlock()
		if s.published.raw == nil {
			return 0
		}
		return time.Since(s.published.since).Seconds()
	})
	if reg != nil {
		reg.MustRegister(m.accepted, m.duplicates, m.rejected, m.integration, m.size, m.cosigs, m.witnessAge, age,
			m.indexVersions, m.indexErrors, m.indexSize, m.indexOrigins)
	}
	return m
}

func (m *metrics) observeAdd(a Added, err error, _ time.Duration) {
	var rej *Rejection
	switch {
	case errors.As(err, &rej):
		m.rejected.WithLabelValues(rej.Reason).Inc()
	case errors.Is(err, tessera.ErrPushback):
		m.rejected.WithLabelValues("pushback").Inc()
	case err != nil:
		m.rejected.WithLabelValues("error").Inc()
	case a.Duplicate:
		m.duplicates.Inc()
	default:
		m.accepted.Inc()
	}
}

func (m *metrics) sequenced(index uint64, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.waiting) < 100_000 {
		m.waiting = append(m.waiting, pending{index, at})
	}
}

func (m *metrics) observePublished(cp *checkpoint.Signed) {
	m.size.Set(float64(cp.Size))
	m.cosigs.Set(float64(len(cp.Note.UnverifiedSigs)))
	for _, sig := range cp.Note.UnverifiedSigs {
		raw, err := note.SignatureBytes(sig)
		if err != nil {
			continue
		}
		if t, err := note.CosignatureTime(raw); err == nil {
			m.witnessAge.WithLabelValues(sig.Name).Set(float64(t.Unix()))
		}
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.waiting[:0]
	for _, p := range m.waiting {
		if p.index < cp.Size {
			m.integration.Observe(now.Sub(p.at).Seconds())
		} else {
			kept = append(kept, p)
		}
	}
	m.waiting = kept
}
