// Package logserver is treelog's log personality over tessera: it decides
// which MetaManifests may enter the log (signed by an authorized publisher,
// TIMESTAMPs strictly increasing per origin), appends them, returns
// c2sp.org/tlog-proof proofs under witnessed checkpoints, and serves the
// c2sp.org/tlog-tiles read API.
package log

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/transparency-dev/tessera"

	"treelog/checkpoint"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
	"treelog/tiles"
	"treelog/trust"
)

// Config configures a Server.
type Config struct {
	// Signer is the log's key; its name is the log's origin.
	Signer note.Signer
	// Publishers says who may publish which origin. Reload replaces it.
	Publishers *trust.Publishers
	// TrustRoots are the pinned versions (each opened with trust.Open) of
	// the trust roots this log serves: their later versions are logged
	// here, and they govern the origins in their scope. Reload replaces
	// them.
	TrustRoots []*trust.Signed
	// WitnessPolicy, if set, is a tlog-policy whose quorum of witnesses
	// (with URLs) must cosign a checkpoint before it is published.
	WitnessPolicy []byte
	// WitnessTimeout bounds waiting for the quorum (default 5s).
	WitnessTimeout time.Duration
	// MaxFutureSkew is how far a TIMESTAMP may be ahead of the clock
	// (default 10 minutes).
	MaxFutureSkew time.Duration
	// CheckpointInterval is how often a new checkpoint may be published
	// (default 1s); RepublishInterval how often an unchanged one is
	// republished, so witnesses re-cosign it with fresh timestamps
	// (default 1 minute; 0 disables).
	CheckpointInterval, RepublishInterval time.Duration
	// BatchMaxAge and BatchMaxSize bound batching of entries (default
	// 100ms, 256).
	BatchMaxAge  time.Duration
	BatchMaxSize uint
	// ShutdownTimeout bounds waiting, on Close, for acknowledged entries to
	// be covered by a published checkpoint (default 60s).
	ShutdownTimeout time.Duration
	// IndexInterval is how often an index entry may be appended (default
	// 1 minute; negative: the log keeps no index); IndexRefresh how often
	// one is appended when nothing changed (default 15 minutes), so that
	// the witnessed checkpoint it carries stays recent.
	IndexInterval, IndexRefresh time.Duration
	// Log is the structured logger (default slog.Default()).
	Log *slog.Logger
	// Registry, if set, receives the server's metrics.
	Registry prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// A Server is a running log.
type Server struct {
	cfg       Config
	origin    string
	verifier  note.Verifier
	appender  *tessera.Appender
	shutdown  func(context.Context) error
	reader    tessera.LogReader
	index     OriginIndex
	prover    *tiles.Prover
	pubs      atomic.Pointer[trust.Publishers]
	roots     trustRoots
	metrics   *metrics
	published published
	indexer   *indexer
	files     IndexFiles
	cancel    context.CancelFunc
	done      sync.WaitGroup
}

// published tracks the latest published (witnessed) checkpoint.
type published struct {
	mu      sync.Mutex
	changed *sync.Cond
	raw     []byte
	cp      checkpoint.Checkpoint
	since   time.Time
}

// CheckKey checks that s can be a log's key: an Ed25519 (0x01) signed-note
// key. A witness's cosignature/v1 key would sign checkpoints that no
// client accepts as the log's.
func CheckKey(s note.Signer) error {
	vkey, err := note.VerifierKeyOf(s)
	if err != nil {
		return err
	}
	k, err := note.ParseVerifierKey(vkey)
	if err != nil {
		return err
	}
	if k.Type != note.TypeEd25519 {
		return fmt.Errorf("key %s is of type 0x%02x (a witness's cosignature/v1 key?), not a log's Ed25519 (0x01) key: make one with 'treelog keygen --type log'", k.Name, k.Type)
	}
	return nil
}

// New starts a log on storage: it initializes tessera, waits until every
// sequenced entry is integrated, brings the origin index up to date with
// the log, and starts following new checkpoints. ctx (like the one st
// was opened with) bounds the log's whole life: end it only after Close,
// which needs tessera still sequencing.
func New(ctx context.Context, st *Storage, cfg Config) (*Server, error) {
	if cfg.Signer == nil || cfg.Publishers == nil {
		return nil, errors.New("log server: a signer and a publishers file are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.WitnessTimeout, 5*time.Second)
	def(&cfg.MaxFutureSkew, 10*time.Minute)
	def(&cfg.CheckpointInterval, time.Second)
	def(&cfg.BatchMaxAge, 100*time.Millisecond)
	def(&cfg.ShutdownTimeout, time.Minute)
	def(&cfg.IndexInterval, time.Minute)
	def(&cfg.IndexRefresh, 15*time.Minute)
	if cfg.BatchMaxSize == 0 {
		cfg.BatchMaxSize = 256
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := CheckKey(cfg.Signer); err != nil {
		return nil, err
	}
	vkey, err := note.VerifierKeyOf(cfg.Signer)
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, origin: cfg.Signer.Name(), verifier: v, index: st.Index}
	s.pubs.Store(cfg.Publishers)
	if err := s.SetTrustRoots(cfg.TrustRoots); err != nil {
		return nil, err
	}
	s.published.changed = sync.NewCond(&s.published.mu)
	s.metrics = newMetrics(cfg.Registry, s)

	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(cfg.Signer).
		WithCheckpointInterval(cfg.CheckpointInterval).
		WithCheckpointRepublishInterval(cfg.RepublishInterval).
		WithBatching(cfg.BatchMaxSize, cfg.BatchMaxAge).
		WithShutdownTimeout(cfg.ShutdownTimeout).
		WithAntispam(tessera.DefaultAntispamInMemorySize, st.Antispam)
	if len(cfg.WitnessPolicy) > 0 {
		group, err := witnessGroup(cfg.WitnessPolicy)
		if err != nil {
			return nil, err
		}
		opts = opts.WithWitnesses(group, &tessera.WitnessOptions{Timeout: cfg.WitnessTimeout})
	}
	ctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.appender, s.shutdown, s.reader, err = tessera.NewAppender(ctx, st.Driver, opts)
	if err != nil && len(cfg.WitnessPolicy) > 0 {
		// A new POSIX log publishes its empty checkpoint while tessera
		// starts, and fails if the witness quorum is not up yet (boot
		// order). By then the empty tree is stored, so a second start goes
		// on and publishes once the witnesses answer.
		cfg.Log.Warn("starting tessera failed; trying once more", "err", err)
		s.appender, s.shutdown, s.reader, err = tessera.NewAppender(ctx, st.Driver, opts)
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("starting tessera: %w", err)
	}
	s.prover = tiles.NewProver(s.reader, 4096)
	if err := s.catchUp(ctx); err != nil {
		cancel()
		return nil, err
	}
	s.files = st.Files
	s.done.Add(1)
	go s.follow(ctx)
	if cfg.IndexInterval > 0 {
		ictx, stop := context.WithCancel(ctx)
		s.indexer = &indexer{s: s, files: st.Files, lease: st.Lease, interval: cfg.IndexInterval, refresh: max(cfg.IndexRefresh, cfg.IndexInterval),
			stop: stop, stopped: make(chan struct{})}
		go func() {
			defer close(s.indexer.stopped)
			s.indexer.run(ictx)
		}()
	}
	return s, nil
}

// witnessGroup checks a witness policy with treelog's tlog-policy parser
// (which is strict where tessera's is lenient) and builds tessera's group.
func witnessGroup(data []byte) (tessera.WitnessGroup, error) {
	p, err := policy.Parse(data)
	if err != nil {
		return tessera.WitnessGroup{}, fmt.Errorf("witness policy: %w", err)
	}
	for _, w := range p.Witnesses {
		if w.URL == "" {
			return tessera.WitnessGroup{}, fmt.Errorf("witness policy: witness %q has no URL; the log must reach every witness", w.Name)
		}
	}
	g, err := tessera.NewWitnessGroupFromPolicy(data)
	if err != nil {
		return tessera.WitnessGroup{}, fmt.Errorf("witness policy: %w", err)
	}
	return g, nil
}

// catchUp waits until the log has integrated everything sequenced (so that
// no entry accepted before a restart is unknown to the index), then feeds
// the rest of the log to the origin index.
func (s *Server) catchUp(ctx context.Context) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var size uint64
	for {
		next, err := s.reader.NextIndex(ctx)
		if err != nil {
			return fmt.Errorf("reading the log's next index: %w", err)
		}
		size, err = s.reader.IntegratedSize(ctx)
		if err != nil {
			return fmt.Errorf("reading the log's size: %w", err)
		}
		if size >= next {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	from, err := s.index.Scanned(ctx)
	if err != nil {
		return fmt.Errorf("reading the origin index: %w", err)
	}
	if from < size {
		s.cfg.Log.Info("indexing the log's MetaManifests", "from", from, "to", size)
		if err := scan(ctx, s.reader, s.index, from, size); err != nil {
			return fmt.Errorf("indexing the log: %w", err)
		}
	}
	return nil
}

// follow polls the published checkpoint, wakes waiters when it grows, and
// keeps the origin index up to date with entries any process added.
func (s *Server) follow(ctx context.Context) {
	defer s.done.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		s.refresh(ctx)
		select {
		case <-ctx.Done():
			s.published.mu.Lock()
			s.published.changed.Broadcast()
			s.published.mu.Unlock()
			return
		case <-t.C:
		}
	}
}

func (s *Server) refresh(ctx context.Context) {
	raw, err := s.reader.ReadCheckpoint(ctx)
	if err != nil {
		return
	}
	cp, err := checkpoint.Open(raw, s.verifier)
	if err != nil {
		s.cfg.Log.Error("the published checkpoint does not verify with the log's key", "err", err)
		return
	}
	s.published.mu.Lock()
	changed := string(raw) != string(s.published.raw)
	if changed {
		s.published.raw, s.published.cp, s.published.since = raw, cp.Checkpoint, s.cfg.Now()
		s.published.changed.Broadcast()
	}
	s.published.mu.Unlock()
	if changed {
		s.metrics.observePublished(cp)
	}
	scanned, err := s.index.Scanned(ctx)
	if err == nil && scanned < cp.Size {
		if err := scan(ctx, s.reader, s.index, scanned, cp.Size); err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn("indexing new entries", "err", err)
		}
	}
}

// Published returns the latest published checkpoint.
func (s *Server) Published() ([]byte, checkpoint.Checkpoint, bool) {
	s.published.mu.Lock()
	defer s.published.mu.Unlock()
	return s.published.raw, s.published.cp, s.published.raw != nil
}

// awaitPublished waits until a published checkpoint covers index.
func (s *Server) awaitPublished(ctx context.Context, index uint64) ([]byte, checkpoint.Checkpoint, error) {
	stop := context.AfterFunc(ctx, func() {
		s.published.mu.Lock()
		s.published.changed.Broadcast()
		s.published.mu.Unlock()
	})
	defer stop()
	s.published.mu.Lock()
	defer s.published.mu.Unlock()
	for s.published.raw == nil || s.published.cp.Size <= index {
		if err := ctx.Err(); err != nil {
			return nil, checkpoint.Checkpoint{}, err
		}
		s.published.changed.Wait()
	}
	return s.published.raw, s.published.cp, nil
}

// Origin returns the log's origin.
func (s *Server) Origin() string { return s.origin }

// VerifierKey returns the log's vkey.
func (s *Server) VerifierKey() string {
	vk, _ := note.VerifierKeyOf(s.cfg.Signer)
	return vk
}

// SetPublishers replaces the publishers file (on reload).
func (s *Server) SetPublishers(p *trust.Publishers) { s.pubs.Store(p) }

// Close stops the log after every acknowledged entry is integrated and
// covered by a published checkpoint.
func (s *Server) Close(ctx context.Context) error {
	if s.indexer != nil {
		// Before tessera stops: an index entry being appended must get
		// its index, and none may be added to a stopped appender.
		s.indexer.stop()
		<-s.indexer.stopped
	}
	err := s.shutdown(ctx)
	s.cancel()
	s.done.Wait()
	return err
}

// addTimeout bounds sequencing one entry; reservationLease (in the MySQL
// index) is twice as long.
const addTimeout = 30 * time.Second

// A Rejection is a submission the log refuses, with the HTTP status to
// answer and a one-line reason.
type Rejection struct {
	Code   int
	Reason string // a metric label
	Msg    string
}

func (r *Rejection) Error() string { return r.Msg }

func reject(code int, reason, format string, args ...any) *Rejection {
	return &Rejection{Code: code, Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// Added is the outcome of a successful submission.
type Added struct {
	Index uint64
	// Duplicate is true when the same MetaManifest was logged before; Index
	// is then the first one.
	Duplicate bool
}

// Add validates an entry and appends it. A MetaManifest must be signed by
// a key the trust root in force for its origin delegates (or, for an
// origin no root governs, the publishers file allows), its TIMESTAMP newer
// than the origin's latest in the log and not too far in the future. A
// trust-root version must be the pinned version of a root this log serves,
// or the version after the latest logged one (see addTrustRoot). The same
// bytes again return the first index. A refusal is a *Rejection and changes
// nothing; ErrPushback-wrapped errors mean "try again later".
func (s *Server) Add(ctx context.Context, body []byte) (Added, error) {
	start := time.Now()
	a, err := s.add(ctx, body)
	s.metrics.observeAdd(a, err, time.Since(start))
	return a, err
}

func (s *Server) add(ctx context.Context, body []byte) (Added, error) {
	if len(body) > trust.MaxEntrySize {
		return Added{}, reject(413, "too_large", "entry is %d bytes, over the limit of %d", len(body), trust.MaxEntrySize)
	}
	if trust.KindOf(body) == trust.KindTrustRoot {
		return s.addTrustRoot(ctx, body)
	}
	return s.addMetaManifest(ctx, body)
}

// addMetaManifest admits a MetaManifest: authorized by the trust root in
// force for its origin, or else the publishers file (trust.Authority,
// the rule the auditor and clients apply too); its TIMESTAMP newer than
// the origin's latest and not too far ahead.
func (s *Server) addMetaManifest(ctx context.Context, body []byte) (Added, error) {
	if len(body) > metamanifest.MaxSize {
		return Added{}, reject(413, "too_large", "MetaManifest is %d bytes, over the limit of %d", len(body), metamanifest.MaxSize)
	}
	// No trust-root version may be logged between this decision and the
	// append: the log's order is then the order of its decisions.
	s.roots.mu.RLock()
	defer s.roots.mu.RUnlock()
	auth, err := s.authority(ctx)
	if err != nil {
		return Added{}, err
	}
	v, err := auth.Authorize(body, trust.NextIndex)
	if err != nil {
		if errors.Is(err, metamanifest.ErrUnauthorized) || errors.As(err, new(*note.InvalidSignatureError)) {
			return Added{}, reject(403, "unauthorized", "%v", err)
		}
		return Added{}, reject(400, "malformed", "%v", err)
	}
	m := v.Signed
	if ahead := m.Timestamp.Sub(s.cfg.Now()); ahead > s.cfg.MaxFutureSkew {
		return Added{}, reject(422, "future_timestamp", "TIMESTAMP %s is %s in the future (allowed: %s)", m.Timestamp.Format(time.RFC3339), ahead.Round(time.Second), s.cfg.MaxFutureSkew)
	}
	a, err := s.sequence(ctx, m.Origin, m.Timestamp, body, func(latest Latest) error {
		if latest.Found && !m.Timestamp.After(latest.Timestamp) {
			where := fmt.Sprintf("index %d", latest.Index)
			if latest.Pending {
				where = "an entry being sequenced"
			}
			return reject(409, "stale_timestamp", "TIMESTAMP %s of %q is not newer than %s, already logged at %s",
				m.Timestamp.Format(time.RFC3339), m.Origin, latest.Timestamp.Format(time.RFC3339), where)
		}
		return nil
	})
	// One line per entry at debug level: a busy log takes thousands a
	// second, which treelog_log_entries_accepted_total counts.
	if err == nil && !a.Duplicate && s.cfg.Log.Enabled(ctx, slog.LevelDebug) {
		s.cfg.Log.Debug("logged", "origin", m.Origin, "timestamp", m.Timestamp.Format(time.RFC3339), "index", a.Index, "signers", m.Signers())
	}
	return a, err
}

// sequence appends body as the newest entry under key (an origin, or a
// trust root's key) with order ts. The same bytes again return the first
// index. check, called under the key's lock with its latest entry,
// refuses (with a *Rejection) or allows the append.
func (s *Server) sequence(ctx context.Context, key string, ts time.Time, body []byte, check func(Latest) error) (Added, error) {
	hash := sha256.Sum256(body)
	if idx, ok, err := s.index.Lookup(ctx, hash); err != nil {
		return Added{}, err
	} else if ok {
		return Added{Index: idx, Duplicate: true}, nil
	}

	latest, unlock, err := s.index.Lock(ctx, key)
	if err != nil {
		return Added{}, err
	}
	defer unlock()
	reserved := false
	switch {
	case latest.Found && latest.Hash == hash && !latest.Pending:
		return Added{Index: latest.Index, Duplicate: true}, nil
	case latest.Found && latest.Hash == hash:
		// Reserved before but not known to be sequenced (a retry, or a
		// process that stopped): add again; tessera's antispam dedups.
	case latest.Busy:
		return Added{}, reject(503, "contended", "another entry of %q is being logged right now; try again", key)
	default:
		if err := check(latest); err != nil {
			return Added{}, err
		}
		err := s.index.Reserve(ctx, key, latest, Latest{Found: true, Timestamp: ts, Hash: hash, Pending: true})
		if errors.Is(err, ErrContended) {
			return Added{}, reject(503, "contended", "another entry of %q is being logged right now; try again", key)
		}
		if err != nil {
			return Added{}, err
		}
		reserved = true
	}
	// Bounded well below the reservation's lease (scale-out storage), so
	// that a stalled process cannot sequence after its lease ran out.
	actx, cancel := context.WithTimeout(ctx, addTimeout)
	defer cancel()
	idx, err := s.appender.Add(actx, tessera.NewEntry(body))()
	if err != nil {
		if reserved {
			// Nothing was sequenced: give the key its previous state back.
			mine := Latest{Found: true, Timestamp: ts, Hash: hash, Pending: true}
			if rerr := s.index.Reserve(context.WithoutCancel(ctx), key, mine, latest); rerr != nil {
				s.cfg.Log.Error("restoring an origin's state after a failed add", "key", key, "err", rerr)
			}
		}
		return Added{}, fmt.Errorf("appending: %w", err)
	}
	if err := s.index.Observe(context.WithoutCancel(ctx), key, ts, hash, idx.Index); err != nil {
		s.cfg.Log.Error("recording a logged entry in the origin index", "index", idx.Index, "err", err)
	}
	s.metrics.sequenced(idx.Index, time.Now())
	return Added{Index: idx.Index, Duplicate: idx.IsDup}, nil
}

// Proof returns a c2sp.org/tlog-proof for the entry at index under the
// latest published checkpoint (with its cosignatures), waiting up to ctx
// for a checkpoint that covers it.
func (s *Server) Proof(ctx context.Context, index uint64) ([]byte, error) {
	raw, cp, err := s.awaitPublished(ctx, index)
	if err != nil {
		return nil, err
	}
	path, err := s.prover.InclusionProof(ctx, cp, index)
	if err != nil {
		return nil, err
	}
	return (&checkpoint.Proof{Index: index, Inclusion: path, Checkpoint: raw}).Marshal(), nil
}
