package signd

import (
	"context"
	"fmt"
	"time"

	"treelog/metamanifest"
	"treelog/policy"
	"treelog/tiles"
	"treelog/trust"
)

// A Comparison is what comparing the journal with the log found.
type Comparison struct {
	// Size is the size of the witnessed checkpoint read up to.
	Size uint64
	// Logged are journal records the log holds, byte for byte.
	Logged []Logged
	// NotLogged are signatures the daemon made that the log does not
	// hold: a publish that failed after signing, or one not yet submitted.
	NotLogged []Record
	// Unrecorded are log entries for the compared origins that the
	// journal does not hold: signatures this daemon did not make. If the
	// daemon is the only way to sign these origins, the key was stolen.
	Unrecorded []Entry
}

// Logged is a journal record and its index in the log.
type Logged struct {
	Record
	Index uint64
}

// An Entry is a MetaManifest in the log.
type Entry struct {
	Index     uint64
	Origin    string
	Timestamp time.Time
	Raw       []byte
}

// CompareLog reads every entry of the log through r, verified against its
// latest checkpoint, which must be signed by a log of pol and cosigned by
// its quorum, and compares the entries for origins with recs.
func CompareLog(ctx context.Context, recs []Record, origins []string, r tiles.Reader, pol *policy.Policy) (*Comparison, error) {
	cpb, err := r.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the log's checkpoint: %w", err)
	}
	res, err := pol.Verify(cpb)
	if err != nil {
		return nil, fmt.Errorf("the log's checkpoint: %w", err)
	}
	cp := res.Checkpoint.Checkpoint
	ours := map[string]bool{}
	for _, o := range origins {
		ours[o] = true
	}
	journal := map[string]int{}
	for i, rec := range recs {
		ours[rec.Origin] = true
		journal[string(rec.MetaManifest)] = i
	}
	c := &Comparison{Size: cp.Size}
	found := make([]bool, len(recs))
	p := tiles.NewProver(r, 64)
	for b := uint64(0); b*tiles.TileWidth < cp.Size; b++ {
		entries, err := tiles.VerifiedEntries(ctx, r, p, cp, b)
		if err != nil {
			return nil, fmt.Errorf("reading the log: %w", err)
		}
		for i, e := range entries {
			idx := b*tiles.TileWidth + uint64(i)
			if j, ok := journal[string(e)]; ok {
				if !found[j] {
					found[j] = true
					c.Logged = append(c.Logged, Logged{Record: recs[j], Index: idx})
				}
				continue
			}
			if trust.KindOf(e) != trust.KindMetaManifest {
				continue // an index entry, a trust root: not a signature
			}
			m, _, err := metamanifest.Parse(e)
			if err != nil || !ours[m.Origin] {
				continue
			}
			c.Unrecorded = append(c.Unrecorded, Entry{Index: idx, Origin: m.Origin, Timestamp: m.Timestamp, Raw: e})
		}
	}
	for j, ok := range found {
		if !ok {
			c.NotLogged = append(c.NotLogged, recs[j])
		}
	}
	return c, nil
}
