// Package client is what a user runs before using a tree synced from an
// untrusted mirror: it refuses the tree unless it is exactly what the
// publisher logged, the log entry is witnessed, the view of the log is
// consistent with everything this client saw before, no newer snapshot
// has been in the log for longer than a mirror may lag, and the snapshot
// is fresh — and it says which of these failed, with evidence.
package client

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"treelog/checkpoint"
	"treelog/index"
	"treelog/internal/untrusted"
	"treelog/lag"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/pgpsig"
	"treelog/policy"
	"treelog/tiles"
	"treelog/trust"
)

// Config configures a verification.
type Config struct {
	// Policy names the trusted logs, witnesses and quorum (tlog-policy).
	Policy *policy.Policy
	// Publishers says which keys may publish which tree (the simple
	// mode): those no pinned trust root governs.
	Publishers *trust.Publishers
	// TrustRoots are the pinned trust roots (each opened with trust.Open):
	// followed through the log, they say who may publish the origins in
	// their scope. At least one of Publishers and TrustRoots is needed.
	TrustRoots []*trust.Signed
	// AcceptOld accepts a snapshot older than MaxAge, or older than one
	// the log or this client knows (old installation media): the result
	// says when it was published.
	AcceptOld bool
	// Origin, if set, is the tree this directory must hold: a mirror that
	// serves another tree the publishers file allows (an overlay in place
	// of the main tree) is refused.
	Origin string
	// StateDir holds the client's trusted state (default DefaultStateDir),
	// and in its CacheDir the verification cache of each tree verified,
	// online or offline: a file unchanged since it last matched the same
	// Manifest entry is not read again (see manifest.WithCache).
	StateDir string
	// Full hashes every file of the tree, trusting nothing from the
	// verification cache (which is then written afresh).
	Full bool
	// MaxAge is how old the newest witness quorum and the snapshot may be
	// (default 24h).
	MaxAge time.Duration
	// MaxLag is how long a newer snapshot of the tree may have been in the
	// log while a mirror still serves this one (default 2h; see package
	// lag).
	MaxLag time.Duration
	// MaxClockSkew is how far in the future a cosignature may be (default
	// 10 minutes).
	MaxClockSkew time.Duration
	// LogURLs are the log and its mirrors, tried in order (default: the
	// policy's URL for the log).
	LogURLs []string
	// Offline skips every check that needs the network or the state (the
	// verification cache, which holds no trust, is still used).
	Offline bool
	// NoIndex reads the log's entries after the snapshot to find newer
	// ones, instead of the log's index: it costs more, and trusts the
	// witnesses alone, not the auditors, for the index's completeness.
	// With pinned TrustRoots the entries are always read (every trust-root
	// version after the snapshot must be seen).
	NoIndex bool
	// ProceedIfUnreachable, when the log cannot be read, runs the offline
	// checks instead of the consistency and replay checks (the rollback
	// check against this client's state still runs) and reports those two
	// as skipped, with why. Off by default: a user who turns it on accepts
	// that a mirror which also blocks the log can serve an old snapshot
	// (up to MaxAge) without being caught.
	ProceedIfUnreachable bool
	// OpenPGP, if set, requires the top-level Manifest to be OpenPGP
	// cleartext-signed by one of its keys (the distribution's own
	// signature, logged unchanged).
	OpenPGP *pgpsig.Keyring
	// Now is the clock (default time.Now).
	Now func() time.Time
	// HTTPClient fetches from the log (default: 30s timeout).
	HTTPClient *http.Client
	// Progress shows tree verification progress on a terminal.
	Progress io.Writer
	// OnCheck is told each check's outcome as it happens.
	OnCheck func(Check)
}

// Check names, in the order they run.
const (
	CheckPublisher   = "publisher"
	CheckProof       = "proof"
	CheckConsistency = "consistency"
	CheckReplay      = "replay"
	CheckFreshness   = "freshness"
	CheckTree        = "tree"
)

// A Check is the outcome of one step.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // "ok", "skipped" or "failed"
	Detail string `json:"detail"`
}

