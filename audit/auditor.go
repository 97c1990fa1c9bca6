// Package audit watches a treelog log and the mirrors of its trees: it
// replays the whole log (every entry a MetaManifest an authorized key
// signed, TIMESTAMPs increasing per origin, entries matching the
// checkpoints), compares the checkpoints every vantage point shows (the
// log, its mirrors, witnesses, tree mirrors' proofs, other auditors) to
// catch a split view, and alerts when the log or a mirror freezes or
// replays — each alert with the signed objects that prove it.
package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"treelog/checkpoint"
	"treelog/internal/statefile"
	"treelog/policy"
	"treelog/tiles"
	"treelog/trust"
)

// A Mirror is a tree mirror: it serves trees with their .treelog/ files.
type Mirror struct {
	Name string
	URL  string
}

// Config configures an Auditor.
type Config struct {
	// Policy names the log (and its URL), the witnesses (their URLs are
	// their monitoring prefixes) and the quorum.
	Policy *policy.Policy
	// LogOrigin picks the log to audit when the policy names several.
	LogOrigin string
	// Publishers says which keys may publish which tree (the origins no
	// pinned trust root governs).
	Publishers *trust.Publishers
	// TrustRoots are the pinned trust roots (each opened with trust.Open)
	// whose versions the auditor follows in the log, alerting on each.
	TrustRoots []*trust.Signed
	// LogURLs are the log and its mirrors (default: the policy's URL).
	LogURLs []string
	// Mirrors are tree mirrors to watch.
	Mirrors []Mirror
	// Peers are other auditors (base URLs) whose seen checkpoints to compare.
	Peers []string
	// StateDir keeps progress, alerts and evidence.
	StateDir string
	// FreezeAfter: alert when the log's quorum cosignatures are older
	// (default 1h). WitnessStaleAfter: alert when a witness's are (default
	// FreezeAfter). MirrorLag: alert when a mirror's snapshot is older than
	// the origin's newest logged one by more (default 2h).
	FreezeAfter, WitnessStaleAfter, MirrorLag time.Duration
	// MirrorFiles is how many files of each mirror's tree to check
	// against its Manifests per pass, chosen at random; -1 checks every
	// file, 0 none.
	MirrorFiles int
	// AlertCommand is run with each new alert (JSON on stdin);
	// AlertWebhook receives it as a POST.
	AlertCommand, AlertWebhook string
	// Log, Registry, Now, HTTPClient, Progress: logger (default
	// slog.Default()), metrics, clock, HTTP client (30s timeout) and a
	// terminal for catch-up progress.
	Log        *slog.Logger
	Registry   prometheus.Registerer
	Now        func() time.Time
	HTTPClient *http.Client
	Progress   io.Writer
}

// An Auditor audits one log.
type Auditor struct {
	cfg     Config
	log     *policy.Log
	reader  *tiles.HTTPReader
	prover  *tiles.Prover
	alerts  *alerts
	metrics *metrics

	lock   *statefile.Lock // held while the auditor owns StateDir
	passMu sync.Mutex      // one pass at a time
	mu     sync.Mutex
	state  *State
	status Status
	seen   map[string][]byte // source -> latest checkpoint it showed
	// pending are checkpoints larger than the log serves us, to check
	// again when the log's view grows.
	pending map[string]pendingCheckpoint
}

type pendingCheckpoint struct {
	raw   []byte
	since time.Time
}

