package signd

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the daemon's Prometheus metrics. The zero value (nil
// collectors) is not used: New always makes them, registered or not.
type metrics struct {
	locked      prometheus.Gauge
	until       prometheus.Gauge
	requests    *prometheus.CounterVec
	unlocks     *prometheus.CounterVec
	lastSigned  *prometheus.GaugeVec
	journalRecs prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		locked: prometheus.NewGauge(prometheus.GaugeOpts{Name: "signd_locked",
			Help: "1 while the keys are locked (every request is refused), 0 while unlocked."}),
		until: prometheus.NewGauge(prometheus.GaugeOpts{Name: "signd_unlocked_until_seconds",
			Help: "Unix time at which the keys lock again; 0 while locked."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signd_requests_total",
			Help: "Signing requests by outcome: signed, or the refusal code (locked, denied, stale, mismatch...)."}, []string{"outcome"}),
		unlocks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signd_admin_requests_total",
			Help: "Admin requests (unlock, lock, status) by command and outcome."}, []string{"command", "outcome"}),
		lastSigned: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "signd_last_signed_timestamp_seconds",
			Help: "TIMESTAMP (Unix time) of the newest snapshot signed per origin."}, []string{"origin"}),
		journalRecs: prometheus.NewGauge(prometheus.GaugeOpts{Name: "signd_journal_records",
			Help: "Signatures recorded in the journal."}),
	}
	if reg != nil {
		reg.MustRegister(m.locked, m.until, m.requests, m.unlocks, m.lastSigned, m.journalRecs)
	}
	return m
}
