package manifest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"treelog/internal/progress"
)

// Problem kinds reported by Verify.
const (
	KindModified    = "modified"    // size or a hash differs from the Manifest
	KindMissing     = "missing"     // listed in a Manifest, not in the tree
	KindStray       = "stray"       // in the tree, not listed in any Manifest
	KindConflict    = "conflict"    // two entries for one file disagree
	KindIgnored     = "ignored"     // an entry for a path that is IGNOREd or a dot-name
	KindNotRegular  = "not-regular" // a directory, device, FIFO... where a file is listed or found
	KindManifest    = "manifest"    // a Manifest is unreadable or malformed
	KindTimestamp   = "timestamp"   // a sub-Manifest TIMESTAMP is newer than the top one
	KindUnsupported = "unsupported" // an entry has no hash this package computes
	KindIO          = "io"          // a file could not be read
)

// TopManifestName is the name of the top-level Manifest in the tree root.
const TopManifestName = "Manifest"

const (
	maxProblems = 100_000 // problems kept; more are only counted
	hashQueue   = 64      // batches of hash jobs in flight
	batchSize   = 64      // files per batch: fewer hand-offs between goroutines
	topDir      = ""      // the tree root as a relative path
)

// A Problem is one reason a tree does not verify.
type Problem struct {
	// Path is the file's path relative to the tree root ("/"-separated).
	Path string
	// Kind is one of the Kind* constants.
	Kind string
	// Detail says what is wrong, for a person.
	Detail string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s: %s: %s", EncodePath(p.Path), p.Kind, p.Detail)
}

// A Report is the outcome of verifying a tree.
type Report struct {
	// Problems are sorted by path. Empty means the tree verified.
	Problems []Problem
	// Dropped counts problems beyond the first 100,000, which are not kept.
	Dropped int
	// Files and Bytes count the files verified, hashed or not.
	Files, Bytes int64
	// Reused counts the files of Files that were not read because the
	// cache (WithCache) showed them unchanged since they last matched the
	// same entries; ReusedBytes their bytes.
	Reused, ReusedBytes int64
	// Cache says, for a person, how the cache was used ("" without
	// WithCache): not at all and why, or whose cache it was; and whether
	// it could not be saved.
	Cache string
	// Timestamp is the top-level Manifest's TIMESTAMP (zero if none).
	Timestamp time.Time
}

// OK reports whether the tree verified.
func (r *Report) OK() bool { return len(r.Problems) == 0 && r.Dropped == 0 }

// Error returns nil for a verified tree, or an error listing every problem.
func (r *Report) Error() error {
	if r.OK() {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "tree does not verify: %d problem(s)", len(r.Problems)+r.Dropped)
	for _, p := range r.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	if r.Dropped > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", r.Dropped)
	}
	return errors.New(b.String())
}

// An Option configures Verify and Create.
type Option func(*config)

type config struct {
	workers  int
	progress io.Writer
	ignore   map[string]bool
	top      []byte
	cacheDir string
	full     bool
	racy     time.Duration // racyWindow; shorter in tests
	// create only:
	layout    Layout
	hashes    []string
	timestamp time.Time
	keepDist  bool
}

// WithWorkers sets how many files are hashed at once (default: one per CPU).
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithProgress shows a progress counter on w when w is a terminal.
func WithProgress(w io.Writer) Option { return func(c *config) { c.progress = w } }

// WithIgnore adds ignore paths (relative to the tree root), as a package
// manager's configuration may inject them (GLEP 74, directory tree coverage).
func WithIgnore(paths ...string) Option {
	return func(c *config) {
		for _, p := range paths {
			c.ignore[strings.Trim(p, "/")] = true
		}
	}
}

// WithTopManifest verifies the tree against these top-level Manifest bytes
// instead of reading DIR/Manifest, so that a caller who checked the bytes
// (against a MetaManifest) verifies exactly what it checked.
func WithTopManifest(data []byte) Option { return func(c *config) { c.top = data } }

