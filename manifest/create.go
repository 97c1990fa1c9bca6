package manifest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"treelog/internal/progress"
)

// WithLayout sets Create's layout (default LayoutPlain).
func WithLayout(l Layout) Option { return func(c *config) { c.layout = l } }

// WithHashes sets the hashes Create computes (default DefaultHashes).
func WithHashes(names []string) Option { return func(c *config) { c.hashes = names } }

// WithTimestamp sets the top-level TIMESTAMP Create writes (default: now).
func WithTimestamp(t time.Time) Option { return func(c *config) { c.timestamp = t } }

// WithKeepDist says whether Create keeps the DIST lines of the Manifests it
// replaces, as an overlay's thin package Manifests carry them (default true:
// dropping them would stop package managers from checking distfiles).
func WithKeepDist(keep bool) Option { return func(c *config) { c.keepDist = keep } }

// A CreateReport describes what Create wrote.
type CreateReport struct {
	// Top is the top-level Manifest as written.
	Top []byte
	// Timestamp is its TIMESTAMP.
	Timestamp time.Time
	// Manifests counts the Manifest files written, the top-level one included.
	Manifests int
	// Files and Bytes count the files hashed.
	Files, Bytes int64
}

// mnode is a directory that gets a Manifest. It is written once every file
// under it is hashed and every sub-Manifest below it is written.
type mnode struct {
	rel     string
	parent  *mnode
	pending atomic.Int64
	mu      sync.Mutex
	entries []Entry
	hasDist bool
	old     []string // existing Manifest variants in its directory
	// prev is the Manifest being replaced, as stored and uncompressed.
	prev *prevManifest
}

// prevManifest is the Manifest a new one replaces: if the new one has the
// same name and content, the file stays as it is (not compressed again,
// not rewritten), whichever gzip wrote it.
type prevManifest struct {
	name         string
	stored, text []byte
}

// pendingWrite is a Manifest written under a temporary name, renamed into
// place only when the whole tree is done.
type pendingWrite struct {
	tmp, final string
	stale      []string // old Manifest variants to remove
}

type creator struct {
	ctx    context.Context
	root   string
	cfg    *config
	jobs   chan createJob
	wg     sync.WaitGroup
	count  *progress.Counter
	ts     time.Time
	top    []byte
	mu     sync.Mutex
	errs   []string
	writes []pendingWrite
	files  atomic.Int64
	bytes  atomic.Int64
	seen   map[fileID]bool
	// Directories that get a Manifest, and directories reached through
	// symbolic links: a directory in both would hold a Manifest that is
	// also data of another Manifest, written after it was hashed.
	manifestDirs, linkedDirs map[fileID]string
}

type createJob struct {
	rel  string // file path relative to the node's directory
	node *mnode
}

