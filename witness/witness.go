package witness

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"treelog/checkpoint"
	"treelog/internal/untrusted"
	"treelog/note"
)

// A Witness cosigns checkpoints of the logs in its store.
type Witness struct {
	signer  *note.Cosigner
	store   *Store
	now     func() time.Time
	log     *slog.Logger
	limit   rate.Limit
	burst   int
	metrics *Metrics

	mu       sync.Mutex
	locks    map[string]*sync.Mutex
	limiters map[string]*rate.Limiter
}

// An Option configures a Witness.
type Option func(*Witness)

// WithClock sets the clock for cosignature timestamps (default time.Now).
func WithClock(now func() time.Time) Option { return func(w *Witness) { w.now = now } }

// WithLogger sets the structured logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(w *Witness) { w.log = l } }

// WithRateLimit limits each log to r add-checkpoint requests a second with
// the given burst; more get 429 Too Many Requests. Zero means no limit.
func WithRateLimit(r float64, burst int) Option {
	return func(w *Witness) { w.limit, w.burst = rate.Limit(r), burst }
}

// WithMetrics makes the witness count what it does in m.
func WithMetrics(m *Metrics) Option { return func(w *Witness) { w.metrics = m } }

// New returns a witness that cosigns with signer (a cosignature/v1 key)
// and keeps its state in store.
func New(signer note.Signer, store *Store, opts ...Option) (*Witness, error) {
	c, ok := signer.(*note.Cosigner)
	if !ok {
		return nil, fmt.Errorf("witness key %q is not a cosignature/v1 (type 0x04) key", signer.Name())
	}
	w := &Witness{signer: c, store: store, now: time.Now, log: slog.Default(), locks: map[string]*sync.Mutex{}, limiters: map[string]*rate.Limiter{}}
	for _, o := range opts {
		o(w)
	}
	return w, nil
}

// Name returns the witness's key name.
func (w *Witness) Name() string { return w.signer.Name() }

// VerifierKey returns the witness's vkey, for logs' and clients' policies.
func (w *Witness) VerifierKey() string {
	vk, _ := note.VerifierKeyOf(w.signer)
	return vk
}

func (w *Witness) lock(origin string) *sync.Mutex {
	w.mu.Lock()
	defer w.mu.Unlock()
	l, ok := w.locks[origin]
	if !ok {
		l = &sync.Mutex{}
		w.locks[origin] = l
	}
	return l
}