func newConfig(opts []Option) *config {
	c := &config{workers: runtime.GOMAXPROCS(0), ignore: map[string]bool{}, hashes: DefaultHashes, keepDist: true, racy: racyWindow}
	for _, o := range opts {
		o(c)
	}
	if c.workers < 1 {
		c.workers = 1
	}
	return c
}

// fileEntry is the merged expectation for one file from one Manifest.
type fileEntry struct {
	*Entry          // in its Manifest's Entries
	path     string // relative to the tree root
	manifest string // path of the Manifest that lists it
	level    int    // the stack index of that Manifest
	matched  bool
	loaded   bool // a sub-Manifest verified when it was loaded
}

// active is a loaded Manifest whose directory is being walked.
type active struct {
	name    string // its path relative to the root
	dir     string // its directory relative to the root
	files   map[string]*fileEntry
	subs    map[string][]*fileEntry // MANIFEST entries by directory
	ignores map[string]bool
	ts      time.Time
	// under counts, with a cache, the entries (files and IGNOREs) below
	// each directory, to tell whether a directory's subtree depends only
	// on its own sub-Manifests.
	under map[string]int
}

type verifier struct {
	ctx    context.Context
	root   string // the tree's directory, ending in a separator
	cfg    *config
	topTS  time.Time
	hasTS  bool
	jobs   chan []hashJob
	wg     sync.WaitGroup
	walks  chan struct{} // tokens for directory walks running in parallel
	mu     sync.Mutex
	report Report
	files  atomic.Int64 // report.Files and Bytes, counted without the lock
	bytes  atomic.Int64
	err    error // the first error of a parallel walk
	count  *progress.Counter
	cache  *verifyCache // nil without WithCache
}

func (v *verifier) setErr(err error) {
	v.mu.Lock()
	if v.err == nil {
		v.err = err
	}
	v.mu.Unlock()
}

// A walker walks one directory subtree. Subtrees are walked in parallel,
// each with its own copy of the Manifests active on its path.
type walker struct {
	v       *verifier
	stack   []*active
	visited map[fileID]bool // directories on the current path
}

// fork returns a walker for a subtree walked in another goroutine.
func (w *walker) fork() *walker {
	c := &walker{v: w.v, stack: append([]*active(nil), w.stack...), visited: make(map[fileID]bool, len(w.visited))}
	for k := range w.visited {
		c.visited[k] = true
	}
	return c
}

// dirEntry is a name in a directory and its type bits.
type dirEntry struct {
	name string
	mode fs.FileMode
}

type hashJob struct {
	path    string
	entries []*fileEntry
	node    *cnode // its record in the new cache, or nil
}

// Verify verifies the tree at dir against its top-level Manifest, as GLEP 74
// describes: every file not ignored is listed, every listed file is present
// with the listed size and hashes, sub-Manifests are checked before they are
// decompressed and read, entries do not conflict, and no sub-Manifest
// TIMESTAMP is newer than the top-level one. It reports every problem; the
// error is for failures to run at all (a cancelled context).
//
// Files are hashed in parallel and streamed. Manifests are loaded as the walk
// enters their directory and dropped when it leaves, so memory follows the
// largest Manifest, not the size of the tree.
func Verify(ctx context.Context, dir string, opts ...Option) (*Report, error) {
	cfg := newConfig(opts)
	v := &verifier{ctx: ctx, root: rootPrefix(dir), cfg: cfg, jobs: make(chan []hashJob, hashQueue), walks: make(chan struct{}, cfg.workers)}
	v.count = progress.New(cfg.progress, "verifying", "files")
	if cfg.cacheDir != "" && cacheSupported {
		v.cache = &verifyCache{racyBefore: time.Now().Add(-cfg.racy).UnixNano()}
	}
	for range cfg.workers {
		v.wg.Add(1)
		go v.worker()
	}
	err := v.run()
	close(v.jobs)
	v.wg.Wait()
	v.count.Done()
	if err != nil {
		return nil, err
	}
	r := &v.report
	r.Files, r.Bytes = v.files.Load(), v.bytes.Load()
	sort.SliceStable(r.Problems, func(i, j int) bool { return r.Problems[i].Path < r.Problems[j].Path })
	if v.cache != nil {
		v.cache.finish(v)
	} else if cfg.cacheDir != "" {
		r.Cache = "not used: " + errNoCache.Error()
	}
	return r, nil
}

