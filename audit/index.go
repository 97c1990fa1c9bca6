package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"treelog/checkpoint"
	"treelog/index"
	"treelog/internal/untrusted"
	"treelog/tiles"
)

// indexPass is what one pass keeps while it replays the log into the
// index: the replayer, and what to check once the entries are read (which
// needs the network, as reading entries in order does not).
type indexPass struct {
	rp *index.Replayer
	// wrong are index entries whose root the log's entries contradict,
	// with the trie they should have named, to find the origins at fault.
	wrong []wrongIndex
	// embedded are the checkpoints index entries carry, to check for
	// consistency with the verified view.
	embedded []embeddedCheckpoint
}

type wrongIndex struct {
	v      *index.Version
	mine   *index.Trie
	newest map[index.Hash]originRecord
}

type originRecord struct {
	origin string
	rec    index.Record
}

type embeddedCheckpoint struct {
	position uint64
	cp       *checkpoint.Signed
}

// save records the pass's progress in st: the replay, and the carried
// checkpoints still to prove.
func (p *indexPass) save(st *State) {
	st.Index = p.rp.State()
	st.Carried = nil
	for _, e := range p.embedded {
		st.Carried = append(st.Carried, CarriedCheckpoint{e.position, e.cp.Bytes()})
	}
}

// newIndexPass resumes the index replay from the state; an auditor whose
// state predates the index replays it from the log's start.
func (a *Auditor) newIndexPass(st *State, cp *checkpoint.Signed) (*indexPass, error) {
	p := &indexPass{}
	opt := index.OnVersion(func(v *index.Version, t *index.Trie) error {
		a.checkIndexEntry(p, cp, v, t)
		return nil
	})
	for _, c := range st.Carried {
		// Verified when first met; a policy changed since may refuse it.
		if r, err := a.cfg.Policy.Verify(c.Checkpoint); err == nil {
			p.embedded = append(p.embedded, embeddedCheckpoint{c.Position, r.Checkpoint})
		}
	}
	if st.Index == nil {
		p.rp = index.NewReplayer(opt)
		return p, nil
	}
	rp, err := index.Resume(st.Index, opt)
	if err != nil {
		return nil, fmt.Errorf("auditor state: %w", err)
	}
	p.rp = rp
	return p, nil
}

// checkIndexEntry judges an index entry the replay met: it must say what
// the log's entries give, and carry a checkpoint of this log that the
// quorum cosigned. A wrong one is proven misbehavior: the entry is in the
// log under a checkpoint the log signed.
func (a *Auditor) checkIndexEntry(p *indexPass, cp *checkpoint.Signed, v *index.Version, t *index.Trie) {
	subject := fmt.Sprintf("index entry %d", v.Position)
	raise := func(msg string, extra ...[]byte) {
		a.alerts.raise(AlertIndexWrong, subject, fmt.Sprintf("log entry %d, an index entry, is wrong: %s", v.Position, msg),
			append([][]byte{v.Raw, cp.Bytes()}, extra...)...)
	}
	if v.Err != nil {
		want := fmt.Sprintf("what the log's entries give, as of size %d: root %s, %d origins\n", v.Want.Size, untrusted.Short(fmt.Sprintf("%x", v.Want.Root[:]), 64), v.Want.Origins)
		raise(v.Err.Error(), []byte(want))
		if v.Entry != nil && v.Entry.Size == v.Want.Size && v.Entry.Root != v.Want.Root {
			w := wrongIndex{v: v, mine: t.Clone(), newest: map[index.Hash]originRecord{}}
			p.rp.EachNewest(func(o string, r index.Record) { w.newest[index.KeyOf(o)] = originRecord{o, r} })
			p.wrong = append(p.wrong, w)
		}
		return
	}
	r, err := index.VerifyCarried(a.cfg.Policy, v.Entry)
	switch {
	case err != nil:
		raise(fmt.Sprintf("the checkpoint it carries is not the log's: %v", err))
	case r == nil:
		// None, or not cosigned by this auditor's quorum: nothing to check.
	case r.Log != a.log:
		raise(fmt.Sprintf("it carries a checkpoint of another log, %s", r.Log.Origin()))
	default:
		p.embedded = append(p.embedded, embeddedCheckpoint{v.Position, r.Checkpoint})
	}
}

