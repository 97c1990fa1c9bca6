package index

import (
	"errors"
	"fmt"

	"treelog/checkpoint"
	"treelog/policy"
)

// ErrNotWitnessed is wrapped when an index entry, or the checkpoint it
// carries, is not under a checkpoint the policy's witness quorum cosigned.
var ErrNotWitnessed = errors.New("not witnessed")

// ErrUnproven is wrapped when index/latest does not prove that the log
// holds an index entry at all (it does not parse, its checkpoint is not
// the log's, its inclusion proof fails): bytes that no signature binds,
// which say nothing about the log.
var ErrUnproven = errors.New("no proven index entry")

// A Latest is a verified index/latest: the newest index entry, proven in
// the log under a checkpoint the witness quorum cosigned.
type Latest struct {
	// Proof proves the entry's inclusion; Proof.Result is the log's
	// latest checkpoint, as the witnesses cosigned it.
	Proof *policy.ProofResult
	// Raw is the entry as logged, Entry parsed.
	Raw   []byte
	Entry *Entry
	// Checkpoint is the entry's checkpoint (size at most Entry.Size),
	// verified under the policy; nil if the entry carries none, or one
	// without the policy's quorum (VerifyCarried).
	Checkpoint *policy.Result
}

// Position returns the index entry's index in the log.
func (l *Latest) Position() uint64 { return l.Proof.Index() }

// VerifyCarried verifies the checkpoint an index entry carries, which
// only bounds when the entries after the index entered the log. It
// returns nil when the entry carries none, or one without the policy's
// quorum: a log witnessed under another policy than this party's is not
// lying, and without the bound a party reads those entries instead. A
// checkpoint that is not the log's, or does not parse, is an error.
func VerifyCarried(p *policy.Policy, e *Entry, opts ...policy.VerifyOption) (*policy.Result, error) {
	if e.Checkpoint == nil {
		return nil, nil
	}
	r, err := p.Verify(e.Checkpoint, opts...)
	var qe *policy.QuorumError
	if errors.As(err, &qe) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the index entry's checkpoint: %w", err)
	}
	return r, nil
}

// VerifyLatest verifies index/latest under a policy: a tlog-proof, under a
// checkpoint of one of the policy's logs cosigned by the quorum, of an
// index entry (its extra data) that covers the log before its own
// position, and the checkpoint it carries (VerifyCarried), which must be
// the same log's. Every party checks index/latest with this one function.
func VerifyLatest(p *policy.Policy, data []byte, opts ...policy.VerifyOption) (*Latest, error) {
	pf, err := checkpoint.ParseProof(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnproven, err)
	}
	if pf.Extra == nil {
		return nil, fmt.Errorf("%w: %s carries no index entry", ErrUnproven, LatestPath)
	}
	pr, err := p.VerifyProof(data, pf.Extra, opts...)
	var qe *policy.QuorumError
	if errors.As(err, &qe) {
		return nil, fmt.Errorf("the index entry is under a checkpoint the witnesses did not cosign: %w (%v)", ErrNotWitnessed, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: the index entry's proof: %w", ErrUnproven, err)
	}
	e, err := ParseEntry(pf.Extra)
	if err != nil {
		return nil, err
	}
	l := &Latest{Proof: pr, Raw: pf.Extra, Entry: e}
	if e.Size > pr.Index() {
		return nil, fmt.Errorf("the index entry at log index %d claims to cover the log up to size %d, past itself", pr.Index(), e.Size)
	}
	r, err := VerifyCarried(p, e, opts...)
	if err != nil {
		return nil, err
	}
	if r != nil && r.Log != pr.Log {
		return nil, fmt.Errorf("the index entry of log %s carries a checkpoint of log %s", pr.Log.Origin(), r.Log.Origin())
	}
	l.Checkpoint = r
	return l, nil
}