func (v *verifier) problem(p, kind, format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.report.Problems) >= maxProblems {
		v.report.Dropped++
		return
	}
	v.report.Problems = append(v.report.Problems, Problem{Path: p, Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

// rootPrefix returns dir, cleaned, ending in a separator, for osPath.
func rootPrefix(dir string) string {
	root := filepath.Clean(dir)
	if !os.IsPathSeparator(root[len(root)-1]) {
		root += string(filepath.Separator)
	}
	return root
}

// osPath returns the path of a tree-relative path: relative paths are
// clean already, so a concatenation does what filepath.Join would, without
// cleaning each of 150,000 paths again.
func (v *verifier) osPath(rel string) string {
	return v.root + filepath.FromSlash(rel)
}

func (v *verifier) run() error {
	top := v.cfg.top
	if top == nil {
		b, err := readBounded(v.osPath(TopManifestName), -1, nil)
		if err != nil {
			v.problem(TopManifestName, KindMissing, "cannot read the top-level Manifest: %v", err)
			return nil
		}
		top = b
	}
	m, err := Parse(top)
	if err != nil {
		v.problem(TopManifestName, KindManifest, "%v", err)
		return nil
	}
	v.topTS, v.hasTS = m.Timestamp()
	v.report.Timestamp = v.topTS
	var old *cview
	if v.cache != nil {
		old = v.cache.load(v, top)
	}
	w := &walker{v: v, visited: map[fileID]bool{}}
	w.push(TopManifestName, m)
	err = w.walkDir(topDir, old, v.cache.rootNode())
	w.pop(0)
	if err != nil {
		return err
	}
	return v.err
}

// push adds a loaded Manifest to the active stack, checking its entries.
func (w *walker) push(name string, m *Manifest) {
	dir := path.Dir(name)
	if dir == "." {
		dir = topDir
	}
	a := &active{name: name, dir: dir, files: make(map[string]*fileEntry, len(m.Entries))}
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Tag == TagIgnore {
			if a.ignores == nil {
				a.ignores = map[string]bool{}
			}
			a.ignores[join(dir, e.Path)] = true
		}
	}
	arena := make([]fileEntry, 0, len(m.Entries))
	if ts, ok := m.Timestamp(); ok {
		a.ts = ts
		if name != TopManifestName && w.v.hasTS && ts.After(w.v.topTS) {
			w.v.problem(name, KindTimestamp, "TIMESTAMP %s is newer than the top-level Manifest's %s", ts.Format(TimeFormat), w.v.topTS.Format(TimeFormat))
		}
	}
	w.stack = append(w.stack, a)
	if w.v.cache != nil {
		a.under = countUnder(dir, m)
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		if !e.IsFile() {
			continue
		}
		p := join(dir, e.FilePath())
		switch {
		case p == TopManifestName:
			w.v.problem(p, KindIgnored, "%s lists the top-level Manifest, which is implicitly excluded", name)
			continue
		case w.isIgnored(p):
			w.v.problem(p, KindIgnored, "%s has a %s entry for a path that is IGNOREd", name, e.Tag)
			continue
		case hasDotComponent(p):
			w.v.problem(p, KindIgnored, "%s has a %s entry for a dot-name, which is never verified", name, e.Tag)
			continue
		case w.v.cfg.ignore[p] || w.v.injectedIgnored(p):
			continue
		}
		if prev, dup := a.files[p]; dup {
			if err := compatible(prev.Entry, e); err != nil {
				w.v.problem(p, KindConflict, "%s lists it twice: %v", name, err)
			}
			mergeChecksums(prev.Entry, e)
			continue
		}
		arena = append(arena, fileEntry{Entry: e, path: p, manifest: name, level: len(w.stack) - 1})
		fe := &arena[len(arena)-1]
		a.files[p] = fe
		if e.Tag == TagManifest {
			d := path.Dir(p)
			if d == "." {
				d = topDir
			}
			if a.subs == nil {
				a.subs = map[string][]*fileEntry{}
			}
			a.subs[d] = append(a.subs[d], fe)
		}
	}
}

// pop removes the Manifests from index i on, reporting their unmatched
// entries as missing.
func (w *walker) pop(i int) {
	for _, a := range w.stack[i:] {
		var missing []string
		for p, fe := range a.files {
			if !fe.matched {
				missing = append(missing, p)
			}
		}
		sort.Strings(missing)
		for _, p := range missing {
			w.v.problem(p, KindMissing, "listed in %s as %s but not present", a.name, a.files[p].Tag)
		}
	}
	w.stack = w.stack[:i]
}

func (w *walker) isIgnored(p string) bool {
	for _, a := range w.stack {
		if len(a.ignores) == 0 {
			continue
		}
		for q := p; ; {
			if a.ignores[q] {
				return true
			}
			i := strings.LastIndexByte(q, '/')
			if i < 0 {
				break
			}
			q = q[:i]
		}
	}
	return false
}

// ignoredHere reports whether an active Manifest IGNOREs p itself. It is
// enough for a name in the directory being walked: its ancestors were
// walked, so none is ignored, and a Manifest loaded since can only ignore
// paths below its own directory.
func (w *walker) ignoredHere(p string) bool {
	for _, a := range w.stack {
		if a.ignores[p] {
			return true
		}
	}
	return false
}

func (v *verifier) injectedIgnored(p string) bool {
	if len(v.cfg.ignore) == 0 {
		return false
	}
	for q := p; ; {
		if v.cfg.ignore[q] {
			return true
		}
		i := strings.LastIndexByte(q, '/')
		if i < 0 {
			return false
		}
		q = q[:i]
	}
}

// lookup returns every active entry for p.
func (w *walker) lookup(p string) []*fileEntry {
	var out []*fileEntry
	for _, a := range w.stack {
		if fe, ok := a.files[p]; ok {
			out = append(out, fe)
		}
	}
	return out
}

// loadSubManifests loads the sub-Manifests that live in dir (including
// ones listed by a sub-Manifest of the same directory, split Manifests).
func (w *walker) loadSubManifests(dir string, dc *dirCache) {
	for i := 0; i < len(w.stack); i++ {
		for _, fe := range w.stack[i].subs[dir] {
			if fe.matched {
				continue
			}
			fe.matched, fe.loaded = true, true
			data, err := readBounded(w.v.osPath(fe.path), int64(fe.Size), dc.loadStat(fe.path))
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					w.v.problem(fe.path, KindMissing, "listed in %s as MANIFEST but not present", fe.manifest)
				} else {
					w.v.problem(fe.path, KindIO, "%v", err)
				}
				continue
			}
			// Check the file as stored (compressed) before reading it.
			if !w.checkBytes(fe, data) {
				continue
			}
			m, err := parseOwned(fe.path, data) // data is not used again
			if err != nil {
				w.v.problem(fe.path, KindManifest, "%v", err)
				continue
			}
			w.push(fe.path, m)
			dc.noteTimestamp(m)
		}
	}
}