// Create writes a full Manifest tree for the directory dir: a Manifest in
// every directory the layout wants one, each listing the files below it not
// covered by a deeper Manifest, and the top-level Manifest with a TIMESTAMP.
// Dot-names are skipped, symbolic links followed. Files are hashed in
// parallel. New Manifests are written under temporary names and put in
// place only if the whole tree succeeds; on error the tree is unchanged.
func Create(ctx context.Context, dir string, opts ...Option) (*CreateReport, error) {
	cfg := newConfig(opts)
	for _, h := range cfg.hashes {
		if !Supported(h) {
			return nil, fmt.Errorf("hash %q is not supported", h)
		}
	}
	c := &creator{ctx: ctx, root: rootPrefix(dir), cfg: cfg, jobs: make(chan createJob, hashQueue), seen: map[fileID]bool{},
		manifestDirs: map[fileID]string{}, linkedDirs: map[fileID]string{}}
	c.ts = cfg.timestamp
	if c.ts.IsZero() {
		c.ts = time.Now()
	}
	c.ts = c.ts.UTC().Truncate(time.Second)
	if st, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	c.count = progress.New(cfg.progress, "hashing", "files")
	for range cfg.workers {
		c.wg.Add(1)
		go c.worker()
	}
	top := c.newNode(topDir, nil)
	l, err := c.list(topDir)
	if err == nil {
		err = c.walk(topDir, top, l, false)
	}
	top.release(c)
	close(c.jobs)
	c.wg.Wait()
	c.count.Done()
	for id, linked := range c.linkedDirs {
		if real, ok := c.manifestDirs[id]; ok {
			c.fail("%s: a symbolic link to %s, which gets its own Manifest; link only to directories without one", linked, displayDir(real))
		}
	}
	if err == nil && len(c.errs) > 0 {
		sort.Strings(c.errs)
		err = fmt.Errorf("creating Manifests: %d problem(s):\n  %s", len(c.errs), strings.Join(c.errs, "\n  "))
	}
	if err == nil && c.top == nil {
		err = errors.New("creating Manifests: the top-level Manifest was not written")
	}
	if err != nil {
		for _, w := range c.writes {
			if w.tmp != "" {
				os.Remove(w.tmp)
			}
		}
		return nil, err
	}
	n, err := c.commit()
	if err != nil {
		return nil, err
	}
	return &CreateReport{Top: c.top, Timestamp: c.ts, Manifests: n, Files: c.files.Load(), Bytes: c.bytes.Load()}, nil
}

func (c *creator) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) < 1000 {
		c.errs = append(c.errs, fmt.Sprintf(format, args...))
	}
}

func (c *creator) osPath(rel string) string { return c.root + filepath.FromSlash(rel) }

func (c *creator) newNode(rel string, parent *mnode) *mnode {
	n := &mnode{rel: rel, parent: parent}
	n.pending.Store(1) // released when the walk of its directory ends
	if parent != nil {
		parent.pending.Add(1)
	}
	for _, ig := range c.cfg.layout.ignores(rel) {
		n.entries = append(n.entries, Entry{Tag: TagIgnore, Path: ig})
	}
	n.prev = c.readPrev(rel)
	if c.cfg.keepDist && n.prev != nil {
		for _, e := range c.oldDist(rel, n.prev) {
			n.entries = append(n.entries, e)
			n.hasDist = true
		}
	}
	return n
}

// readPrev reads the Manifest being replaced in rel, if any.
func (c *creator) readPrev(rel string) *prevManifest {
	for _, name := range []string{"Manifest", "Manifest.gz", "Manifest.bz2"} {
		data, err := readBounded(c.osPath(join(rel, name)), -1, nil)
		if err != nil {
			continue
		}
		text, err := decompress(name, data)
		if err != nil {
			if c.cfg.keepDist { // its DIST lines cannot be kept
				c.fail("%s: %v", join(rel, name), err)
			}
			return nil
		}
		return &prevManifest{name: name, stored: data, text: text}
	}
	return nil
}

// oldDist returns the DIST entries of the Manifest being replaced.
func (c *creator) oldDist(rel string, p *prevManifest) []Entry {
	if !bytes.Contains(p.text, []byte("DIST")) {
		return nil // most Manifests: no need to parse
	}
	text := p.text
	if !bytes.HasPrefix(text, []byte("-----BEGIN PGP")) {
		// Only the DIST lines matter; the others are being replaced.
		var dist []byte
		for line := range bytes.Lines(text) {
			if bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("DIST")) {
				dist = append(dist, line...)
			}
		}
		text = dist
	}
	m, err := Parse(text)
	if err != nil {
		c.fail("%s: %v", join(rel, p.name), err)
		return nil
	}
	var out []Entry
	for _, e := range m.Entries {
		if e.Tag == TagDist {
			out = append(out, e)
		}
	}
	return out
}

func (n *mnode) add(e Entry) {
	n.mu.Lock()
	n.entries = append(n.entries, e)
	n.mu.Unlock()
}

// release drops one pending reference; the last one writes the Manifest.
func (n *mnode) release(c *creator) {
	if n.pending.Add(-1) == 0 {
		c.finish(n)
	}
}