// finishIndex does the checks of the pass that need the network: the
// origins a wrong index entry is wrong about, read from the index files
// the log serves, and each carried checkpoint's consistency with the
// verified view.
func (a *Auditor) finishIndex(ctx context.Context, st *State, p *indexPass, cp *checkpoint.Signed) {
	var left []embeddedCheckpoint
	for _, e := range p.embedded {
		source := fmt.Sprintf("index entry %d", e.position)
		if o, err := a.prove(ctx, source, e.cp, cp, a.prover); o == unproven {
			a.raiseUnproven(source, e.cp, cp, a.cfg.Now(), err)
			left = append(left, e)
		}
	}
	p.embedded = left
	p.save(st)
	for _, w := range p.wrong {
		diffs, err := w.mine.Diff(ctx, index.Files(a.reader), w.v.Entry.Root, 10)
		if err != nil {
			a.cfg.Log.Warn("reading the files of a wrong index entry", "index", w.v.Position, "err", err)
			continue
		}
		for _, d := range diffs {
			a.raiseIndexDifference(ctx, w, d, cp)
		}
	}
}

// raiseIndexDifference names one origin a wrong index entry is wrong
// about: what the log holds, what the index says.
func (a *Auditor) raiseIndexDifference(ctx context.Context, w wrongIndex, d index.Difference, cp *checkpoint.Signed) {
	mine, known := w.newest[d.Key]
	origin := mine.origin
	if !known {
		origin = "origin with key " + d.Key.String()
	}
	var theirs string
	var last *index.Record
	evidence := [][]byte{w.v.Raw, cp.Bytes()}
	switch {
	case d.Theirs == nil:
		theirs = "it has no record of it at all"
	default:
		ch, data, err := index.FetchChunk(ctx, index.Files(a.reader), *d.Theirs)
		if err != nil {
			theirs = fmt.Sprintf("its chunk %s cannot be read (%v)", d.Theirs, err)
			break
		}
		evidence = append(evidence, data)
		l := ch.Last()
		last = &l
		theirs = fmt.Sprintf("it says the newest is entry %d (TIMESTAMP %s, number %d)", l.Index, l.Timestamp.Format(time.RFC3339), l.Seq)
		if origin != ch.Origin {
			origin = untrusted.Escape(ch.Origin)
		}
	}
	logs := "the log holds no snapshot of it"
	if known {
		logs = fmt.Sprintf("the log's newest is entry %d (TIMESTAMP %s, number %d)", mine.rec.Index, mine.rec.Timestamp.Format(time.RFC3339), mine.rec.Seq)
		switch {
		case d.Theirs == nil:
			logs += ": the index omits it"
		case last == nil:
		case last.Index < mine.rec.Index:
			logs += ": the index names an older snapshot as the newest"
		case last.Index == mine.rec.Index:
			logs += fmt.Sprintf(": the index disagrees with the log's entry %d", mine.rec.Index)
		default:
			logs += ": the index names as the newest an entry the log does not hold"
		}
	}
	a.alerts.raise(AlertIndexWrong, fmt.Sprintf("index entry %d: %s", w.v.Position, origin),
		fmt.Sprintf("log entry %d, an index entry as of size %d, lies about the newest snapshot of %s: %s; %s", w.v.Position, w.v.Entry.Size, origin, theirs, logs),
		evidence...)
}

// checkServedIndex checks the index the log serves (index/latest): it
// must be an index entry under a checkpoint the quorum cosigned, carrying
// one too, consistent with the verified view.
func (a *Auditor) checkServedIndex(ctx context.Context, st *State, verified *checkpoint.Signed) {
	data, err := index.ReadLatest(ctx, a.reader)
	if errors.Is(err, tiles.ErrNotFound) {
		return // a log without an index
	}
	if err != nil {
		a.alerts.raise(AlertUnreachable, "index", fmt.Sprintf("cannot read the log's index: %v", err))
		return
	}
	l, err := index.VerifyLatest(a.cfg.Policy, data)
	switch {
	case errors.Is(err, index.ErrNotWitnessed):
		a.alerts.raise(AlertIndexUnwitnessed, "index", fmt.Sprintf("the log serves an index that is not witnessed: %v", err), data)
		return
	case err != nil:
		a.alerts.raise(AlertIndexServed, "index", fmt.Sprintf("the index the log serves does not verify: %v", err), data)
		return
	}
	if l.Proof.Log != a.log {
		a.alerts.raise(AlertIndexServed, "index", fmt.Sprintf("the index the log serves is of another log, %s", l.Proof.Log.Origin()), data)
		return
	}
	a.gossip(ctx, st, "index/latest", l.Proof.Checkpoint.Bytes(), verified, nil)
	if c := l.Checkpoint; c != nil && c.Checkpoint.Size <= verified.Size {
		if o, err := a.prove(ctx, "index/latest", c.Checkpoint, verified, a.prover); o == unproven {
			a.raiseUnproven("index/latest", c.Checkpoint, verified, a.cfg.Now(), err)
		}
	}
}