// checkBytes compares in-memory content with every entry for its path.
func (w *walker) checkBytes(fe *fileEntry, data []byte) bool {
	entries := w.lookup(fe.path)
	set := entrySet(entries)
	if set == 0 {
		w.v.problem(fe.path, KindUnsupported, "no supported hash in its entry")
		return false
	}
	m := getHasher(set)
	defer putHasher(m)
	m.write(data)
	return w.v.compare(fe.path, entries, int64(len(data)), m)
}

// walkDir walks directory dir. With a cache, old is dir's record in the
// loaded cache (nil if none) and nd its record in the new one.
func (w *walker) walkDir(dir string, old *cview, nd *cnode) error {
	if err := w.v.ctx.Err(); err != nil {
		return err
	}
	depth := len(w.stack)
	dc := w.v.cache.enter(w, dir, old, nd)
	if dc.skipped() {
		return nil // nothing below changed since it last verified
	}
	w.loadSubManifests(dir, dc)
	// Subtrees walked in parallel must end before this directory's
	// Manifests are checked for missing entries.
	var children sync.WaitGroup
	defer func() {
		children.Wait()
		w.pop(depth)
	}()

	ents, dst, openErr, err := listDir(w.v.osPath(dir))
	if err != nil {
		if openErr {
			w.v.problem(dir, KindIO, "cannot open directory: %v", err)
		} else {
			w.v.problem(dir, KindIO, "cannot list directory: %v", err)
		}
		return nil
	}
	if dst.ino != 0 {
		id := fileID{dev: dst.dev, ino: dst.ino}
		if w.visited[id] {
			w.v.problem(dir, KindNotRegular, "symbolic link loop: directory already on the path")
			return nil
		}
		w.visited[id] = true
		defer delete(w.visited, id)
	}
	dc.setStat(dst)
	slices.SortFunc(ents, func(a, b dirEntry) int { return strings.Compare(a.name, b.name) })
	// A batch as large as the directory needs: most hold a few files.
	batch := make([]hashJob, 0, min(batchSize, len(ents)))
	defer func() {
		if len(batch) > 0 {
			w.v.send(batch)
		}
	}()
	for _, de := range ents {
		name := de.name
		if name[0] == '.' {
			continue
		}
		p := join(dir, name)
		if p == TopManifestName || w.v.cfg.ignore[p] || w.ignoredHere(p) {
			continue
		}
		mode := de.mode
		// Symbolic links are followed; a type the file system did not
		// give in the listing is asked for.
		if mode&fs.ModeSymlink != 0 || mode == fs.ModeIrregular {
			fi, err := os.Stat(w.v.osPath(p))
			if err != nil {
				what := "symbolic link cannot be followed"
				if mode == fs.ModeIrregular {
					what = "cannot stat it"
				}
				w.v.problem(p, KindIO, "%s: %v", what, err)
				w.markMatched(p)
				continue
			}
			mode = fi.Mode().Type()
		}
		entries := w.lookup(p)
		switch {
		case mode.IsDir():
			if len(entries) > 0 {
				w.v.problem(p, KindNotRegular, "listed in %s as %s but is a directory", entries[0].manifest, entries[0].Tag)
				w.markMatched(p)
			}
			sold, snd := dc.subdir(name)
			if err := w.walkSub(p, sold, snd, &children); err != nil {
				return err
			}
		case !mode.IsRegular():
			if len(entries) > 0 {
				w.v.problem(p, KindNotRegular, "listed in %s as %s but is not a regular file (%s)", entries[0].manifest, entries[0].Tag, mode)
				w.markMatched(p)
			} else {
				w.v.problem(p, KindNotRegular, "not a regular file (%s) and not IGNOREd", mode)
			}
		case len(entries) == 0:
			w.v.problem(p, KindStray, "not listed in any Manifest")
		default:
			if !w.checkEntries(p, entries) {
				continue
			}
			loaded := false
			for _, fe := range entries {
				fe.matched = true
				loaded = loaded || fe.loaded
			}
			if loaded {
				dc.loaded(name, p, entries, depth)
				continue // a sub-Manifest, verified when it was loaded
			}
			node, reused := dc.file(name, p, entries)
			if reused {
				continue
			}
			batch = append(batch, hashJob{path: p, entries: entries, node: node})
			if len(batch) == batchSize {
				if err := w.v.send(batch); err != nil {
					return err
				}
				batch = make([]hashJob, 0, min(batchSize, len(ents)))
			}
		}
	}
	return nil
}

