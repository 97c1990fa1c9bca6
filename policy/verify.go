package policy

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"treelog/checkpoint"
	"treelog/internal/untrusted"
	"treelog/note"
)

// A VerifyOption configures Verify and VerifyProof.
type VerifyOption func(*verifyConfig)

type verifyConfig struct {
	skew time.Duration // negative: timestamps in the future are accepted
	now  func() time.Time
}

// WithMaxFutureSkew rejects cosignatures timestamped more than d after the
// clock; such a cosignature counts as failed.
func WithMaxFutureSkew(d time.Duration) VerifyOption {
	return func(c *verifyConfig) { c.skew = d }
}

// WithClock sets the clock WithMaxFutureSkew compares with.
func WithClock(now func() time.Time) VerifyOption {
	return func(c *verifyConfig) { c.now = now }
}

// A Cosignature is a verified witness cosignature.
type Cosignature struct {
	Witness *Witness
	Time    time.Time
	Sig     note.Signature
}

// A Failure is a cosignature line by a known witness that did not verify.
type Failure struct {
	Witness *Witness
	Err     error
}

// A Result says what a checkpoint's signatures prove under a policy.
type Result struct {
	// Checkpoint is the checkpoint, its log signature verified.
	Checkpoint *checkpoint.Signed
	// Log is the policy log that signed it.
	Log *Log
	// Cosigned are the verified cosignatures, one per witness (its newest).
	Cosigned []Cosignature
	// Failed are known witnesses whose cosignature lines did not verify.
	Failed []Failure
	// Missing are known witnesses with no cosignature line.
	Missing []*Witness
	// QuorumMet reports whether Cosigned satisfies the policy's quorum.
	QuorumMet bool

	policy *Policy
}

// Summary describes the outcome like sigsum does, e.g.
// "witnesses: total 3, verified 2 (w1, w2), failed 0, missing 1; quorum 2 of (w1, w2, w3) met".
func (r *Result) Summary() string {
	names := make([]string, len(r.Cosigned))
	for i, c := range r.Cosigned {
		names[i] = c.Witness.Name
	}
	var b strings.Builder
	fmt.Fprintf(&b, "witnesses: total %d, verified %d", len(r.policy.Witnesses), len(r.Cosigned))
	if len(names) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(names, ", "))
	}
	fmt.Fprintf(&b, ", failed %d", len(r.Failed))
	for _, f := range r.Failed {
		fmt.Fprintf(&b, " [%s: %v]", f.Witness.Name, f.Err)
	}
	fmt.Fprintf(&b, ", missing %d; quorum %s ", len(r.Missing), r.policy.DescribeQuorum())
	if r.QuorumMet {
		b.WriteString("met")
	} else {
		b.WriteString("NOT met")
	}
	return b.String()
}

// QuorumTime returns the latest time T such that the witnesses that cosigned
// at or after T satisfy the quorum: the policy's witnesses collectively vouch
// that, as of T, this was the latest checkpoint they saw. It reports false
// when the quorum is not met or is "none".
func (r *Result) QuorumTime() (time.Time, bool) { return r.quorumFrom(true) }

// CosignedBy returns the earliest time by which witnesses that satisfy the
// quorum had all cosigned this checkpoint: each cosignature shows its
// witness had seen the checkpoint by its timestamp. Every entry the
// checkpoint holds had therefore entered the log (was in a witnessed
// checkpoint) by then. It reports false when the quorum is not met or is
// "none".
func (r *Result) CosignedBy() (time.Time, bool) { return r.quorumFrom(false) }

// quorumFrom takes the cosignatures newest first (or oldest first) and
// returns the time of the one with which the quorum is met.
func (r *Result) quorumFrom(newestFirst bool) (time.Time, bool) {
	if r.policy.Quorum == "none" || !r.QuorumMet {
		return time.Time{}, false
	}
	cs := append([]Cosignature(nil), r.Cosigned...)
	sort.Slice(cs, func(i, j int) bool {
		return cs[i].Time.After(cs[j].Time) == newestFirst && !cs[i].Time.Equal(cs[j].Time)
	})
	ok := map[string]bool{}
	for _, c := range cs {
		ok[c.Witness.Name] = true
		if r.policy.QuorumMet(ok) {
			return c.Time, true
		}
	}
	return time.Time{}, false
}

// NoneLargerBefore returns the latest time T such that the witnesses that
// did not cosign this checkpoint at or after T cannot form a quorum. An
// honest witness never cosigns a smaller tree after a larger one, so no
// quorum can have cosigned a larger tree before T: no entry beyond this
// checkpoint had entered the log before T. It reports false when no such T
// exists (too few cosignatures to block a quorum, or quorum "none").
func (r *Result) NoneLargerBefore() (time.Time, bool) {
	if r.policy.Quorum == "none" {
		return time.Time{}, false
	}
	cs := append([]Cosignature(nil), r.Cosigned...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Time.After(cs[j].Time) })
	late := map[string]bool{}
	for _, c := range cs {
		late[c.Witness.Name] = true
		others := map[string]bool{}
		for _, w := range r.policy.Witnesses {
			others[w.Name] = !late[w.Name]
		}
		if !r.policy.QuorumMet(others) {
			return c.Time, true
		}
	}
	return time.Time{}, false
}

