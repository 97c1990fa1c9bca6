package signd

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"treelog/internal/atomicfile"
	"treelog/metamanifest"
)

// JournalHeader is the first line of a journal.
const JournalHeader = "treelog-signd-journal/v1"

// ErrJournalCorrupt is wrapped when a complete journal record does not parse:
// local corruption, which the daemon refuses to start on.
var ErrJournalCorrupt = errors.New("signing journal is corrupt")

// A Record is one signature the daemon made. In the journal it is a line
//
//	signed <time> uid <uid> pid <pid> size <n>
//
// followed by the n bytes of the signed MetaManifest (which end in a
// newline), exactly as the daemon returned it.
type Record struct {
	// Time is when it was signed (UTC, whole seconds).
	Time time.Time
	// UID and PID are the credentials of the process that asked.
	UID, PID uint32
	// MetaManifest is the signed note; Origin and Timestamp are its own.
	MetaManifest []byte
	Origin       string
	Timestamp    time.Time
}

// Marshal returns the record as the journal holds it.
func (r *Record) Marshal() []byte {
	b := fmt.Appendf(nil, "signed %s uid %d pid %d size %d\n", r.Time.UTC().Format(time.RFC3339), r.UID, r.PID, len(r.MetaManifest))
	return append(b, r.MetaManifest...)
}

// ParseJournal parses a journal's contents. It returns the complete records
// and the length of data they (and the header) cover: a final record cut
// short by a crash is not an error, and is left out. A complete record
// that does not parse is ErrJournalCorrupt.
func ParseJournal(data []byte) (recs []Record, complete int, err error) {
	hdr := []byte(JournalHeader + "\n")
	if !bytes.HasPrefix(data, hdr) {
		if bytes.HasPrefix(hdr, data) {
			return nil, 0, nil // a header cut short: an empty journal
		}
		return nil, 0, fmt.Errorf("%w: it does not start with %q", ErrJournalCorrupt, JournalHeader)
	}
	off := len(hdr)
	for off < len(data) {
		nl := bytes.IndexByte(data[off:], '\n')
		if nl < 0 {
			return recs, off, nil // cut short
		}
		line := string(data[off : off+nl])
		r, size, err := parseRecordLine(line)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: record %d (byte %d): %v", ErrJournalCorrupt, len(recs)+1, off, err)
		}
		body := off + nl + 1
		if len(data)-body < size {
			return recs, off, nil // cut short
		}
		r.MetaManifest = data[body : body+size : body+size]
		m, _, err := metamanifest.Parse(r.MetaManifest)
		if err != nil || !bytes.HasSuffix(r.MetaManifest, []byte("\n")) {
			return nil, 0, fmt.Errorf("%w: record %d (byte %d): not a signed MetaManifest: %v", ErrJournalCorrupt, len(recs)+1, off, err)
		}
		r.Origin, r.Timestamp = m.Origin, m.Timestamp
		recs = append(recs, r)
		off = body + size
	}
	return recs, off, nil
}

func parseRecordLine(line string) (Record, int, error) {
	f := strings.Split(line, " ")
	if len(f) != 8 || f[0] != "signed" || f[2] != "uid" || f[4] != "pid" || f[6] != "size" {
		return Record{}, 0, fmt.Errorf("want \"signed <time> uid <uid> pid <pid> size <n>\", got %.80q", line)
	}
	t, err := time.Parse(time.RFC3339, f[1])
	if err != nil || t.Format(time.RFC3339) != f[1] || t.Location() != time.UTC {
		return Record{}, 0, fmt.Errorf("time %.40q is not YYYY-MM-DDTHH:MM:SSZ", f[1])
	}
	uid, err1 := strconv.ParseUint(f[3], 10, 32)
	pid, err2 := strconv.ParseUint(f[5], 10, 32)
	size, err3 := strconv.ParseUint(f[7], 10, 32)
	if err := errors.Join(err1, err2, err3); err != nil {
		return Record{}, 0, fmt.Errorf("uid, pid and size must be decimal numbers: %.80q", line)
	}
	for _, s := range []string{f[3], f[5], f[7]} {
		if len(s) > 1 && s[0] == '0' {
			return Record{}, 0, fmt.Errorf("number %q has a leading zero", s)
		}
	}
	if size == 0 || size > metamanifest.MaxSize {
		return Record{}, 0, fmt.Errorf("size %d is not between 1 and %d", size, metamanifest.MaxSize)
	}
	return Record{Time: t, UID: uint32(uid), PID: uint32(pid)}, int(size), nil
}

// A Journal is the daemon's append-only record of its signatures. It is
// also its durable state: the last TIMESTAMP signed per origin.
type Journal struct {
	path string
	mu   sync.Mutex
	f    *os.File
	last map[string]time.Time
	n    int
}

// OpenJournal opens (or creates) the journal at path and replays it. A
// final record cut short by a crash was never answered: it is cut off, and
// dropped reports its size (0 if none).
func OpenJournal(path string) (j *Journal, dropped int, err error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := createJournal(path); err != nil {
			return nil, 0, err
		}
		data = []byte(JournalHeader + "\n")
	case err != nil:
		return nil, 0, fmt.Errorf("reading the journal: %w", err)
	}
	recs, complete, err := ParseJournal(data)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("opening the journal: %w", err)
	}
	if complete < len(data) || complete == 0 {
		// Cut off what a crash left half-written (or complete a header
		// cut short), durably, before anything is appended.
		err = f.Truncate(int64(complete))
		if err == nil && complete == 0 {
			_, err = f.WriteString(JournalHeader + "\n")
		}
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			f.Close()
			return nil, 0, fmt.Errorf("cutting off the journal's incomplete last record: %w", err)
		}
	}
	j = &Journal{path: path, f: f, last: map[string]time.Time{}, n: len(recs)}
	for _, r := range recs {
		if r.Timestamp.After(j.last[r.Origin]) {
			j.last[r.Origin] = r.Timestamp
		}
	}
	return j, max(len(data)-complete, 0), nil
}

func createJournal(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating the journal: %w", err)
	}
	_, err = f.WriteString(JournalHeader + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = atomicfile.SyncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("creating the journal: %w", err)
	}
	return nil
}

// Last returns the newest TIMESTAMP signed for origin (zero if none).
func (j *Journal) Last(origin string) time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.last[origin]
}

// Len returns the number of records.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.n
}

// Append writes r in one write and syncs it to disk: when Append returns
// nil, the record survives a crash. On error the journal must not be used
// again (its tail is unknown until it is reopened).
func (j *Journal) Append(r *Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errors.New("the journal is closed")
	}
	if _, err := j.f.Write(r.Marshal()); err != nil {
		return fmt.Errorf("appending to the journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("syncing the journal: %w", err)
	}
	j.n++
	if r.Timestamp.After(j.last[r.Origin]) {
		j.last[r.Origin] = r.Timestamp
	}
	return nil
}

// Close closes the journal.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// ReadJournal reads and parses the journal at path, for operators' tools;
// it reports the bytes of an incomplete last record in cut.
func ReadJournal(path string) (recs []Record, cut int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	recs, complete, err := ParseJournal(data)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return recs, len(data) - complete, nil
}