// walkSub walks a subdirectory, in a new goroutine if a walk token is free
// (the caller waits on children), or in this one.
func (w *walker) walkSub(p string, old *cview, nd *cnode, children *sync.WaitGroup) error {
	select {
	case w.v.walks <- struct{}{}:
		c := w.fork()
		children.Add(1)
		go func() {
			defer children.Done()
			defer func() { <-w.v.walks }()
			if err := c.walkDir(p, old, nd); err != nil {
				w.v.setErr(err)
			}
		}()
		return nil
	default:
		return w.walkDir(p, old, nd)
	}
}

func (w *walker) markMatched(p string) {
	for _, fe := range w.lookup(p) {
		fe.matched = true
	}
}

// checkEntries reports entries from different Manifests that disagree.
func (w *walker) checkEntries(p string, entries []*fileEntry) bool {
	for _, fe := range entries[1:] {
		if err := compatible(entries[0].Entry, fe.Entry); err != nil {
			w.v.problem(p, KindConflict, "%s and %s disagree: %v", entries[0].manifest, fe.manifest, err)
			w.markMatched(p)
			return false
		}
	}
	return true
}

// compatible checks GLEP 74's rule for two entries of one file: the same
// semantics, the same size, and equal values for the hashes both give.
func compatible(a, b *Entry) error {
	if (a.Tag == TagManifest) != (b.Tag == TagManifest) {
		return fmt.Errorf("%s and %s entries", a.Tag, b.Tag)
	}
	if a.Size != b.Size {
		return fmt.Errorf("sizes %d and %d", a.Size, b.Size)
	}
	for _, c := range a.Checksums {
		if w := b.Checksums.Get(c.Name); w != "" && w != c.Value {
			return fmt.Errorf("different %s values", c.Name)
		}
	}
	return nil
}