// A Result describes a verified tree (or how far the checks got).
type Result struct {
	Origin       string    `json:"origin"`
	Timestamp    time.Time `json:"timestamp"`
	Index        uint64    `json:"index"`
	Log          string    `json:"log"`
	ProofSize    uint64    `json:"proof_checkpoint_size"`
	LatestSize   uint64    `json:"latest_checkpoint_size,omitempty"`
	Cosigners    []string  `json:"cosigners"`
	QuorumTime   time.Time `json:"quorum_time,omitzero"`
	TrustRoot    string    `json:"trust_root,omitempty"`
	OldSnapshot  string    `json:"old_snapshot,omitempty"`
	Files        int64     `json:"files"`
	Bytes        int64     `json:"bytes"`
	FilesReused  int64     `json:"files_reused"` // of Files, unchanged since they last verified: not read
	Cache        string    `json:"cache,omitempty"`
	BytesFetched int64     `json:"bytes_fetched"`
	Requests     int64     `json:"requests"`
	// Index is the log size the log's index covered when the replay
	// check read it, and whether it did.
	IndexSize uint64 `json:"index_size,omitempty"`
	UsedIndex bool   `json:"used_index,omitempty"`
	// Lag is the judgment of newer snapshots, when the log holds some.
	Lag *lag.Verdict `json:"lag,omitempty"`
	// Unreachable, with ProceedIfUnreachable, is why the log could not be
	// read: the consistency and replay checks were skipped.
	Unreachable string        `json:"log_unreachable,omitempty"`
	Checks      []Check       `json:"checks"`
	Elapsed     time.Duration `json:"elapsed_ns"`
}

type run struct {
	ctx    context.Context
	cfg    Config
	res    *Result
	reader *tiles.HTTPReader
	prover *tiles.Prover
	log    *policy.Log
	// seenVersions are the trust-root versions the replay check read;
	// newer, the newer snapshots of the origin it found, to be judged by
	// the trust roots.
	seenVersions []trust.Version
	newer        []loggedEntry
	auth         *trust.Authority // the roots as followed (trust.go)
}

type loggedEntry struct {
	index uint64
	entry []byte
}

// report records a check's outcome; its detail may quote outside text, so
// it is escaped.
func (r *run) report(name, status, format string, args ...any) {
	c := Check{Name: name, Status: status, Detail: untrusted.Escape(fmt.Sprintf(format, args...))}
	r.res.Checks = append(r.res.Checks, c)
	if r.cfg.OnCheck != nil {
		r.cfg.OnCheck(c)
	}
}

func (r *run) fail(f *Failure) error {
	r.report(f.Check, "failed", "%s", f.Msg)
	return f
}

// failRead turns an error of reading the log during check into the
// outcome: an outage (tiles.ErrUnavailable) is an *UncheckedError (which
// verify reports), anything else bad data, refused.
func (r *run) failRead(check string, err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if errors.Is(err, tiles.ErrUnavailable) {
		return &UncheckedError{Check: check, Err: fmt.Errorf("%s: %w", msg, err)}
	}
	return r.fail(failf(check, nil, "%s: %v", msg, err))
}

