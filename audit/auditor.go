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
	"path/filepath"
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
	cfg    Config
	log    *policy.Log
	reader *tiles.HTTPReader // every log URL, the first that answers
	// prover proves against the verified view and keeps the tiles it
	// verifies under STATE/tiles: with them the auditor proves a smaller
	// checkpoint consistent with its view (or not) without the log, which
	// may be the one lying. probe proves against larger checkpoints that
	// are not (yet) verified; it reads the store but never writes it.
	prover, probe *tiles.Prover
	// views are the log URLs one by one: each is a view of the log to
	// compare with the others (with several --log-url).
	views   []logView
	alerts  *alerts
	metrics *metrics

	lock   *statefile.Lock // held while the auditor owns StateDir
	passMu sync.Mutex      // one pass at a time
	mu     sync.Mutex
	state  *State
	status Status
	seen   map[string][]byte // source -> latest checkpoint it showed
	// latest is the log's checkpoint this pass, verified under the policy.
	latest *policy.Result
	// gossiped are the sources that showed a checkpoint this pass.
	gossiped map[string]bool
}

// A logView is one log URL, read on its own.
type logView struct {
	url    string
	reader *tiles.HTTPReader
	prover *tiles.Prover
}

// A ConfigError is a configuration that cannot work, named: the auditor
// refuses to start rather than raise alerts about its own mistakes.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return "auditor: " + e.Msg }

func configErr(format string, args ...any) error {
	return &ConfigError{Msg: fmt.Sprintf(format, args...)}
}

