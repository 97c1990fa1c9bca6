package index

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"treelog/checkpoint"
	"treelog/metamanifest"
	"treelog/trust"
)

// Want is what the next index entry must say: the index as of Size.
type Want struct {
	Size    uint64
	Root    Hash
	Origins uint64
}

// A Version is an index entry the Replayer met, and what it should say.
type Version struct {
	// Position is the index entry's index in the log.
	Position uint64
	// Raw is the entry as logged; Entry is nil if it does not parse.
	Raw   []byte
	Entry *Entry
	// Want is what the entry should say, recomputed from the log.
	Want Want
	// Err says how the entry is wrong (malformed, or not what the log's
	// entries give), or is nil.
	Err error
}

// A Replayer recomputes the index from a log's entries, in order: the log
// server builds the index with it, and an auditor checks every index
// entry the log holds against it. Every entry whose first line says it is
// an index entry ends a version (a malformed one too: the rule that an
// index covers the log up to the previous index entry is about positions);
// each MetaManifest that parses becomes a record of its origin, signed by
// an allowed key or not, so that the index is a function of the log's
// bytes alone.
type Replayer struct {
	next    uint64
	last    uint64 // position of the last index entry, if hasLast
	hasLast bool
	broken  bool
	trie    *Trie
	origins map[string]*OriginState
	// made are the chunks made since TakeChunks, if keepChunks; onVersion
	// receives every index entry, while the trie is still the one the
	// entry must describe.
	keepChunks bool
	made       []MadeChunk
	onVersion  func(v *Version, t *Trie) error
}

// A MadeChunk is a chunk a Replayer made, to be written under its hash.
type MadeChunk struct {
	Hash Hash
	Data []byte
}

// OriginState is what the replayer keeps of one origin.
type OriginState struct {
	// Committed is the origin's value in the trie (if InTrie): its newest
	// chunk as of the last index entry.
	Committed Hash `json:"committed"`
	InTrie    bool `json:"in_trie"`
	// Last is its newest chunk made (if Seq > len(Open)).
	Last Hash `json:"last"`
	// Seq is the number of its records; Open those not in a chunk yet.
	Seq  uint64   `json:"seq"`
	Open []Record `json:"open,omitempty"`
	// Newest is its newest record as of the last index entry (if InTrie);
	// Latest its newest record.
	Newest Record `json:"newest"`
	Latest Record `json:"latest"`
}

// A ReplayOption configures a Replayer.
type ReplayOption func(*Replayer)

// KeepChunks has the replayer keep every chunk it makes until TakeChunks:
// what a log server writes for clients to read.
func KeepChunks() ReplayOption {
	return func(r *Replayer) { r.keepChunks = true }
}

// TakeChunks returns the chunks made since the last call, in the order
// they were made.
func (r *Replayer) TakeChunks() []MadeChunk {
	m := r.made
	r.made = nil
	return m
}

// OnVersion has fn receive every index entry the replayer meets, with the
// trie the entry must describe (to compare with what the log serves). An
// error from fn stops Apply, and the replayer must not be used again.
func OnVersion(fn func(v *Version, t *Trie) error) ReplayOption {
	return func(r *Replayer) { r.onVersion = fn }
}