// isOldManifest reports whether name is a Manifest file that the Manifest
// of its directory replaces.
func isOldManifest(name string) bool {
	return name == "Manifest" || (strings.HasPrefix(name, "Manifest.") && compression(name) != "" && strings.Count(name, ".") == 1)
}

type dirListing struct {
	id          fileID
	hasID       bool
	dirs, files []string
	other       []string        // neither: special files, reported unless ignored
	broken      []string        // symbolic links that cannot be followed
	links       map[string]bool // directories that are symbolic links
}

// list reads a directory, following symbolic links, skipping dot-names. It
// marks the directory as on the current path, for loop detection.
func (c *creator) list(rel string) (*dirListing, error) {
	ents, st, _, err := listDir(c.osPath(rel))
	if err != nil {
		return nil, err
	}
	l := &dirListing{links: map[string]bool{}}
	if st.ino != 0 {
		id := fileID{dev: st.dev, ino: st.ino}
		if c.seen[id] {
			return nil, fmt.Errorf("symbolic link loop")
		}
		c.seen[id] = true
		l.id, l.hasID = id, true
	}
	for _, de := range ents {
		name := de.name
		if name[0] == '.' {
			continue
		}
		mode := de.mode
		link := mode&fs.ModeSymlink != 0
		if link || mode == fs.ModeIrregular { // followed, or not typed by the listing
			fi, err := os.Stat(c.osPath(join(rel, name)))
			if err != nil {
				l.broken = append(l.broken, name)
				continue
			}
			mode = fi.Mode().Type()
		}
		switch {
		case mode.IsDir():
			l.dirs = append(l.dirs, name)
			l.links[name] = link
		case mode.IsRegular():
			l.files = append(l.files, name)
		default:
			l.other = append(l.other, name)
		}
	}
	sort.Strings(l.dirs)
	sort.Strings(l.files)
	return l, nil
}

// unsee takes a directory off the current path once its walk is done.
func (c *creator) unsee(l *dirListing) {
	if l.hasID {
		delete(c.seen, l.id)
	}
}

// ignored reports whether rel is under an IGNORE of n or its ancestors.
func (c *creator) ignored(n *mnode, rel string) bool {
	if c.cfg.ignore[rel] {
		return true
	}
	for ; n != nil; n = n.parent {
		for _, ig := range c.cfg.layout.ignores(n.rel) {
			if join(n.rel, ig) == rel {
				return true
			}
		}
	}
	return false
}

// keep filters names of directory rel down to those not ignored by n.
func (c *creator) keep(n *mnode, rel string, names []string) []string {
	out := names[:0:0]
	for _, name := range names {
		if !c.ignored(n, join(rel, name)) {
			out = append(out, name)
		}
	}
	return out
}