// New returns an auditor, resuming from the state in cfg.StateDir.
func New(cfg Config) (*Auditor, error) {
	if cfg.Policy == nil || (cfg.Publishers == nil && len(cfg.TrustRoots) == 0) || cfg.StateDir == "" {
		return nil, errors.New("auditor: a policy, a publishers file or pinned trust roots, and a state directory are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FreezeAfter == 0 {
		cfg.FreezeAfter = time.Hour
	}
	if cfg.WitnessStaleAfter == 0 {
		cfg.WitnessStaleAfter = cfg.FreezeAfter
	}
	if cfg.MirrorLag == 0 {
		cfg.MirrorLag = 2 * time.Hour
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	a := &Auditor{cfg: cfg, seen: map[string][]byte{}, pending: map[string]pendingCheckpoint{}}
	switch {
	case cfg.LogOrigin != "":
		a.log = cfg.Policy.Log(cfg.LogOrigin)
	case len(cfg.Policy.Logs) == 1:
		a.log = cfg.Policy.Logs[0]
	}
	if a.log == nil {
		return nil, errors.New("auditor: name the log to audit (the policy has none, or several)")
	}
	urls := cfg.LogURLs
	if len(urls) == 0 && a.log.URL != "" {
		urls = []string{a.log.URL}
	}
	var err error
	if a.reader, err = tiles.NewHTTPReader(urls, tiles.WithClient(cfg.HTTPClient), tiles.WithMaxEntrySize(trust.MaxEntrySize)); err != nil {
		return nil, fmt.Errorf("auditor: log URL: %w", err)
	}
	a.prover = tiles.NewProver(a.reader, 1024)
	if a.lock, err = lockState(cfg.StateDir); err != nil {
		return nil, err
	}
	if a.state, err = loadState(cfg.StateDir); err != nil {
		a.lock.Release()
		return nil, err
	}
	if err := checkPins(cfg.TrustRoots, a.state); err != nil {
		a.lock.Release()
		return nil, err
	}
	if a.alerts, err = newAlerts(cfg.StateDir, cfg.Log, cfg.Registry, cfg.AlertCommand, cfg.AlertWebhook, cfg.Now); err != nil {
		a.lock.Release()
		return nil, err
	}
	a.metrics = newMetrics(cfg.Registry)
	a.metrics.entries.Set(float64(a.state.Scanned))
	return a, nil
}

// SetPublishers replaces the publishers file (on reload); it applies from
// the next pass.
func (a *Auditor) SetPublishers(p *trust.Publishers) error {
	a.passMu.Lock()
	defer a.passMu.Unlock()
	a.cfg.Publishers = p
	return nil
}

// SetTrustRoots replaces the pinned trust roots (on reload); it applies
// from the next pass. A root pinned after entries were audited needs a new
// audit (checkPins).
func (a *Auditor) SetTrustRoots(pins []*trust.Signed) error {
	a.passMu.Lock()
	defer a.passMu.Unlock()
	a.mu.Lock()
	st := a.state
	a.mu.Unlock()
	if err := checkPins(pins, st); err != nil {
		return err
	}
	a.cfg.TrustRoots = pins
	return nil
}

// Flush waits until every alert was handed to the command and webhook.
func (a *Auditor) Flush() { a.alerts.sending.Wait() }

// Close waits for alert deliveries and releases the state directory.
func (a *Auditor) Close() error {
	a.Flush()
	return a.lock.Release()
}

// Alerts returns the open alerts.
func (a *Auditor) Alerts() []Alert { return a.alerts.list(true) }

// AllAlerts returns every alert, resolved ones included.
func (a *Auditor) AllAlerts() []Alert { return a.alerts.list(false) }

// Run passes every interval until ctx is done.
func (a *Auditor) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := a.Pass(ctx); err != nil && ctx.Err() == nil {
			a.cfg.Log.Error("audit pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Pass does one round: follow the log to its latest checkpoint verifying
// every new entry, compare what every vantage point shows, check freshness
// and the mirrors. Conditions found raise alerts; conditions gone resolve
// theirs. The error is for a pass that could not run at all.
func (a *Auditor) Pass(ctx context.Context) error {
	a.passMu.Lock()
	defer a.passMu.Unlock()
	start := a.cfg.Now()
	a.alerts.beginPass()
	a.mu.Lock()
	st := a.state.clone()
	a.mu.Unlock()
	status := Status{Log: a.log.Origin(), LogURLs: a.reader.URLs(), Started: start}

	latest, err := a.followLog(ctx, st, &status)
	if err != nil && ctx.Err() != nil {
		return err
	}
	verified := a.verifiedView(st)
	if verified != nil {
		a.gossip(ctx, "log", latest, verified)
		a.witnesses(ctx, verified, &status)
		a.peers(ctx, verified)
		a.recheckPending(ctx, verified)
	}
	if len(a.cfg.TrustRoots) > 0 && verified != nil {
		if auth, err := a.authority(st); err == nil {
			a.checkListings(ctx, auth)
		}
	}
	a.mirrors(ctx, st, verified, &status)
	if err := st.save(a.cfg.StateDir); err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	a.alerts.endPass()
	status.Finished = a.cfg.Now()
	status.Scanned = st.Scanned
	status.Alerts = a.alerts.list(true)
	a.mu.Lock()
	a.state, a.status = st, status
	a.mu.Unlock()
	a.metrics.passes.Inc()
	a.metrics.lastPass.Set(float64(status.Finished.Unix()))
	return nil
}

func (a *Auditor) verifiedView(st *State) *checkpoint.Signed {
	if st.Checkpoint == nil {
		return nil
	}
	cp, err := checkpoint.Open(st.Checkpoint, a.log.Verifier())
	if err != nil {
		return nil
	}
	return cp
}

// followLog fetches the log's checkpoint, checks it against the verified
// view, verifies every new entry, and checks the log's freshness. It
// returns the raw checkpoint the log served.
func (a *Auditor) followLog(ctx context.Context, st *State, status *Status) ([]byte, error) {
	raw, err := a.reader.ReadCheckpoint(ctx)
	if err != nil {
		a.alerts.raise(AlertUnreachable, "log", fmt.Sprintf("cannot read the log's checkpoint: %v", err))
		return nil, err
	}
	r, verr := a.cfg.Policy.Verify(raw)
	var qe *policy.QuorumError
	if verr != nil && !errors.As(verr, &qe) {
		a.alerts.raise(AlertBadTree, "log checkpoint", fmt.Sprintf("the log serves a checkpoint that does not verify: %v", verr), raw)
		return raw, verr
	}
	cp := r.Checkpoint
	status.Size = cp.Size
	a.metrics.size.Set(float64(cp.Size))

	// Freshness: the newest quorum cosignatures.
	now := a.cfg.Now()
	if qt, ok := r.QuorumTime(); ok {
		status.QuorumTime = qt
		a.metrics.quorumTime.Set(float64(qt.Unix()))
		if age := now.Sub(qt); age > a.cfg.FreezeAfter {
			a.alerts.raise(AlertLogFrozen, "log", fmt.Sprintf("the log's newest quorum cosignatures are %s old (threshold %s): the log, or the mirror serving it, is frozen", round(age), a.cfg.FreezeAfter), raw)
		}
	} else if a.cfg.Policy.Quorum != "none" {
		a.alerts.raise(AlertLogFrozen, "log", fmt.Sprintf("the log's checkpoint is not cosigned by the quorum: %s", r.Summary()), raw)
	}
	for _, c := range r.Cosigned {
		status.LogCosigners = append(status.LogCosigners, CosignerStatus{Name: c.Witness.Name, Time: c.Time})
	}

	// Consistency with the verified view.
	if old := a.verifiedView(st); old != nil {
		if !a.consistent(ctx, "log", old, cp) {
			return raw, errors.New("the log's checkpoint is not consistent with the verified view")
		}
		if cp.Size < old.Size {
			return raw, nil // the log serves an older view; keep ours
		}
	}
	if err := a.catchUp(ctx, st, cp); err != nil {
		msg := err.Error()
		if strings.Contains(msg, "does not hash to its leaf") || strings.Contains(msg, "inconsistent tile") {
			a.alerts.raise(AlertBadTree, "log entries", fmt.Sprintf("the log's entries or tiles do not match its checkpoint of size %d: %v", cp.Size, err), raw)
		} else if ctx.Err() == nil {
			a.alerts.raise(AlertUnreachable, "log entries", fmt.Sprintf("reading the log's entries: %v", err))
		}
		return raw, err
	}
	st.Checkpoint = cp.Bytes()
	return raw, nil
}

func round(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}