func (w *Witness) allow(origin string) bool {
	if w.limit == 0 {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	l, ok := w.limiters[origin]
	if !ok {
		l = rate.NewLimiter(w.limit, w.burst)
		w.limiters[origin] = l
	}
	return l.Allow()
}

// AddCheckpoint handles an add-checkpoint request body and returns the
// cosignature line(s) to send back, or an *Error with the status code
// c2sp.org/tlog-witness prescribes:
//
//   - 400: malformed request, or old size above the checkpoint's size
//   - 403: no valid signature by the log's key (or a bad one)
//   - 404: unknown (or disabled) origin
//   - 409: old size is not the size of the latest cosigned checkpoint
//   - 422: size 0 with a non-empty root, a proof with old size 0, a same-size
//     checkpoint with another root, or a consistency proof that fails
//   - 429: the log's rate limit
//
// The check against the stored checkpoint and the update are atomic per
// log, and durable before the cosignature is returned.
func (w *Witness) AddCheckpoint(body []byte) ([]byte, error) {
	req, err := ParseRequest(body)
	if err != nil {
		return nil, err
	}
	origin, err := checkpoint.Origin(req.Checkpoint)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "%v", err)
	}
	lg, ok := w.store.Log(origin)
	if !ok || lg.Disabled {
		return nil, errorf(http.StatusNotFound, "unknown log origin %q", untrusted.Short(origin, 40))
	}
	n, err := note.Open(req.Checkpoint, lg.verifier)
	if errors.Is(err, note.ErrMalformed) {
		return nil, errorf(http.StatusBadRequest, "checkpoint: %v", err)
	}
	if err != nil {
		return nil, errorf(http.StatusForbidden, "checkpoint for %q: %v", origin, err)
	}
	cp, cpErr := checkpoint.ParseText(n.Text)
	if cpErr != nil && !errors.Is(cpErr, checkpoint.ErrEmptyRoot) {
		return nil, errorf(http.StatusBadRequest, "%v", cpErr)
	}
	if !w.allow(cp.Origin) {
		return nil, errorf(http.StatusTooManyRequests, "rate limit for log %q exceeded", cp.Origin)
	}
	if errors.Is(cpErr, checkpoint.ErrEmptyRoot) {
		return nil, errorf(http.StatusUnprocessableEntity, "%v", checkpoint.ErrEmptyRoot)
	}
	if len(cp.Extensions) > 0 {
		return nil, errorf(http.StatusBadRequest, "checkpoint has extension lines, which this witness does not cosign")
	}
	if req.Old > cp.Size {
		return nil, errorf(http.StatusBadRequest, "old size %d is above the checkpoint size %d", req.Old, cp.Size)
	}

	l := w.lock(cp.Origin)
	l.Lock()
	defer l.Unlock()
	lg, ok = w.store.Log(cp.Origin) // the state as of holding the lock
	if !ok || lg.Disabled {
		return nil, errorf(http.StatusNotFound, "unknown log origin %q", cp.Origin)
	}
	if req.Old != lg.Size {
		return nil, &Error{Code: http.StatusConflict, Msg: fmt.Sprintf("old size %d is not %d, the size of the latest cosigned checkpoint", req.Old, lg.Size), Size: lg.Size}
	}
	switch {
	case req.Old == 0:
		if len(req.Proof) > 0 {
			return nil, errorf(http.StatusUnprocessableEntity, "old size is 0 but the consistency proof is not empty")
		}
	case req.Old == cp.Size:
		if cp.Hash != lg.Root {
			w.keepEvidence(lg, req, "same-size-different-root")
			return nil, errorf(http.StatusUnprocessableEntity, "checkpoint of size %d has root %s, but the cosigned one of that size has %s", cp.Size, cp.HashString(), checkpoint.Checkpoint{Hash: lg.Root}.HashString())
		}
		if len(req.Proof) > 0 {
			return nil, errorf(http.StatusUnprocessableEntity, "sizes are equal but the consistency proof is not empty")
		}
	default:
		old := checkpoint.Checkpoint{Origin: cp.Origin, Size: lg.Size, Hash: lg.Root}
		if err := checkpoint.VerifyConsistency(old, cp, req.Proof); err != nil {
			w.keepEvidence(lg, req, "consistency-proof-failed")
			return nil, errorf(http.StatusUnprocessableEntity, "%v", err)
		}
	}

	// Cosignature timestamps never go back, even if the clock does.
	at := max(w.now().Unix(), lg.CosignedAt)
	sig, err := w.signer.SignAt([]byte(n.Text), time.Unix(at, 0))
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "cosigning: %v", err)
	}
	cosig := note.NewSignature(w.signer.Name(), w.signer.KeyHash(), sig)
	// Keep only signatures this witness verified: the log's and its own.
	stored := note.Marshal(&note.Note{Text: n.Text, Sigs: append(append([]note.Signature{}, n.Sigs...), cosig)})
	if err := w.store.setState(cp.Origin, cp.Size, cp.Hash, stored, at); err != nil {
		w.log.Error("storing a cosigned checkpoint failed", "origin", cp.Origin, "size", cp.Size, "err", err)
		return nil, errorf(http.StatusInternalServerError, "storing the checkpoint failed")
	}
	w.log.Debug("cosigned", "origin", cp.Origin, "size", cp.Size, "old", req.Old)
	return []byte(note.SignatureLine(cosig)), nil
}

// keepEvidence stores a signed checkpoint that conflicts with the cosigned
// one (best effort: a failure is logged, the refusal stands).
func (w *Witness) keepEvidence(lg Log, req *Request, kind string) {
	e := Evidence{Origin: lg.Origin, Kind: kind, Received: w.now(), Stored: lg.Checkpoint, Submitted: req.Checkpoint, Request: req.Marshal()}
	if err := w.store.addEvidence(e); err != nil {
		w.log.Error("keeping evidence failed", "origin", lg.Origin, "kind", kind, "err", err)
	}
	if w.metrics != nil {
		w.metrics.inconsistent.WithLabelValues(kind).Inc()
	}
	w.log.Warn("log showed an inconsistent checkpoint; evidence kept", "origin", lg.Origin, "kind", kind, "stored_size", lg.Size)
}

// Checkpoint returns the latest cosigned checkpoint of the log whose origin
// hashes to originHash, with the log's signature and this witness's.
func (w *Witness) Checkpoint(originHash [32]byte) ([]byte, bool) {
	return w.store.CheckpointByHash(originHash)
}
