package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"treelog/internal/atomicfile"
	"treelog/internal/untrusted"
)

// Alert kinds.
const (
	AlertSplitView      = "split-view"      // two checkpoints of the log that are not consistent
	AlertBadEntry       = "bad-entry"       // an entry that is not a MetaManifest an authorized key signed
	AlertBackdated      = "backdated-entry" // an entry whose TIMESTAMP is not after its origin's previous one
	AlertBadTree        = "bad-tree"        // the log's entries do not match its checkpoint
	AlertLogFrozen      = "log-frozen"      // the log's checkpoint or its cosignatures are not refreshed
	AlertWitnessStale   = "witness-stale"   // a witness serves an old checkpoint
	AlertMirrorReplay   = "mirror-replay"   // a mirror went back to an older snapshot
	AlertMirrorFreeze   = "mirror-freeze"   // a mirror lags the log's newest snapshot
	AlertMirrorBad      = "mirror-bad"      // a mirror serves a MetaManifest that does not verify or is not logged
	AlertMirrorTampered = "mirror-tampered" // a mirror serves files its Manifests do not describe
	AlertUnproven       = "unproven-view"   // a checkpoint not proven consistent with the verified one, either way
	AlertUnreachable    = "unreachable"     // a vantage point cannot be read: an outage, not evidence
	// AlertIndexWrong: an index entry in the log that the log's entries
	// contradict (it omits a snapshot, names an older one, disagrees with
	// an entry), or whose checkpoint is not a witnessed one of the log.
	AlertIndexWrong = "index-wrong"
	// AlertIndexUnwitnessed: the log serves an index (index/latest) under
	// a checkpoint the witness quorum did not cosign.
	AlertIndexUnwitnessed = "index-unwitnessed"
	// AlertIndexServed: the index the log serves does not verify.
	AlertIndexServed   = "index-served"
	evidenceAlertsKept = 1000
)

// sticky kinds are proven misbehavior: the signed evidence stands, so the
// alert stays open. Other alerts resolve when their condition goes.
var sticky = map[string]bool{AlertSplitView: true, AlertBadEntry: true, AlertBackdated: true, AlertBadTree: true, AlertTrustRootFork: true, AlertIndexWrong: true}