func mergeChecksums(into, from *Entry) {
	for _, c := range from.Checksums {
		if into.Checksums.Get(c.Name) == "" {
			into.Checksums = append(into.Checksums, c)
		}
	}
	sort.Slice(into.Checksums, func(i, j int) bool { return into.Checksums[i].Name < into.Checksums[j].Name })
}

// entrySet returns the set of supported hashes the entries give.
func entrySet(entries []*fileEntry) hashSet {
	var s hashSet
	for _, fe := range entries {
		s |= setOfChecksums(fe.Checksums)
	}
	return s
}

func (v *verifier) worker() {
	defer v.wg.Done()
	for b := range v.jobs {
		for _, j := range b {
			v.hash(j)
		}
	}
}

func (v *verifier) send(b []hashJob) error {
	select {
	case v.jobs <- b:
		return nil
	case <-v.ctx.Done():
		return v.ctx.Err()
	}
}

func (v *verifier) hash(j hashJob) {
	set := entrySet(j.entries)
	if set == 0 {
		v.problem(j.path, KindUnsupported, "no supported hash in its entry (have: %s)", checksumNames(j.entries[0].Checksums))
		return
	}
	m := getHasher(set)
	defer putHasher(m)
	var sp *statPair
	var spv statPair
	if j.node != nil {
		sp = &spv
	}
	n, err := hashPath(v.osPath(j.path), m, int64(j.entries[0].Size), sp)
	if err != nil {
		v.problem(j.path, KindIO, "%v", err)
		return
	}
	v.count.Add(1, n)
	if v.compare(j.path, j.entries, n, m) && sp != nil && sp.st.size == n {
		v.cache.trust(j.node, sp)
	}
}

func checksumNames(cs Checksums) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.Name)
	}
	return strings.Join(s, " ")
}

// compare checks a file's size and the hashes m computed against its
// entries.
func (v *verifier) compare(p string, entries []*fileEntry, n int64, m *multiHasher) bool {
	want := entries[0]
	v.files.Add(1)
	v.bytes.Add(n)
	if uint64(n) != want.Size {
		if uint64(n) > want.Size {
			v.problem(p, KindModified, "larger than the %d bytes listed in %s", want.Size, want.manifest)
		} else {
			v.problem(p, KindModified, "%d bytes, %s lists %d", n, want.manifest, want.Size)
		}
		return false
	}
	d := digests{m: m}
	for _, fe := range entries {
		if name := d.mismatch(fe.Checksums); name != "" {
			v.problem(p, KindModified, "%s differs from %s", name, fe.manifest)
			return false
		}
	}
	return true
}

func join(dir, name string) string {
	if dir == topDir {
		return name
	}
	return dir + "/" + name
}

func hasDotComponent(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] == '.' && (i == 0 || p[i-1] == '/') {
			return true
		}
	}
	return false
}