// QuorumError is returned when a checkpoint's log signature verifies but its
// cosignatures do not satisfy the quorum.
type QuorumError struct {
	Result *Result
}

func (e *QuorumError) Error() string {
	return "checkpoint is not cosigned by the policy quorum: " + e.Result.Summary()
}

// ErrUnknownLog is wrapped when a checkpoint's origin is not a policy log.
var ErrUnknownLog = errors.New("origin is not a log of the policy")

// Verify checks a signed checkpoint against the policy: signed by the policy
// log for its origin, and cosigned by the quorum. A checkpoint whose log
// signature verifies but whose quorum is not met returns both a Result and a
// *QuorumError.
func (p *Policy) Verify(msg []byte, opts ...VerifyOption) (*Result, error) {
	cfg := verifyConfig{skew: -1, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	origin, err := checkpoint.Origin(msg)
	if err != nil {
		return nil, err
	}
	lg := p.Log(origin)
	if lg == nil {
		return nil, fmt.Errorf("checkpoint origin %q: %w", untrusted.Short(origin, 40), ErrUnknownLog)
	}
	cp, err := checkpoint.Open(msg, lg.verifier)
	if err != nil {
		return nil, err
	}
	r := &Result{Checkpoint: cp, Log: lg, policy: p}
	text := []byte(cp.Note.Text)
	best := map[*Witness]int{}
	failed := map[*Witness]error{}
	for _, s := range cp.Note.UnverifiedSigs {
		w := p.witnessByKey(s.Name, s.Hash)
		if w == nil {
			continue
		}
		t, err := cfg.checkCosignature(w, text, s)
		if err != nil {
			failed[w] = err
			continue
		}
		if i, ok := best[w]; ok {
			if t.After(r.Cosigned[i].Time) {
				r.Cosigned[i] = Cosignature{Witness: w, Time: t, Sig: s}
			}
			continue
		}
		best[w] = len(r.Cosigned)
		r.Cosigned = append(r.Cosigned, Cosignature{Witness: w, Time: t, Sig: s})
	}
	ok := map[string]bool{}
	for _, c := range r.Cosigned {
		ok[c.Witness.Name] = true
	}
	for _, w := range p.Witnesses {
		if ok[w.Name] {
			continue
		}
		if err, bad := failed[w]; bad {
			r.Failed = append(r.Failed, Failure{Witness: w, Err: err})
		} else {
			r.Missing = append(r.Missing, w)
		}
	}
	r.QuorumMet = p.QuorumMet(ok)
	if !r.QuorumMet {
		return r, &QuorumError{Result: r}
	}
	return r, nil
}

// checkCosignature verifies a witness's cosignature line and returns its
// timestamp, refusing one further in the future than the allowed skew.
func (c verifyConfig) checkCosignature(w *Witness, text []byte, s note.Signature) (time.Time, error) {
	raw, err := note.SignatureBytes(s)
	if err != nil {
		return time.Time{}, err
	}
	t, err := w.verifier.Check(text, raw)
	if err != nil {
		return time.Time{}, fmt.Errorf("cosignature by %s+%08x does not verify: %w", s.Name, s.Hash, err)
	}
	if c.skew >= 0 {
		if ahead := t.Sub(c.now()); ahead > c.skew {
			return time.Time{}, fmt.Errorf("cosignature by %s+%08x: timestamp %s is %s in the future (allowed skew %s)", s.Name, s.Hash, t.UTC().Format(time.RFC3339), ahead.Round(time.Second), c.skew)
		}
	}
	return t, nil
}

func (p *Policy) witnessByKey(name string, id uint32) *Witness {
	for _, w := range p.Witnesses {
		if w.Key.ID == id && w.Key.Name == name {
			return w
		}
	}
	return nil
}

// A ProofResult is a verified tlog-proof.
type ProofResult struct {
	*Result
	Proof *checkpoint.Proof
}

// Index returns the proven entry's index.
func (r *ProofResult) Index() uint64 { return r.Proof.Index }

// VerifyProof verifies a c2sp.org/tlog-proof for the log entry leaf (the
// entry's bytes, not its hash): the checkpoint under the policy (log and
// quorum), then the inclusion proof of the entry at the proof's index.
func (p *Policy) VerifyProof(data, leaf []byte, opts ...VerifyOption) (*ProofResult, error) {
	pf, err := checkpoint.ParseProof(data)
	if err != nil {
		return nil, err
	}
	r, err := p.Verify(pf.Checkpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("proof checkpoint: %w", err)
	}
	if err := checkpoint.VerifyInclusion(r.Checkpoint.Checkpoint, pf.Index, leaf, pf.Inclusion); err != nil {
		return nil, err
	}
	return &ProofResult{Result: r, Proof: pf}, nil
}