// An Alert is something the auditor found wrong.
type Alert struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	Subject  string    `json:"subject"`
	Message  string    `json:"message"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
	Open     bool      `json:"open"`
	Evidence []string  `json:"evidence,omitempty"` // files under the evidence directory
	// Sticky alerts (proven misbehavior) stay open.
	Sticky bool `json:"sticky"`
}

// alerts keeps alerts, persists them, and sends new ones to the sinks.
type alerts struct {
	mu      sync.Mutex
	dir     string
	byID    map[string]*Alert
	log     *slog.Logger
	command string
	webhook string
	counter *prometheus.CounterVec
	open    *prometheus.GaugeVec
	now     func() time.Time
	seen    map[string]bool // raised during the current pass
	sending sync.WaitGroup  // deliveries under way
}

func newAlerts(dir string, log *slog.Logger, reg prometheus.Registerer, command, webhook string, now func() time.Time) (*alerts, error) {
	a := &alerts{dir: dir, byID: map[string]*Alert{}, log: log, command: command, webhook: webhook, now: now,
		counter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "treelog_auditor_alerts_total", Help: "Alerts raised, by kind."}, []string{"kind"}),
		open:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "treelog_auditor_open_alerts", Help: "Open alerts, by kind."}, []string{"kind"}),
	}
	if reg != nil {
		reg.MustRegister(a.counter, a.open)
	}
	b, err := os.ReadFile(filepath.Join(dir, "alerts.json"))
	if err == nil {
		var list []*Alert
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("auditor alerts file is corrupt: %w", err)
		}
		for _, al := range list {
			a.byID[al.ID] = al
		}
	}
	a.gauge()
	return a, nil
}

func alertID(kind, subject string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + subject))
	return hex.EncodeToString(h[:8])
}

// ReadAlerts returns every alert kept in the state directory of an
// auditor, oldest first.
func ReadAlerts(stateDir string) ([]Alert, error) {
	a, err := newAlerts(stateDir, slog.New(slog.DiscardHandler), nil, "", "", time.Now)
	if err != nil {
		return nil, err
	}
	return a.list(false), nil
}

// CloseAlert closes the open alert id in the state directory of a stopped
// auditor: how an operator retires a sticky alert (proven misbehavior)
// once it has been dealt with. Its evidence files stay.
func CloseAlert(stateDir, id string) (Alert, error) {
	lock, err := lockState(stateDir)
	if err != nil {
		return Alert{}, err
	}
	defer lock.Release()
	a, err := newAlerts(stateDir, slog.New(slog.DiscardHandler), nil, "", "", time.Now)
	if err != nil {
		return Alert{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	al, ok := a.byID[id]
	if !ok || !al.Open {
		return Alert{}, fmt.Errorf("no open alert %q in %s", id, stateDir)
	}
	al.Open = false
	al.Last = time.Now().UTC()
	if err := a.persistLocked(); err != nil {
		return Alert{}, err
	}
	return *al, nil
}

// beginPass starts a pass: conditions not raised again by endPass close.
func (a *alerts) beginPass() {
	a.mu.Lock()
	a.seen = map[string]bool{}
	a.mu.Unlock()
}

// raise records an alert (new, or still present). Evidence objects are
// written under the evidence directory. An open alert whose condition
// changed (a mirror now serves another old snapshot) gets the new message
// and evidence, but is not sent again; a sticky one keeps its first
// evidence, the proof of the misbehavior.
func (a *alerts) raise(kind, subject, msg string, evidence ...[]byte) *Alert {
	// Messages quote what logs, witnesses and mirrors sent: every output
	// (log, JSON, status page, alert command) gets them escaped.
	subject, msg = untrusted.Escape(subject), untrusted.Escape(msg)
	a.mu.Lock()
	defer a.mu.Unlock()
	id := alertID(kind, subject)
	if a.seen != nil {
		a.seen[id] = true
	}
	now := a.now().UTC()
	al, ok := a.byID[id]
	if ok && al.Open {
		al.Last = now
		if al.Sticky || al.Message == msg {
			return al
		}
		al.Message = msg
		a.writeEvidence(al, evidence)
		a.persistLocked()
		return al
	}
	if !ok {
		al = &Alert{ID: id, Kind: kind, Subject: subject, First: now}
		a.byID[id] = al
	}
	al.Message, al.Last, al.Open, al.Sticky = msg, now, true, sticky[kind]
	a.writeEvidence(al, evidence)
	a.counter.WithLabelValues(kind).Inc()
	a.log.Error("ALERT", "kind", kind, "subject", subject, "message", msg, "evidence", al.Evidence)
	a.deliver(al)
	a.persistLocked()
	a.gaugeLocked()
	return al
}

// writeEvidence replaces the alert's evidence files.
func (a *alerts) writeEvidence(al *Alert, evidence [][]byte) {
	dir := filepath.Join(a.dir, "evidence", al.ID)
	os.RemoveAll(dir)
	al.Evidence = nil
	for i, e := range evidence {
		p := filepath.Join(dir, fmt.Sprintf("%d", i+1))
		if os.MkdirAll(dir, 0o755) == nil && atomicfile.WriteFile(p, e, 0o644) == nil {
			al.Evidence = append(al.Evidence, p)
		}
	}
}

// endPass closes alerts of conditions that were not seen this pass
// (mirrors caught up, the log was refreshed); sticky alerts stay open.
func (a *alerts) endPass() {
	a.mu.Lock()
	defer a.mu.Unlock()
	changed := false
	for id, al := range a.byID {
		if al.Open && !al.Sticky && !a.seen[id] {
			al.Open = false
			changed = true
			a.log.Info("alert resolved", "kind", al.Kind, "subject", al.Subject)
		}
	}
	if changed {
		a.persistLocked()
		a.gaugeLocked()
	}
}

// Open returns the open alerts, oldest first.
func (a *alerts) list(openOnly bool) []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []Alert{} // "[]" in JSON, never "null"
	for _, al := range a.byID {
		if al.Open || !openOnly {
			out = append(out, *al)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].First.Before(out[j].First) })
	return out
}

func (a *alerts) gauge() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gaugeLocked()
}

func (a *alerts) gaugeLocked() {
	counts := map[string]int{}
	for _, al := range a.byID {
		if al.Open {
			counts[al.Kind]++
		}
	}
	for _, k := range []string{AlertSplitView, AlertBadEntry, AlertBackdated, AlertBadTree, AlertLogFrozen, AlertWitnessStale, AlertMirrorReplay, AlertMirrorFreeze, AlertMirrorBad, AlertMirrorTampered, AlertUnproven, AlertUnreachable, AlertTrustRootChange, AlertTrustRootFork, AlertTrustRootHidden, AlertIndexWrong, AlertIndexUnwitnessed, AlertIndexServed} {
		a.open.WithLabelValues(k).Set(float64(counts[k]))
	}
}

func (a *alerts) persistLocked() error {
	list := make([]*Alert, 0, len(a.byID))
	for _, al := range a.byID {
		list = append(list, al)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].First.Before(list[j].First) })
	if len(list) > evidenceAlertsKept {
		list = list[len(list)-evidenceAlertsKept:]
	}
	b, _ := json.MarshalIndent(list, "", " ")
	err := os.MkdirAll(a.dir, 0o755)
	if err == nil {
		err = atomicfile.WriteFile(filepath.Join(a.dir, "alerts.json"), b, 0o644)
	}
	if err != nil {
		a.log.Error("saving alerts", "err", err)
		return fmt.Errorf("saving alerts: %w", err)
	}
	return nil
}

// deliver runs the alert command and posts the webhook, in the background.
func (a *alerts) deliver(al *Alert) {
	if a.command == "" && a.webhook == "" {
		return
	}
	body, _ := json.Marshal(al)
	a.sending.Add(1)
	go func() {
		defer a.sending.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if a.command != "" {
			cmd := exec.CommandContext(ctx, "/bin/sh", "-c", a.command)
			cmd.Stdin = bytes.NewReader(body)
			cmd.Env = append(os.Environ(), "TREELOG_ALERT_KIND="+al.Kind, "TREELOG_ALERT_SUBJECT="+al.Subject, "TREELOG_ALERT_MESSAGE="+al.Message)
			if out, err := cmd.CombinedOutput(); err != nil {
				a.log.Error("alert command failed", "err", err, "output", string(out))
			}
		}
		if a.webhook != "" {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, a.webhook, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				a.log.Error("alert webhook failed", "err", err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				a.log.Error("alert webhook failed", "status", resp.Status)
			}
		}
	}()
}