// NewReplayer returns a replayer at the start of a log.
func NewReplayer(opts ...ReplayOption) *Replayer {
	r := &Replayer{trie: NewTrie(), origins: map[string]*OriginState{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Next returns the log index of the next entry to apply.
func (r *Replayer) Next() uint64 { return r.next }

// LastEntry returns the position of the last index entry applied.
func (r *Replayer) LastEntry() (uint64, bool) { return r.last, r.hasLast }

// Want returns what the next index entry must say.
func (r *Replayer) Want() Want {
	w := Want{Root: r.trie.Root(), Origins: uint64(r.trie.Len())}
	if r.hasLast {
		w.Size = r.last + 1
	}
	return w
}

// Trie returns the trie as of the last index entry (Want().Size).
func (r *Replayer) Trie() *Trie { return r.trie }

// Pending reports whether MetaManifests came after the last index entry:
// the index entry after the next one will hold them.
func (r *Replayer) Pending() bool {
	for _, st := range r.origins {
		if len(st.Open) > 0 || !st.InTrie || st.Last != st.Committed {
			return true
		}
	}
	return false
}

// Origins returns the number of origins seen, indexed or not yet.
func (r *Replayer) Origins() int { return len(r.origins) }

// Apply applies the entry at log index i, which must be Next(). It returns
// the Version for an index entry, nil for any other entry.
func (r *Replayer) Apply(i uint64, data []byte) (*Version, error) {
	return r.apply(i, data, nil)
}

// A Parsed MetaManifest entry is what the replay takes of it, for a
// caller that parsed it already (an auditor's workers, in parallel).
type Parsed struct {
	Origin    string
	Timestamp time.Time
	// LeafHash is the entry's RFC 6962 leaf hash.
	LeafHash Hash
}

// ApplyParsed is Apply for a MetaManifest entry that p describes (p as
// metamanifest.Parse and checkpoint.LeafHash give it; nil if the entry
// does not parse): the same outcome, without parsing it again.
func (r *Replayer) ApplyParsed(i uint64, data []byte, p *Parsed) (*Version, error) {
	if p == nil {
		p = &Parsed{} // not a MetaManifest: nothing to record
	}
	return r.apply(i, data, p)
}

func (r *Replayer) apply(i uint64, data []byte, p *Parsed) (*Version, error) {
	if r.broken {
		return nil, errors.New("index replay: the replayer stopped at an error and cannot go on")
	}
	if i != r.next {
		return nil, fmt.Errorf("index replay: entry %d applied, want entry %d", i, r.next)
	}
	var v *Version
	switch trust.KindOf(data) {
	case trust.KindMetaManifest:
		if p == nil {
			p = parse(data)
		}
		if p.Origin != "" {
			r.record(i, p)
		}
	case trust.KindIndex:
		v = &Version{Position: i, Raw: data, Want: r.Want()}
		v.Entry, v.Err = ParseEntry(data)
		if v.Err == nil {
			v.Err = v.Want.check(v.Entry)
		}
		if r.onVersion != nil {
			if err := r.onVersion(v, r.trie); err != nil {
				r.broken = true
				return nil, err
			}
		}
		r.boundary(i)
	}
	r.next++
	return v, nil
}

func (w Want) check(e *Entry) error {
	switch {
	case e.Size != w.Size:
		return fmt.Errorf("it covers the log up to size %d, but the previous index entry makes that %d", e.Size, w.Size)
	case e.Origins != w.Origins:
		return fmt.Errorf("it counts %d origins as of size %d, but the log has %d", e.Origins, e.Size, w.Origins)
	case e.Root != w.Root:
		return fmt.Errorf("its root %s is not the index of the log's entries up to size %d, %s", encodeHash(e.Root), e.Size, encodeHash(w.Root))
	}
	return nil
}

// record makes a record of the MetaManifest at log index i.
func (r *Replayer) record(i uint64, p *Parsed) {
	st := r.origins[p.Origin]
	if st == nil {
		st = &OriginState{}
		r.origins[p.Origin] = st
	}
	st.Seq++
	rec := Record{Seq: st.Seq, Index: i, Timestamp: p.Timestamp.UTC(), LeafHash: p.LeafHash}
	st.Open = append(st.Open, rec)
	st.Latest = rec
	if len(st.Open) == MaxChunkRecords {
		r.close(p.Origin, st)
	}
}

// parse takes what the replay needs of a MetaManifest entry; an entry
// that does not parse gives an empty origin.
func parse(data []byte) *Parsed {
	m, _, err := metamanifest.Parse(data)
	if err != nil {
		return &Parsed{}
	}
	return &Parsed{Origin: m.Origin, Timestamp: m.Timestamp, LeafHash: Hash(checkpoint.LeafHash(data))}
}

// close makes a chunk of the origin's open records.
func (r *Replayer) close(origin string, st *OriginState) {
	c := &Chunk{Origin: origin, Records: st.Open}
	if c.HasPrevious() {
		c.Previous = st.Last
	}
	data := c.Marshal()
	h := HashOf(data)
	if r.keepChunks {
		r.made = append(r.made, MadeChunk{Hash: h, Data: data})
	}
	st.Last, st.Open = h, nil
}

// boundary ends a version at the index entry at i: every origin's newest
// chunk goes into the trie, which is then the index as of i+1.
func (r *Replayer) boundary(i uint64) {
	names := make([]string, 0, len(r.origins))
	for o, st := range r.origins {
		if len(st.Open) > 0 || !st.InTrie || st.Committed != st.Last {
			names = append(names, o)
		}
	}
	sort.Strings(names) // chunks are handed out in a fixed order
	for _, o := range names {
		st := r.origins[o]
		if len(st.Open) > 0 {
			r.close(o, st)
		}
		if st.Seq > 0 {
			st.Committed, st.InTrie, st.Newest = st.Last, true, st.Latest
			r.trie.Set(KeyOf(o), st.Last)
		}
	}
	r.last, r.hasLast = i, true
}

// Newest returns the newest record of origin as of the last index entry:
// what the next index entry must name.
func (r *Replayer) Newest(origin string) (Record, bool) {
	st := r.origins[origin]
	if st == nil || !st.InTrie {
		return Record{}, false
	}
	return st.Newest, true
}

// EachNewest calls fn with every origin's newest record as of the last
// index entry.
func (r *Replayer) EachNewest(fn func(origin string, newest Record)) {
	for o, st := range r.origins {
		if st.InTrie {
			fn(o, st.Newest)
		}
	}
}

// ReplayState is a Replayer's state, to save and resume from.
type ReplayState struct {
	Next    uint64                  `json:"next"`
	Last    *uint64                 `json:"last_index_entry,omitempty"`
	Origins map[string]*OriginState `json:"origins"`
}

// State returns the replayer's state. It shares nothing with the replayer.
func (r *Replayer) State() *ReplayState {
	s := &ReplayState{Next: r.next, Origins: make(map[string]*OriginState, len(r.origins))}
	if r.hasLast {
		last := r.last
		s.Last = &last
	}
	for o, st := range r.origins {
		c := *st
		c.Open = append([]Record(nil), st.Open...)
		s.Origins[o] = &c
	}
	return s
}

// Resume returns a replayer that goes on from a saved state.
func Resume(s *ReplayState, opts ...ReplayOption) (*Replayer, error) {
	r := NewReplayer(opts...)
	r.next = s.Next
	if s.Last != nil {
		if *s.Last >= s.Next {
			return nil, fmt.Errorf("index state: last index entry %d is not before the next entry %d", *s.Last, s.Next)
		}
		r.last, r.hasLast = *s.Last, true
	}
	for o, st := range s.Origins {
		if st == nil || st.Seq < uint64(len(st.Open)) || len(st.Open) >= MaxChunkRecords {
			return nil, fmt.Errorf("index state: origin %q is inconsistent", o)
		}
		c := *st
		c.Open = append([]Record(nil), st.Open...)
		r.origins[o] = &c
		if c.InTrie {
			r.trie.Set(KeyOf(o), c.Committed)
		}
	}
	return r, nil
}
