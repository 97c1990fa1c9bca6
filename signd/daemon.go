package signd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"treelog/internal/keyfile"
	"treelog/internal/untrusted"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/signer"
)

// DefaultUnlockFor is how long an unlock lasts unless configured.
const DefaultUnlockFor = 72 * time.Hour

// A Daemon holds the keys and decides what to sign. It starts locked.
type Daemon struct {
	cfg       *Config
	journal   *Journal
	log       *slog.Logger
	now       func() time.Time
	unlockFor time.Duration
	maxFuture time.Duration
	m         *metrics
	// afterCheck, if set (tests), runs after the tree was checked and
	// before the Manifest is read again.
	afterCheck func(origin string)

	encrypted map[string][]byte // key name -> encrypted key file

	mu          sync.Mutex
	signers     map[string]note.Signer // nil while locked
	lockedSince time.Time
	lockReason  string
	until       time.Time
	timer       *time.Timer
	broken      error
	originMu    map[string]*sync.Mutex
}

// An Option configures a Daemon.
type Option func(*Daemon)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(d *Daemon) { d.log = l } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(d *Daemon) { d.now = now } }

// WithUnlockFor sets how long an unlock lasts (default DefaultUnlockFor).
func WithUnlockFor(t time.Duration) Option { return func(d *Daemon) { d.unlockFor = t } }

// WithMaxFutureSkew sets how far a TIMESTAMP may be ahead of the clock
// (default 10 minutes, as the log allows): a build host cannot use up the
// future and so block every later snapshot.
func WithMaxFutureSkew(t time.Duration) Option { return func(d *Daemon) { d.maxFuture = t } }

// WithRegistry registers the daemon's metrics.
func WithRegistry(r prometheus.Registerer) Option {
	return func(d *Daemon) { d.m = newMetrics(r) }
}

// New returns a locked daemon for cfg, recording in j. It reads every key
// file now, so that a missing or unencrypted key fails at start.
func New(cfg *Config, j *Journal, opts ...Option) (*Daemon, error) {
	d := &Daemon{cfg: cfg, journal: j, log: slog.New(slog.DiscardHandler), now: time.Now,
		unlockFor: DefaultUnlockFor, maxFuture: 10 * time.Minute,
		encrypted: map[string][]byte{}, originMu: map[string]*sync.Mutex{}}
	for _, o := range opts {
		o(d)
	}
	if d.m == nil {
		d.m = newMetrics(nil)
	}
	if d.unlockFor <= 0 {
		return nil, errors.New("the unlock duration must be positive")
	}
	for _, k := range cfg.Keys {
		data, err := keyfile.ReadEncrypted(k.File)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k.Name, err)
		}
		d.encrypted[k.Name] = data
	}
	for o := range cfg.Origins {
		d.originMu[o] = &sync.Mutex{}
		if t := j.Last(o); !t.IsZero() {
			d.m.lastSigned.WithLabelValues(o).Set(float64(t.Unix()))
		}
	}
	d.m.journalRecs.Set(float64(j.Len()))
	d.lockedSince = d.now().UTC()
	d.lockReason = "started locked"
	d.m.locked.Set(1)
	d.log.Warn("locked: every request is refused until a person runs 'signd unlock'", "since", d.lockedSince.Format(time.RFC3339))
	return d, nil
}

