package index

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"treelog/checkpoint"
	"treelog/internal/untrusted"
	"treelog/note"
	"treelog/trust"
)

// Header is the first line of an index entry: its kind of log entry
// (trust.KindOf says which kind an entry is).
const Header = trust.KindIndex

// MaxEntrySize bounds an index entry: a log entry (tessera's limit).
const MaxEntrySize = 65535

// ErrMalformed is wrapped by every error about the syntax of an index
// entry, a chunk or a trie node.
var ErrMalformed = errors.New("malformed index")

// An Entry is one version of the index, as the log holds it.
type Entry struct {
	// Size is N: the index covers the log's entries [0, N). N is one past
	// the log index of the previous index entry, or 0 for the first.
	Size uint64
	// Root is the trie root as of N.
	Root Hash
	// Origins is the number of origins in the trie.
	Origins uint64
	// Checkpoint is a checkpoint the log published, of size at most N,
	// verbatim with the witnesses' cosignatures: no entry at N or beyond
	// was in a witnessed checkpoint before they cosigned it. It is nil
	// when N is 0, and may be when the log knows no such checkpoint (a
	// log that restarted right after its first index entry): readers then
	// read the log after N themselves.
	Checkpoint []byte
}

// Marshal returns the entry as the log holds it.
func (e *Entry) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(Header + "\n")
	b.WriteString("size " + strconv.FormatUint(e.Size, 10) + "\n")
	b.WriteString("root " + encodeHash(e.Root) + "\n")
	b.WriteString("origins " + strconv.FormatUint(e.Origins, 10) + "\n")
	if e.Checkpoint != nil {
		b.WriteString("\n")
		b.Write(e.Checkpoint)
	}
	return b.Bytes()
}

// ParseEntry parses an index entry. Its checkpoint must be a signed note
// whose text is a checkpoint no larger than the entry's size; its
// signatures are not verified here (policy.Verify does that).
func ParseEntry(data []byte) (*Entry, error) {
	if len(data) > MaxEntrySize {
		return nil, untrusted.Malformed(ErrMalformed, "index entry is %d bytes, over the limit of %d", len(data), MaxEntrySize)
	}
	s := string(data)
	var lines []string
	for range 4 {
		l, rest, ok := strings.Cut(s, "\n")
		if !ok {
			return nil, untrusted.Malformed(ErrMalformed, "index entry: line %d does not end in a newline", len(lines)+1)
		}
		lines, s = append(lines, l), rest
	}
	if lines[0] != Header {
		return nil, untrusted.Malformed(ErrMalformed, "index entry: line 1: want %q", Header)
	}
	e := &Entry{}
	var err error
	if e.Size, err = decimalField(lines[1], "size"); err != nil {
		return nil, untrusted.Malformed(ErrMalformed, "index entry: line 2: %v", err)
	}
	v, ok := strings.CutPrefix(lines[2], "root ")
	if !ok {
		return nil, untrusted.Malformed(ErrMalformed, "index entry: line 3: want \"root <base64>\"")
	}
	if e.Root, err = checkpoint.ParseHash(v); err != nil {
		return nil, untrusted.Malformed(ErrMalformed, "index entry: line 3: root: %v", err)
	}
	if e.Origins, err = decimalField(lines[3], "origins"); err != nil {
		return nil, untrusted.Malformed(ErrMalformed, "index entry: line 4: %v", err)
	}
	if e.Size == 0 && (s != "" || e.Root != EmptyRoot || e.Origins != 0) {
		return nil, untrusted.Malformed(ErrMalformed, "index entry: an index of size 0 is the empty trie, with no checkpoint")
	}
	if s == "" {
		return e, nil
	}
	cp, ok := strings.CutPrefix(s, "\n")
	if !ok || cp == "" {
		return nil, untrusted.Malformed(ErrMalformed, "index entry: line 5: want a blank line, then the checkpoint")
	}
	n, err := note.Parse([]byte(cp))
	if err != nil {
		return nil, untrusted.Malformed(ErrMalformed, "index entry: checkpoint: %v", err)
	}
	c, err := checkpoint.ParseText(n.Text)
	if err != nil {
		return nil, untrusted.Malformed(ErrMalformed, "index entry: checkpoint: %v", err)
	}
	if c.Size > e.Size {
		return nil, untrusted.Malformed(ErrMalformed, "index entry: its checkpoint is of size %d, larger than the index's %d", c.Size, e.Size)
	}
	e.Checkpoint = []byte(cp)
	return e, nil
}

func decimalField(line, name string) (uint64, error) {
	v, ok := strings.CutPrefix(line, name+" ")
	if !ok {
		return 0, errors.New("want \"" + name + " <n>\"")
	}
	n, err := untrusted.ParseDecimal(v)
	if err != nil {
		return 0, errors.New(name + ": " + err.Error())
	}
	return n, nil
}