// New returns an auditor, resuming from the state in cfg.StateDir. A
// configuration that cannot work is a *ConfigError, a state directory in
// use or corrupt a *StateError.
func New(cfg Config) (*Auditor, error) {
	if cfg.Policy == nil || (cfg.Publishers == nil && len(cfg.TrustRoots) == 0) || cfg.StateDir == "" {
		return nil, configErr("a policy, a publishers file or pinned trust roots, and a state directory are required")
	}
	if cfg.Publishers != nil && len(cfg.Publishers.Origins()) == 0 {
		return nil, configErr("the publishers file lists no publisher: every entry would be an alert")
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
	a := &Auditor{cfg: cfg, seen: map[string][]byte{}}
	switch {
	case cfg.LogOrigin != "":
		if a.log = cfg.Policy.Log(cfg.LogOrigin); a.log == nil {
			return nil, configErr("--log-origin %q is not a log of the policy", cfg.LogOrigin)
		}
	case len(cfg.Policy.Logs) == 1:
		a.log = cfg.Policy.Logs[0]
	case len(cfg.Policy.Logs) == 0:
		return nil, configErr("the policy names no log")
	default:
		return nil, configErr("the policy names %d logs: choose one with --log-origin", len(cfg.Policy.Logs))
	}
	if err := checkConfigURLs(cfg); err != nil {
		return nil, err
	}
	urls := cfg.LogURLs
	if len(urls) == 0 && a.log.URL != "" {
		urls = []string{a.log.URL}
	}
	if len(urls) == 0 {
		return nil, configErr("no URL for log %s: give --log-url, or put one on its line in the policy", a.log.Origin())
	}
	var err error
	if a.reader, err = tiles.NewHTTPReader(urls, tiles.WithClient(cfg.HTTPClient), tiles.WithMaxEntrySize(trust.MaxEntrySize)); err != nil {
		return nil, configErr("log URL: %v", err)
	}
	if a.lock, err = lockState(cfg.StateDir); err != nil {
		return nil, err
	}
	store, err := tiles.NewDirStore(filepath.Join(cfg.StateDir, "tiles"))
	if err != nil {
		a.lock.Release()
		return nil, &StateError{fmt.Errorf("auditor tile store: %w", err)}
	}
	store.MaxTiles = 1 << 24 // 32 bytes an entry: the log's own hashes
	a.prover = tiles.NewProver(a.reader, 1024).WithStore(store)
	a.probe = tiles.NewProver(a.reader, 256).WithStore(readOnly{store})
	if len(urls) > 1 {
		for _, u := range urls {
			r, _ := tiles.NewHTTPReader([]string{u}, tiles.WithClient(cfg.HTTPClient), tiles.WithMaxEntrySize(trust.MaxEntrySize))
			a.views = append(a.views, logView{url: u, reader: r, prover: tiles.NewProver(r, 64).WithStore(readOnly{store})})
		}
	}
	if a.state, err = loadState(cfg.StateDir); err != nil {
		a.lock.Release()
		return nil, err
	}
	if err := checkPins(cfg.TrustRoots, a.state); err != nil {
		a.lock.Release()
		return nil, &ConfigError{Msg: err.Error()}
	}
	if a.alerts, err = newAlerts(cfg.StateDir, cfg.Log, cfg.Registry, cfg.AlertCommand, cfg.AlertWebhook, cfg.Now); err != nil {
		a.lock.Release()
		return nil, &StateError{err}
	}
	a.metrics = newMetrics(cfg.Registry)
	a.metrics.entries.Set(float64(a.state.Scanned))
	return a, nil
}

// checkConfigURLs checks every URL the configuration gives, naming the
// setting: "127.0.0.1:7395" without a scheme is a mistake to report at
// start, not a mirror to alert on forever.
func checkConfigURLs(cfg Config) error {
	for _, u := range cfg.LogURLs {
		if err := policy.CheckURL(u); err != nil {
			return configErr("--log-url: %v", err)
		}
	}
	names := map[string]bool{}
	for _, m := range cfg.Mirrors {
		if m.Name == "" || names[m.Name] {
			return configErr("--mirror %q=%q: each mirror needs a name of its own", m.Name, m.URL)
		}
		names[m.Name] = true
		if err := policy.CheckURL(m.URL); err != nil {
			return configErr("--mirror %s: %v", m.Name, err)
		}
	}
	for _, p := range cfg.Peers {
		if err := policy.CheckURL(p); err != nil {
			return configErr("--peer: %v", err)
		}
	}
	if cfg.AlertWebhook != "" {
		if err := policy.CheckURL(cfg.AlertWebhook); err != nil {
			return configErr("--alert-webhook: %v", err)
		}
	}
	return nil
}

// readOnly lets a prover use verified tiles without storing its own: only
// the verified view's tiles go into the store.
type readOnly struct{ tiles.Store }

func (readOnly) Put(uint64, uint64, uint8, []byte) {}

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
// theirs. The error is for a pass that could not run at all (its state
// could not be saved, or ctx ended); a vantage point that cannot be read
// is an "unreachable" alert instead.
func (a *Auditor) Pass(ctx context.Context) error {
	a.passMu.Lock()
	defer a.passMu.Unlock()
	start := a.cfg.Now()
	a.alerts.beginPass()
	a.mu.Lock()
	st := a.state.clone()
	a.mu.Unlock()
	a.gossiped = map[string]bool{}
	status := Status{Log: a.log.Origin(), LogURLs: a.reader.URLs(), Started: start}

	a.latest = a.followLog(ctx, st, &status)
	if err := ctx.Err(); err != nil {
		return err
	}
	verified := a.verifiedView(st)
	if verified != nil {
		a.logViews(ctx, st, verified)
		a.witnesses(ctx, st, verified, &status)
		a.peers(ctx, st, verified)
		a.recheckPending(ctx, st, verified)
		a.checkServedIndex(ctx, st, verified)
	}
	if len(a.cfg.TrustRoots) > 0 && verified != nil {
		if auth, err := a.authority(st); err == nil {
			a.checkListings(ctx, auth)
		}
	}
	a.mirrors(ctx, st, &status)
	if err := ctx.Err(); err != nil {
		return err
	}
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

// unreachable raises the alert for a vantage point that could not be
// read: an outage, never evidence, resolved once it answers again.
func (a *Auditor) unreachable(subject, format string, args ...any) {
	a.alerts.raise(AlertUnreachable, subject, fmt.Sprintf(format, args...))
}

// readFailure raises the alert that an error reading the log calls for:
// an outage is "unreachable"; tiles or entries that do not match the
// checkpoint the log signed are "bad-tree", with that checkpoint.
func (a *Auditor) readFailure(subject string, err error, cp []byte, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if errors.Is(err, tiles.ErrMismatch) {
		a.alerts.raise(AlertBadTree, subject, fmt.Sprintf("%s: %v", msg, err), cp)
		return
	}
	a.unreachable(subject, "%s: %v", msg, err)
}

// followLog fetches the log's checkpoint, checks it against the verified
// view, verifies every new entry, and checks the log's freshness. It
// returns the log's checkpoint verified under the policy (nil if it
// could not be read or does not verify).
func (a *Auditor) followLog(ctx context.Context, st *State, status *Status) *policy.Result {
	raw, err := a.reader.ReadCheckpoint(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.unreachable("log", "cannot read the log's checkpoint: %v", err)
		}
		return nil
	}
	r, verr := a.cfg.Policy.Verify(raw)
	var qe *policy.QuorumError
	if verr != nil && !errors.As(verr, &qe) {
		a.alerts.raise(AlertBadTree, "log checkpoint", fmt.Sprintf("the log serves a checkpoint that does not verify: %v", verr), raw)
		return nil
	}
	a.mu.Lock()
	a.seen["log"] = raw
	a.mu.Unlock()
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

	// Consistency with the verified view: a smaller or equal checkpoint is
	// proven from the tiles this auditor verified (the log serving it may
	// serve matching tiles of its own); a larger one from the log's.
	old := a.verifiedView(st)
	if old != nil && cp.Size <= old.Size {
		if o, err := a.prove(ctx, "log", cp, old, a.prover); o == unproven {
			a.raiseUnproven("log", cp, old, a.cfg.Now(), err)
		}
		if cp.Size < old.Size || cp.Hash != old.Hash {
			return r // the log serves an older view (or a fork); keep ours
		}
	}
	if old != nil && cp.Size > old.Size {
		switch o, err := a.prove(ctx, "log", old, cp, a.prover); o {
		case inconsistent:
			return r
		case unproven:
			a.readFailure("log", err, raw, "the log cannot prove its checkpoint of size %d consistent with the verified one of size %d", cp.Size, old.Size)
			return r
		}
	}
	var prev *policy.Result
	if old != nil {
		prev, _ = a.cfg.Policy.Verify(old.Bytes())
	}
	if err := a.catchUp(ctx, st, cp, prev, r); err != nil {
		if ctx.Err() == nil {
			a.readFailure("log entries", err, raw, "reading the log's entries up to its checkpoint of size %d", cp.Size)
		}
		return r
	}
	st.Checkpoint = cp.Bytes()
	return r
}

func round(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}