func refuse(code, format string, args ...any) error {
	return &signer.RefusedError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Unlock decrypts every key with the passphrases (any passphrase may open
// any key). Either every key opens and the daemon signs until the unlock
// expires, or nothing changes.
func (d *Daemon) Unlock(passphrases []string) (until time.Time, err error) {
	signers := map[string]note.Signer{}
	var closed []string
	for _, k := range d.cfg.Keys {
		s, err := keyfile.DecryptSigner(d.encrypted[k.Name], passphrases...)
		if errors.Is(err, keyfile.ErrWrongPassphrase) {
			closed = append(closed, k.Name)
			continue
		}
		if err != nil {
			return time.Time{}, refuse(signer.CodeInternal, "key %s (%s): %v", k.Name, k.File, err)
		}
		if err := matches(s, k); err != nil {
			return time.Time{}, refuse(signer.CodeInternal, "key %s (%s): %v", k.Name, k.File, err)
		}
		signers[k.Name] = s
	}
	if len(closed) > 0 {
		d.m.unlocks.WithLabelValues("unlock", signer.CodeWrongPass).Inc()
		d.log.Warn("unlock refused: wrong passphrase", "keys", strings.Join(closed, ","))
		return time.Time{}, refuse(signer.CodeWrongPass, "no passphrase given opens key %s; the daemon stays locked", strings.Join(closed, ", "))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.signers = signers
	d.until = d.now().Add(d.unlockFor).UTC()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.timer = time.AfterFunc(d.unlockFor, d.relockIfDue)
	d.m.locked.Set(0)
	d.m.until.Set(float64(d.until.Unix()))
	d.m.unlocks.WithLabelValues("unlock", "ok").Inc()
	d.log.Info("unlocked", "keys", len(signers), "until", d.until.Format(time.RFC3339))
	return d.until, nil
}

// matches checks that a decrypted key is the one the origins file names.
func matches(s note.Signer, k KeyConfig) error {
	if s.Name() != k.Name || s.KeyHash() != k.Hash {
		return fmt.Errorf("the file holds key %s+%08x, not the configured %s+%08x", s.Name(), s.KeyHash(), k.Name, k.Hash)
	}
	probe := []byte("treelog signd key check\n")
	sig, err := s.Sign(probe)
	if err != nil || !k.verifier.Verify(probe, sig) {
		return fmt.Errorf("the file's key does not match the configured vkey %s", k.VKey)
	}
	return nil
}

// Lock forgets the decrypted keys at once.
func (d *Daemon) Lock(reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lockLocked(reason)
}

func (d *Daemon) lockLocked(reason string) {
	if d.signers == nil {
		return
	}
	// Go cannot wipe the key bytes behind the signers; dropping them
	// leaves them to the garbage collector.
	d.signers = nil
	d.lockedSince = d.now().UTC()
	d.lockReason = reason
	d.until = time.Time{}
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.m.locked.Set(1)
	d.m.until.Set(0)
	d.log.Warn("locked: every request is refused until a person runs 'signd unlock'", "since", d.lockedSince.Format(time.RFC3339), "reason", reason)
}

func (d *Daemon) relockIfDue() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.relockIfDueLocked()
}

func (d *Daemon) relockIfDueLocked() {
	if d.signers != nil && !d.now().Before(d.until) {
		d.lockLocked(fmt.Sprintf("the unlock expired after %s", d.unlockFor))
	}
}

// A Status is what the daemon tells an operator.
type Status struct {
	Locked      bool
	LockedSince time.Time // if locked
	LockReason  string
	Until       time.Time // if unlocked
	Keys        []KeyConfig
	Origins     []OriginStatus
}

// An OriginStatus is one origin's configuration and last signature.
type OriginStatus struct {
	OriginConfig
	Last time.Time
}

// Status returns the daemon's state.
func (d *Daemon) Status() Status {
	d.mu.Lock()
	d.relockIfDueLocked()
	st := Status{Locked: d.signers == nil, LockedSince: d.lockedSince, LockReason: d.lockReason, Until: d.until, Keys: d.cfg.Keys}
	d.mu.Unlock()
	for _, o := range d.cfg.OriginNames() {
		st.Origins = append(st.Origins, OriginStatus{OriginConfig: *d.cfg.Origins[o], Last: d.journal.Last(o)})
	}
	return st
}

// lockedError returns the refusal while locked, or nil and the signers.
func (d *Daemon) unlockedSigners(keys []string) ([]note.Signer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.relockIfDueLocked()
	if d.broken != nil {
		return nil, refuse(signer.CodeInternal, "the daemon stopped signing after a journal failure (%v); fix the disk and restart it", d.broken)
	}
	if d.signers == nil {
		return nil, refuse(signer.CodeLocked, "locked since %s (%s); a person must run 'signd unlock'", d.lockedSince.Format(time.RFC3339), d.lockReason)
	}
	var out []note.Signer
	for _, k := range keys {
		out = append(out, d.signers[k])
	}
	return out, nil
}

// Sign signs the MetaManifest req asks for, if the tree configured for its
// origin is exactly the one req describes (and verifies, unless configured
// off), its TIMESTAMP is newer than the last signed, and the keys are
// unlocked. The signature is in the journal, durably, before Sign returns
// it. A refusal is a *signer.RefusedError.
func (d *Daemon) Sign(ctx context.Context, peer Peer, req *metamanifest.MetaManifest) ([]byte, error) {
	out, err := d.sign(ctx, peer, req)
	outcome := "signed"
	var re *signer.RefusedError
	if errors.As(err, &re) {
		outcome = re.Code
	} else if err != nil {
		outcome = signer.CodeInternal
	}
	d.m.requests.WithLabelValues(outcome).Inc()
	if err != nil {
		d.log.Warn("refused", "origin", req.Origin, "timestamp", req.Timestamp.Format(time.RFC3339), "peer", peer.String(), "err", err)
	}
	return out, err
}

func (d *Daemon) sign(ctx context.Context, peer Peer, req *metamanifest.MetaManifest) ([]byte, error) {
	if _, err := d.unlockedSigners(nil); err != nil {
		return nil, err
	}
	oc, ok := d.cfg.Origins[req.Origin]
	if !ok {
		return nil, refuse(signer.CodeUnknownOrigin, "origin %q is not configured here (configured: %s)", req.Origin, strings.Join(d.cfg.OriginNames(), ", "))
	}
	if ahead := req.Timestamp.Sub(d.now()); ahead > d.maxFuture {
		return nil, refuse(signer.CodeFuture, "TIMESTAMP %s is %s in the future (allowed: %s)", req.Timestamp.Format(time.RFC3339), ahead.Round(time.Second), d.maxFuture)
	}
	// One request per origin at a time: the TIMESTAMP check, the journal
	// and the answer form one step.
	mu := d.originMu[req.Origin]
	mu.Lock()
	defer mu.Unlock()
	if last := d.journal.Last(req.Origin); !req.Timestamp.After(last) {
		return nil, refuse(signer.CodeStale, "TIMESTAMP %s is not newer than %s, the last this daemon signed for %s", req.Timestamp.Format(time.RFC3339), last.Format(time.RFC3339), req.Origin)
	}
	top, fi, err := readTop(oc.Dir)
	if err != nil {
		return nil, refuse(signer.CodeMismatch, "reading the tree of %s: %v", req.Origin, err)
	}
	m, err := metamanifest.New(req.Origin, top, req.Commit)
	if err != nil {
		return nil, refuse(signer.CodeMismatch, "the tree of %s in %s: %v", req.Origin, oc.Dir, err)
	}
	if err := describeMismatch(req, m, oc.Dir); err != nil {
		return nil, err
	}
	if oc.VerifyTree {
		r, err := manifest.Verify(ctx, oc.Dir, manifest.WithTopManifest(top))
		if err == nil {
			err = r.Error()
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("verifying the tree: %w", ctx.Err())
			}
			return nil, refuse(signer.CodeTreeInvalid, "the tree of %s in %s does not verify against its Manifests: %v", req.Origin, oc.Dir, err)
		}
	}
	if d.afterCheck != nil {
		d.afterCheck(req.Origin)
	}
	// The Manifest must not have changed while the tree was checked.
	top2, fi2, err := readTop(oc.Dir)
	if err != nil || string(top2) != string(top) || !os.SameFile(fi, fi2) || !fi.ModTime().Equal(fi2.ModTime()) {
		return nil, refuse(signer.CodeTreeChanged, "the top-level Manifest of %s in %s changed while the tree was being checked; try again once it is stable", req.Origin, oc.Dir)
	}
	signers, err := d.unlockedSigners(oc.Keys)
	if err != nil {
		return nil, err
	}
	msg, err := metamanifest.Sign(m, signers...)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	rec := &Record{Time: d.now().UTC().Truncate(time.Second), UID: peer.UID, PID: peer.PID, MetaManifest: msg, Origin: m.Origin, Timestamp: m.Timestamp}
	if err := d.journal.Append(rec); err != nil {
		d.mu.Lock()
		d.broken = err
		d.mu.Unlock()
		d.log.Error("journal write failed; refusing every request until restarted", "err", err)
		return nil, refuse(signer.CodeInternal, "recording the signature failed (%v); nothing was signed", err)
	}
	d.m.journalRecs.Set(float64(d.journal.Len()))
	d.m.lastSigned.WithLabelValues(m.Origin).Set(float64(m.Timestamp.Unix()))
	d.log.Info("signed", "origin", m.Origin, "timestamp", m.Timestamp.Format(time.RFC3339), "peer", peer.String())
	return msg, nil
}

// describeMismatch says which field of the request differs from the tree.
func describeMismatch(req, disk *metamanifest.MetaManifest, dir string) error {
	switch {
	case req.Text() == disk.Text():
		return nil
	case !req.Timestamp.Equal(disk.Timestamp):
		return refuse(signer.CodeMismatch, "the request's TIMESTAMP %s is not the TIMESTAMP %s of the Manifest in %s", req.Timestamp.Format(time.RFC3339), disk.Timestamp.Format(time.RFC3339), dir)
	case req.ManifestSize != disk.ManifestSize:
		return refuse(signer.CodeMismatch, "the top-level Manifest in %s is %d bytes, the request says %d", dir, disk.ManifestSize, req.ManifestSize)
	}
	return refuse(signer.CodeMismatch, "the top-level Manifest in %s does not have the hashes of the request (it changed, or the request is for another tree)", dir)
}

// readTop reads a tree's top-level Manifest, bounded, with its file info.
func readTop(dir string) ([]byte, os.FileInfo, error) {
	f, err := os.Open(filepath.Join(dir, manifest.TopManifestName))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > manifest.MaxSize {
		return nil, nil, fmt.Errorf("%s is not a regular file of at most %d bytes", f.Name(), manifest.MaxSize)
	}
	b, err := untrusted.ReadAll(f, manifest.MaxSize, f.Name())
	if err != nil {
		return nil, nil, err
	}
	if int64(len(b)) != fi.Size() {
		return nil, nil, fmt.Errorf("%s changed size while it was read", f.Name())
	}
	return b, fi, nil
}