// walk handles directory rel, listed as l, which belongs to Manifest node
// n: it queues the files for hashing and descends into subdirectories.
//
// A directory reached through a symbolic link (viaLink) never gets its own
// Manifest, and may not hold one: its target may be walked by its real path
// too, and one file cannot be both a new Manifest and data hashed before
// that Manifest is written.
func (c *creator) walk(rel string, n *mnode, l *dirListing, viaLink bool) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	for _, o := range c.keep(n, rel, l.other) {
		c.fail("%s: not a regular file or directory; IGNORE it or remove it", join(rel, o))
	}
	for _, b := range c.keep(n, rel, l.broken) {
		c.fail("%s: symbolic link cannot be followed", join(rel, b))
	}
	ownManifest := rel == n.rel
	if l.hasID {
		if viaLink {
			c.linkedDirs[l.id] = rel
		} else if ownManifest {
			c.manifestDirs[l.id] = rel
		}
	}
	for _, name := range c.keep(n, rel, l.files) {
		if ownManifest && isOldManifest(name) {
			n.old = append(n.old, name) // replaced by this directory's new Manifest
			continue
		}
		n.pending.Add(1)
		select {
		case c.jobs <- createJob{rel: relTo(n.rel, join(rel, name)), node: n}:
		case <-c.ctx.Done():
			n.pending.Add(-1)
			return c.ctx.Err()
		}
	}
	for _, d := range c.keep(n, rel, l.dirs) {
		sub := join(rel, d)
		sl, err := c.list(sub)
		if err != nil {
			c.fail("%s: %v", sub, err)
			continue
		}
		linked := viaLink || l.links[d]
		if !linked && c.cfg.layout.wantManifest(sub, c.keep(n, sub, sl.dirs), c.keep(n, sub, sl.files)) {
			child := c.newNode(sub, n)
			err = c.walk(sub, child, sl, false)
			child.release(c)
		} else {
			err = c.walk(sub, n, sl, linked)
		}
		c.unsee(sl)
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *creator) worker() {
	defer c.wg.Done()
	for j := range c.jobs {
		p := join(j.node.rel, j.rel)
		n, sums, err := HashFile(c.osPath(p), c.cfg.hashes)
		if err != nil {
			c.fail("%s: %v", p, err)
		} else {
			c.files.Add(1)
			c.bytes.Add(n)
			c.count.Add(1, n)
			j.node.add(Entry{Tag: TagData, Path: j.rel, Size: uint64(n), Checksums: sums})
		}
		j.node.release(c)
	}
}

// finish writes node n's Manifest and reports it to the parent.
func (c *creator) finish(n *mnode) {
	m := &Manifest{Entries: n.entries}
	if n.parent == nil {
		m.Entries = append(m.Entries, Entry{Tag: TagTimestamp, Time: c.ts})
	}
	data := m.Marshal()
	name := "Manifest"
	compress := c.cfg.layout.compress(n.rel, len(data), n.hasDist)
	if compress {
		name = "Manifest.gz"
	}
	final := c.osPath(join(n.rel, name))
	w := pendingWrite{final: final}
	for _, o := range n.old {
		if o != name {
			w.stale = append(w.stale, c.osPath(join(n.rel, o)))
		}
	}
	// Creating files is slow on some file systems; a Manifest that did not
	// change (most of them, from one snapshot to the next) is not
	// compressed again, nor rewritten.
	if p := n.prev; p != nil && p.name == name && bytes.Equal(p.text, data) {
		data = p.stored
	} else {
		if compress {
			data = gzipBytes(data)
		}
		w.tmp = c.osPath(join(n.rel, ".treelog-new-"+name))
		if err := writeFileSync(w.tmp, data); err != nil {
			c.fail("%s: %v", join(n.rel, name), err)
		}
	}
	n.prev = nil
	c.mu.Lock()
	c.writes = append(c.writes, w)
	c.mu.Unlock()
	if n.parent == nil {
		c.top = data
		return
	}
	n.parent.add(Entry{Tag: TagManifest, Path: relTo(n.parent.rel, join(n.rel, name)), Size: uint64(len(data)), Checksums: HashBytes(data, c.cfg.hashes)})
	n.entries = nil
	n.parent.release(c)
}

// commit renames every new Manifest into place and removes old variants.
func (c *creator) commit() (int, error) {
	for _, w := range c.writes {
		if w.tmp == "" {
			continue
		}
		if err := os.Rename(w.tmp, w.final); err != nil {
			return 0, fmt.Errorf("putting %s in place: %w", w.final, err)
		}
		for _, s := range w.stale {
			if err := os.Remove(s); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return 0, fmt.Errorf("removing old %s: %w", s, err)
			}
		}
	}
	return len(c.writes), nil
}

func writeFileSync(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// relTo returns p relative to directory dir (p is below dir).
func relTo(dir, p string) string {
	if dir == topDir {
		return p
	}
	return strings.TrimPrefix(p, dir+"/")
}

func displayDir(rel string) string {
	if rel == topDir {
		return "."
	}
	return rel
}