// Verify checks the tree in dir, in this order, stopping at the first
// failure: (1) DIR/.treelog/MetaManifest is signed by a key allowed for its
// origin; (2) its tlog-proof proves inclusion under a checkpoint signed by
// a policy log and cosigned by the quorum; (3) that checkpoint is
// consistent with the last one this client trusted, and the newer is
// stored; (4) the snapshot is not older than one this client saw
// (rollback), and every newer snapshot of the origin in the log's latest
// witnessed checkpoint entered the log less than MaxLag ago (replay); with
// pinned trust roots, (4b) each root is
// followed through the log and the MetaManifest judged by the version in
// force at its index (CheckTrustRoot); (5) the newest quorum cosignature
// and the snapshot are within MaxAge (freeze); (6) the tree matches the
// MetaManifest. With pinned trust roots, (1) checks only the syntax.
//
// It returns a *Failure when the tree or its proofs are bad, an
// *UncheckedError when the log could not be read, a *LocalError when this
// client's state is broken and a *ConfigError when the configuration
// cannot work.
func Verify(ctx context.Context, dir string, cfg Config) (*Result, error) {
	start := time.Now()
	if cfg.Policy == nil || (cfg.Publishers == nil && len(cfg.TrustRoots) == 0) {
		return nil, &ConfigError{Msg: "a policy, and a publishers file or pinned trust roots, are required"}
	}
	if len(cfg.Policy.Logs) == 0 {
		return nil, &ConfigError{Msg: "the policy names no log"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.MaxLag == 0 {
		cfg.MaxLag = 2 * time.Hour
	}
	if cfg.MaxClockSkew == 0 {
		cfg.MaxClockSkew = 10 * time.Minute
	}
	if cfg.StateDir == "" {
		cfg.StateDir = DefaultStateDir()
	}
	r := &run{ctx: ctx, cfg: cfg, res: &Result{}}
	err := r.verify(dir)
	r.res.Elapsed = time.Since(start)
	if r.reader != nil {
		r.res.BytesFetched = r.reader.BytesRead.Load()
		r.res.Requests = r.reader.Requests.Load()
	}
	return r.res, err
}

func (r *run) verify(dir string) error {
	cfg := r.cfg
	mmPath, proofPath := metamanifest.Paths(dir)

	// 1. The publisher's signature.
	mmBytes, err := untrusted.ReadFile(mmPath, metamanifest.MaxSize, "the MetaManifest")
	if err != nil {
		return r.fail(failf(CheckPublisher, nil, "reading %s: %v (is this a tree published with treelog?)", mmPath, err))
	}
	mm, err := r.publisher(mmBytes)
	if err != nil {
		return r.fail(failf(CheckPublisher, nil, "%v", err))
	}
	r.res.Origin, r.res.Timestamp = mm.Origin, mm.Timestamp
	if cfg.Origin != "" && mm.Origin != cfg.Origin {
		return r.fail(failf(CheckPublisher, nil, "this is a snapshot of %s, not of %s: the mirror serves another tree", mm.Origin, cfg.Origin))
	}
	judged := ""
	if len(cfg.TrustRoots) > 0 {
		judged = " (keys judged by the trust-root check)"
	}
	r.report(CheckPublisher, "ok", "MetaManifest of %s, TIMESTAMP %s, signed by %s%s", mm.Origin, mm.Timestamp.Format(time.RFC3339), strings.Join(signatureNames(mm), ", "), judged)
	if err := r.checkOpenPGP(dir, mm); err != nil {
		return err
	}

	// 2. Inclusion under a witnessed checkpoint.
	proofBytes, err := untrusted.ReadFile(proofPath, checkpoint.MaxProofSize, "the proof")
	if err != nil {
		return r.fail(failf(CheckProof, nil, "reading %s: %v", proofPath, err))
	}
	vopts := []policy.VerifyOption{policy.WithMaxFutureSkew(cfg.MaxClockSkew), policy.WithClock(cfg.Now)}
	pr, err := cfg.Policy.VerifyProof(proofBytes, mmBytes, vopts...)
	if err != nil {
		return r.fail(failf(CheckProof, nil, "%v", err))
	}
	r.log = pr.Log
	r.res.Log, r.res.Index, r.res.ProofSize = pr.Log.Origin(), pr.Index(), pr.Checkpoint.Size
	r.res.Cosigners = cosigners(pr.Result)
	r.res.QuorumTime, _ = pr.QuorumTime()
	r.report(CheckProof, "ok", "entry %d of %s under a checkpoint of size %d; %s", pr.Index(), pr.Log.Origin(), pr.Checkpoint.Size, pr.Summary())
	freshest := pr.Result

	if cfg.Offline {
		r.report(CheckConsistency, "skipped", "offline: not compared with this client's earlier view of the log")
		r.report(CheckReplay, "skipped", "offline: the log was not asked for newer snapshots, and rollback was not checked against the stored state")
		if err := r.trustRootsOffline(mmBytes, pr.Index()); err != nil {
			return err
		}
	} else {
		latest, err := r.online(mm, mmBytes, pr)
		var ue *UncheckedError
		switch {
		case errors.As(err, &ue) && cfg.ProceedIfUnreachable:
			r.res.Unreachable = untrusted.Escape(ue.Err.Error())
			skipped := map[string]bool{CheckConsistency: true, CheckReplay: true}
			for _, c := range r.res.Checks {
				if c.Status == "ok" {
					delete(skipped, c.Name)
				}
			}
			for _, name := range []string{CheckConsistency, CheckReplay} {
				if skipped[name] {
					r.report(name, "skipped", "NOT CHECKED: the log is unreachable and --proceed-if-log-unreachable is set (%s)", r.res.Unreachable)
				}
			}
			if err := r.trustRootsOffline(mmBytes, pr.Index()); err != nil {
				return err
			}
		case ue != nil:
			r.report(ue.Check, "failed", "%s", ue.Error())
			return err
		case err != nil:
			return err
		default:
			freshest = latest
		}
	}

	// 5. Freshness.
	now := cfg.Now()
	qt, ok := freshest.QuorumTime()
	switch {
	case !ok:
		r.report(CheckFreshness, "ok", "the policy needs no witnesses, so the log's freshness is not vouched for")
	case now.Sub(qt) > cfg.MaxAge && cfg.AcceptOld && cfg.Offline:
		r.report(CheckFreshness, "ok", "--accept-old, offline: the proof's witness quorum cosigned %s ago", lag.Words(now.Sub(qt)))
	case now.Sub(qt) > cfg.MaxAge:
		return r.fail(failf(CheckFreshness, nil, "the newest cosignatures by the witness quorum are %s old (max %s): the log, or the mirror serving it, may be frozen", lag.Words(now.Sub(qt)), lag.Words(cfg.MaxAge)))
	}
	if age := now.Sub(mm.Timestamp); age > cfg.MaxAge && cfg.AcceptOld {
		r.res.OldSnapshot = oldSnapshot(mm.Timestamp, age)
		r.report(CheckFreshness, "ok", "accepted as old (--accept-old): %s", r.res.OldSnapshot)
	} else if age > cfg.MaxAge {
		return r.fail(failf(CheckFreshness, nil, "this snapshot was published %s ago (max %s); a mirror may be withholding updates", lag.Words(age), lag.Words(cfg.MaxAge)))
	}
	if ok && r.res.OldSnapshot == "" {
		r.res.QuorumTime = qt
		r.report(CheckFreshness, "ok", "snapshot published %s ago; witness quorum cosigned %s ago", lag.Words(now.Sub(mm.Timestamp)), lag.Words(now.Sub(qt)))
	}

	// 6. The tree itself.
	mopts := []manifest.Option{manifest.WithProgress(cfg.Progress), manifest.WithCache(filepath.Join(cfg.StateDir, CacheDir))}
	if cfg.Full {
		mopts = append(mopts, manifest.WithFull())
	}
	rep, err := metamanifest.VerifyTree(r.ctx, dir, mm.MetaManifest, mopts...)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return r.fail(failf(CheckTree, nil, "%v", err))
	}
	r.res.Files, r.res.Bytes, r.res.FilesReused, r.res.Cache = rep.Files, rep.Bytes, rep.Reused, rep.Cache
	if err := rep.Error(); err != nil {
		return r.fail(failf(CheckTree, nil, "the files do not match the Manifests: %s", strings.TrimPrefix(err.Error(), "tree does not verify: ")))
	}
	detail := fmt.Sprintf("%d files (%.1f MB) match the MetaManifest", rep.Files, float64(rep.Bytes)/1e6)
	if rep.Reused > 0 {
		detail += fmt.Sprintf(", %d of them unchanged since they last verified (not read)", rep.Reused)
	}
	r.report(CheckTree, "ok", "%s; verification cache: %s", detail, rep.Cache)
	return nil
}

// online runs checks 3 and 4 and returns the latest checkpoint's result.
func (r *run) online(mm *metamanifest.Signed, mmBytes []byte, pr *policy.ProofResult) (*policy.Result, error) {
	cfg := r.cfg
	lock, err := lockState(r.ctx, cfg.StateDir)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	st, err := LoadState(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	// Rollback against this client's own state needs no network: it runs
	// first, so that an unreachable log never lets one through.
	if ts, ok := st.Trees[mm.Origin]; ok && mm.Timestamp.Before(ts.Timestamp) && !cfg.AcceptOld {
		return nil, r.fail(failf(CheckReplay, [][]byte{ts.MetaManifest, mmBytes},
			"rollback: this snapshot's TIMESTAMP %s is older than %s (log index %d), which this client already accepted",
			mm.Timestamp.Format(time.RFC3339), ts.Timestamp.Format(time.RFC3339), ts.Index))
	}
	urls := cfg.LogURLs
	if len(urls) == 0 && r.log.URL != "" {
		urls = []string{r.log.URL}
	}
	if len(urls) == 0 {
		return nil, &ConfigError{Msg: fmt.Sprintf("the policy gives no URL for log %s: add one to its log line, give --log URL, or run --offline", r.log.Origin())}
	}
	opts := []tiles.HTTPOption{tiles.WithMaxEntrySize(trust.MaxEntrySize)}
	if cfg.HTTPClient != nil {
		opts = append(opts, tiles.WithClient(cfg.HTTPClient))
	}
	r.reader, err = tiles.NewHTTPReader(urls, opts...)
	if err != nil {
		return nil, &ConfigError{Msg: err.Error()}
	}
	r.prover = r.newProver()

	// 3. Consistency with the trusted view.
	var stored *policy.Result
	trusted := pr.Checkpoint
	if ls, ok := st.Logs[r.log.Origin()]; ok {
		stored, err = cfg.Policy.Verify(ls.Checkpoint)
		var qe *policy.QuorumError
		if err != nil && !errors.As(err, &qe) {
			return nil, &LocalError{Path: filepath.Join(cfg.StateDir, StateFile), Err: fmt.Errorf("stored checkpoint of %s: %w", r.log.Origin(), err)}
		}
		if err := r.consistent(stored.Checkpoint, pr.Checkpoint); err != nil {
			return nil, err
		}
		r.report(CheckConsistency, "ok", "the proof's checkpoint (size %d) is consistent with the one this client trusted (size %d)", pr.Checkpoint.Size, stored.Checkpoint.Size)
		if stored.Checkpoint.Size > trusted.Size {
			trusted = stored.Checkpoint
		}
	} else {
		r.report(CheckConsistency, "ok", "first use of log %s: trusting the proof's checkpoint (size %d)", r.log.Origin(), pr.Checkpoint.Size)
	}
	if err := r.storeCheckpoint(st, trusted); err != nil {
		return nil, err
	}

	// 4. Replay: newer snapshots, and how long they have been logged.
	raw, err := r.reader.ReadCheckpoint(r.ctx)
	if err != nil {
		return nil, r.failRead(CheckReplay, err, "fetching the log's latest checkpoint")
	}
	lr, err := cfg.Policy.Verify(raw, r.vopts()...)
	if err != nil {
		return nil, r.fail(failf(CheckReplay, nil, "the log's latest checkpoint does not verify: %v", err))
	}
	if lr.Log != r.log {
		return nil, r.fail(failf(CheckReplay, nil, "the checkpoint at the log's URL is for %s, not %s", lr.Log.Origin(), r.log.Origin()))
	}
	// The log's index, if it has one, proven under a checkpoint of its
	// own (index/latest may be a little behind or ahead of /checkpoint).
	var ix *index.Latest
	var ixRaw []byte
	if !cfg.NoIndex && len(cfg.TrustRoots) == 0 {
		ix, ixRaw, err = r.readIndex()
		if errors.Is(err, errNoIndex) {
			ix = nil
		} else if err != nil {
			return nil, err
		}
	}
	if err := r.consistent(trusted, lr.Checkpoint); err != nil {
		return nil, err
	}
	if ix != nil {
		if err := r.consistent(ix.Proof.Checkpoint, lr.Checkpoint); err != nil {
			return nil, err
		}
		if ix.Proof.Checkpoint.Size > lr.Checkpoint.Size {
			lr = ix.Proof.Result
		}
	}
	if lr.Checkpoint.Size >= trusted.Size {
		if err := r.storeCheckpoint(st, lr.Checkpoint); err != nil {
			return nil, err
		}
	}
	r.res.LatestSize = lr.Checkpoint.Size
	// When each entered the log, from every witnessed checkpoint this run
	// holds: the proof's, the one this client trusted before, the latest,
	// and the one the index entry carries.
	known := []*policy.Result{pr.Result, stored, lr}
	if ix != nil {
		known = append(known, ix.Proof.Result, ix.Checkpoint)
	}
	entered := func(index uint64, ts time.Time) time.Time {
		var b lag.Bounds
		for _, k := range known {
			b.Learn(k, index)
		}
		return b.Entered(ts)
	}
	var snaps []lag.Snapshot
	scanFrom, scan, cut := pr.Index(), true, false
	if ix != nil {
		// A walk back through the index far past the lag can stop: a
		// snapshot that entered the log longer ago than the lag decides
		// the verdict. (The first few are read anyway, for the message.)
		walked := 0
		stale := func(n newer) bool {
			walked++
			return walked >= maxWalkPastLag && !cfg.AcceptOld && !cfg.Now().Before(entered(n.Index, n.Timestamp).Add(cfg.MaxLag))
		}
		fi, err := r.lookIndex(mm, mmBytes, pr.Index(), ix, ixRaw, stale)
		switch {
		case errors.Is(err, errNoIndex):
			// This mirror lacks some of the index: read the log instead.
		case err != nil:
			return nil, err
		default:
			r.res.UsedIndex, r.res.IndexSize = true, ix.Entry.Size
			for _, n := range fi.newer {
				snaps = append(snaps, lag.Snapshot{Index: n.Index, Timestamp: n.Timestamp})
			}
			scanFrom, cut = fi.gap-1, fi.cut
			scan = !cut && !cfg.AcceptOld && !r.indexVouches(ix)
		}
	}
	if scan {
		if err := r.scanNewer(mm, scanFrom, lr.Checkpoint); err != nil {
			return nil, err
		}
	}
	if err := r.trustRoots(mmBytes, pr.Index(), lr.Checkpoint); err != nil {
		return nil, err
	}
	snaps = append(snaps, r.newerAllowed()...)
	for i := range snaps {
		snaps[i].Entered = entered(snaps[i].Index, snaps[i].Timestamp)
	}
	v := lag.Judge(snaps, cfg.MaxLag, cfg.Now())
	if v.Newer > 0 {
		r.res.Lag = &v
	}
	how := ""
	if r.res.UsedIndex {
		how = fmt.Sprintf(", read from its index as of size %d", ix.Entry.Size)
		if !scan {
			how += " (the entries after it cannot matter)"
		} else {
			how += " and the entries after it"
		}
	}
	switch {
	case cfg.AcceptOld:
		r.report(CheckReplay, "ok", "--accept-old: newer snapshots of %s in the log (size %d, consistent) are not held against this one", mm.Origin, lr.Checkpoint.Size)
	case !v.OK:
		evidence := [][]byte{v.Newest.Entry, mmBytes}
		if v.Newest.Entry == nil {
			evidence[0] = ixRaw // found in the index: its signed entry
		}
		msg := fmt.Sprintf("%s; a mirror may be serving an old snapshot", v)
		if cut {
			msg += " (the index was read back only to the first newer snapshot logged longer ago than that: there may be more)"
		}
		return nil, r.fail(failf(CheckReplay, evidence, "%s", msg))
	default:
		r.report(CheckReplay, "ok", "the log's latest checkpoint (size %d, consistent%s): %s", lr.Checkpoint.Size, how, v)
	}
	if ts, ok := st.Trees[mm.Origin]; !ok || mm.Timestamp.After(ts.Timestamp) {
		st.Trees[mm.Origin] = TreeState{Timestamp: mm.Timestamp, Index: pr.Index(), MetaManifest: mmBytes}
		if err := st.Save(cfg.StateDir); err != nil {
			return nil, err
		}
	}
	return lr, nil
}

func (r *run) vopts() []policy.VerifyOption {
	return []policy.VerifyOption{policy.WithMaxFutureSkew(r.cfg.MaxClockSkew), policy.WithClock(r.cfg.Now)}
}

// indexVouches reports whether the entries after the index cannot make
// the snapshot stale: the witnesses cosigned the index entry's checkpoint
// late enough that no later entry entered the log before now minus the
// allowed lag (docs/design.md, "Why the entries after N can be skipped").
func (r *run) indexVouches(ix *index.Latest) bool {
	if ix.Checkpoint == nil {
		return false
	}
	t, ok := ix.Checkpoint.NoneLargerBefore()
	return ok && t.After(r.cfg.Now().Add(-r.cfg.MaxLag))
}

// newProver returns a prover over the log's URLs that keeps verified tiles
// in the state directory, so that later runs can prove a smaller
// checkpoint consistent with the trusted one without the log's help.
func (r *run) newProver() *tiles.Prover {
	p := tiles.NewProver(r.reader, 256)
	if ts, err := tiles.NewDirStore(filepath.Join(r.cfg.StateDir, "tiles", fmt.Sprintf("%x", sha256.Sum256([]byte(r.log.Origin()))))); err == nil {
		p.WithStore(ts)
	}
	return p
}

// consistent checks that two checkpoints of the log are consistent: the
// same root at the same size, else a consistency proof from the smaller to
// the larger, read from tiles verified against the larger.
func (r *run) consistent(a, b *checkpoint.Signed) error {
	small, large := a, b
	if small.Size > large.Size {
		small, large = large, small
	}
	evidence := [][]byte{a.Bytes(), b.Bytes()}
	if small.Size == large.Size {
		if small.Hash != large.Hash {
			return r.fail(failf(CheckConsistency, evidence, "split view: two checkpoints of size %d with different roots, both signed by %s", small.Size, r.log.Origin()))
		}
		return nil
	}
	// The log's compact proof first; a static mirror has none, and a
	// wrong one proves nothing: the tiles decide.
	if proof, err := r.reader.ReadConsistencyProof(r.ctx, small.Size, large.Size); err == nil &&
		checkpoint.VerifyConsistency(small.Checkpoint, large.Checkpoint, proof) == nil {
		return nil
	}
	proof, err := r.prover.ConsistencyProof(r.ctx, small.Size, large.Checkpoint)
	if errors.Is(err, tiles.ErrMismatch) {
		// A stored tile may be damaged: try once from the log alone.
		proof, err = tiles.NewProver(r.reader, 256).ConsistencyProof(r.ctx, small.Size, large.Checkpoint)
	}
	if err != nil {
		return r.failRead(CheckConsistency, err, "proving the checkpoint of size %d consistent with the one of size %d", small.Size, large.Size)
	}
	if err := checkpoint.VerifyConsistency(small.Checkpoint, large.Checkpoint, proof); err != nil {
		return r.fail(failf(CheckConsistency, evidence, "split view: the checkpoint of size %d is not consistent with the one of size %d (%v)", small.Size, large.Size, err))
	}
	return nil
}

func (r *run) storeCheckpoint(st *State, cp *checkpoint.Signed) error {
	cur, ok := st.Logs[r.log.Origin()]
	if ok {
		if old, err := checkpoint.Open(cur.Checkpoint, r.log.Verifier()); err == nil && old.Size > cp.Size {
			return nil
		}
	}
	st.Logs[r.log.Origin()] = LogState{Checkpoint: cp.Bytes(), Updated: r.cfg.Now().UTC()}
	return st.Save(r.cfg.StateDir)
}

// scanNewer reads the log's entries after index, verified against cp,
// shows each to the trust-root check (noteEntry), and keeps those that are
// snapshots of mm's origin with a newer TIMESTAMP (r.newer), to be judged
// once it is known which are genuine (newerAllowed). It is the scan that a
// per-origin index can later replace; lag.Judge does not care which.
func (r *run) scanNewer(mm *metamanifest.Signed, index uint64, cp *checkpoint.Signed) error {
	for b := (index + 1) / tiles.TileWidth; b*tiles.TileWidth < cp.Size; b++ {
		entries, err := tiles.VerifiedEntries(r.ctx, r.reader, r.prover, cp.Checkpoint, b)
		if err != nil {
			return r.failRead(CheckReplay, err, "reading the log's entries")
		}
		for i, e := range entries {
			idx := b*tiles.TileWidth + uint64(i)
			if idx <= index {
				continue
			}
			r.noteEntry(idx, e)
			if trust.KindOf(e) != trust.KindMetaManifest {
				continue // an index entry, a trust root
			}
			other, _, err := metamanifest.Parse(e)
			if err != nil || other.Origin != mm.Origin || !other.Timestamp.After(mm.Timestamp) {
				continue
			}
			r.newer = append(r.newer, loggedEntry{idx, e})
		}
	}
	return nil
}

func cosigners(r *policy.Result) []string {
	var out []string
	for _, c := range r.Cosigned {
		out = append(out, c.Witness.Name)
	}
	return out
}
