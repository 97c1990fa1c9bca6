package index

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"treelog/checkpoint"
	"treelog/internal/untrusted"
	"treelog/manifest"
	"treelog/metamanifest"
)

// ChunkHeader is the first line of a chunk.
const ChunkHeader = "treelog-index-chunk/v1"

// MaxChunkRecords bounds the records of a chunk: a chunk holds the records
// an origin gained between two index versions, a new chunk starting after
// this many, so that a client reads little whatever the publishing rate.
const MaxChunkRecords = 16

// MaxChunkSize bounds a chunk's bytes.
const MaxChunkSize = 4096

// A Record is one MetaManifest entry of the log, as the index knows it.
type Record struct {
	// Seq is the entry's number among its origin's entries, from 1.
	Seq uint64 `json:"seq"`
	// Index is the entry's index in the log.
	Index uint64 `json:"index"`
	// Timestamp is the MetaManifest's TIMESTAMP.
	Timestamp time.Time `json:"timestamp"`
	// LeafHash is the entry's RFC 6962 leaf hash in the log.
	LeafHash Hash `json:"leaf_hash"`
}

// A Chunk is a run of one origin's records, in log order, with the hash of
// the chunk before it: an origin's chunks form a hash chain back to its
// first record.
type Chunk struct {
	Origin string
	// Previous is the hash of the chunk before, if the first record's Seq
	// is above 1.
	Previous Hash
	Records  []Record
}

// HasPrevious reports whether a chunk comes after another.
func (c *Chunk) HasPrevious() bool { return len(c.Records) > 0 && c.Records[0].Seq > 1 }

// Last returns the chunk's newest record.
func (c *Chunk) Last() Record { return c.Records[len(c.Records)-1] }

// Marshal returns the chunk's bytes.
func (c *Chunk) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(ChunkHeader + "\n")
	b.WriteString("origin " + c.Origin + "\n")
	if c.HasPrevious() {
		b.WriteString("previous " + encodeHash(c.Previous) + "\n")
	}
	for _, r := range c.Records {
		b.WriteString("record " + strconv.FormatUint(r.Seq, 10) + " " + strconv.FormatUint(r.Index, 10) + " " +
			r.Timestamp.UTC().Format(manifest.TimeFormat) + " " + encodeHash(r.LeafHash) + "\n")
	}
	return b.Bytes()
}

// ParseChunk parses a chunk: 1 to MaxChunkRecords records of one origin
// with consecutive sequence numbers and increasing log indexes.
func ParseChunk(data []byte) (*Chunk, error) {
	if len(data) > MaxChunkSize {
		return nil, untrusted.Malformed(ErrMalformed, "chunk is %d bytes, over the limit of %d", len(data), MaxChunkSize)
	}
	text := string(data)
	if !strings.HasSuffix(text, "\n") {
		return nil, untrusted.Malformed(ErrMalformed, "chunk does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 || lines[0] != ChunkHeader {
		return nil, untrusted.Malformed(ErrMalformed, "chunk: want %q, an origin line and records", ChunkHeader)
	}
	c := &Chunk{}
	o, ok := strings.CutPrefix(lines[1], "origin ")
	if !ok {
		return nil, untrusted.Malformed(ErrMalformed, "chunk: line 2: want \"origin <name>\"")
	}
	if err := metamanifest.CheckOrigin(o); err != nil {
		return nil, untrusted.Malformed(ErrMalformed, "chunk: line 2: %v", err)
	}
	c.Origin = o
	rest := lines[2:]
	prev, hasPrev := strings.CutPrefix(rest[0], "previous ")
	if hasPrev {
		h, err := checkpoint.ParseHash(prev)
		if err != nil {
			return nil, untrusted.Malformed(ErrMalformed, "chunk: line 3: previous: %v", err)
		}
		c.Previous = h
		rest = rest[1:]
	}
	if len(rest) == 0 || len(rest) > MaxChunkRecords {
		return nil, untrusted.Malformed(ErrMalformed, "chunk: %d records, want 1 to %d", len(rest), MaxChunkRecords)
	}
	first := len(lines) - len(rest) + 1
	for i, l := range rest {
		r, err := parseRecord(l)
		if err != nil {
			return nil, untrusted.Malformed(ErrMalformed, "chunk: line %d: %v", first+i, err)
		}
		if i > 0 {
			p := c.Records[i-1]
			if r.Seq != p.Seq+1 || r.Index <= p.Index {
				return nil, untrusted.Malformed(ErrMalformed, "chunk: line %d: record %d at index %d does not follow record %d at index %d", first+i, r.Seq, r.Index, p.Seq, p.Index)
			}
		}
		c.Records = append(c.Records, r)
	}
	if hasPrev != c.HasPrevious() {
		return nil, untrusted.Malformed(ErrMalformed, "chunk: a \"previous\" line is required exactly when the first record's number is above 1")
	}
	return c, nil
}

func parseRecord(l string) (Record, error) {
	var r Record
	f := strings.Split(l, " ")
	if len(f) != 5 || f[0] != "record" {
		return r, errorf("want \"record <seq> <index> <TIMESTAMP> <leaf hash>\"")
	}
	var err error
	if r.Seq, err = untrusted.ParseDecimal(f[1]); err != nil || r.Seq == 0 {
		return r, errorf("record number %q is not a positive decimal", untrusted.Short(f[1], 24))
	}
	if r.Index, err = untrusted.ParseDecimal(f[2]); err != nil {
		return r, errorf("log index: %v", err)
	}
	if r.Timestamp, err = manifest.ParseTimestamp(f[3]); err != nil {
		return r, errorf("TIMESTAMP: %v", err)
	}
	h, err := checkpoint.ParseHash(f[4])
	if err != nil {
		return r, errorf("leaf hash: %v", err)
	}
	r.LeafHash = h
	return r, nil
}
