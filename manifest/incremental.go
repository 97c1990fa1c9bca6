package manifest

import (
	"crypto/sha256"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// verifyCache is a verification's use of the cache (WithCache): the cache
// loaded, if any, and the one being built, written if the tree verifies.
type verifyCache struct {
	racyBefore int64 // a change time at or after this is not trusted
	file       string
	id         cacheIdentity
	dec        decoder
	old        []byte // the cache file loaded, if any
	root       *cnode
	note       string
	reused     atomic.Int64
	reusedB    atomic.Int64
}

// load loads the cache of this tree and returns its root, or nil (saying
// why in the report) if there is none to use.
func (c *verifyCache) load(v *verifier, top []byte) *cview {
	file, tree, err := CachePath(v.cfg.cacheDir, v.root)
	if err != nil {
		c.note = "not used: " + err.Error()
		return nil
	}
	c.file = file
	c.id = cacheIdentity{tree: tree, top: sha256.Sum256(top), ignores: ignoreDigest(v.cfg.ignore)}
	if v.cfg.full {
		c.note = "not used: full verification; every file hashed"
		return nil
	}
	cf, sameTop, err := loadCache(file, &c.id)
	switch {
	case err != nil:
		c.note = err.Error() + "; every file hashed"
		return nil
	case cf == nil:
		c.note = "none yet for this tree; every file hashed"
		return nil
	}
	c.dec, c.old = decoder{cf.body}, cf.raw
	root, err := c.dec.node(0)
	if err != nil || !root.is(flagDir) || root.name != "" || root.end != len(cf.body) {
		c.note = errCacheBody.Error() + "; every file hashed"
		return nil
	}
	if sameTop {
		c.note = "used (written for this same snapshot)"
	} else {
		c.note = "used (written for an earlier snapshot)"
	}
	return &root
}

// rootNode returns the root of the cache being built (nil without one).
func (c *verifyCache) rootNode() *cnode {
	if c == nil {
		return nil
	}
	c.root = &cnode{flags: flagDir}
	return c.root
}

// finish reports on the cache and, if the tree verified, saves the new one.
func (c *verifyCache) finish(v *verifier) {
	r := &v.report
	r.Reused, r.ReusedBytes = c.reused.Load(), c.reusedB.Load()
	r.Cache = c.note
	if !r.OK() || c.file == "" || c.root == nil {
		return
	}
	if err := saveCache(c.file, &c.id, c.root, c.old); err != nil {
		r.Cache += "; not saved: " + err.Error()
	}
}

// trust records a hashed file's stat in the new cache, unless it changed
// while it was read or so recently that a change within the same clock
// tick would not show.
func (c *verifyCache) trust(n *cnode, sp *statPair) {
	if sp.stable && sp.st.ctime < c.racyBefore {
		n.st = sp.st
		n.flags |= flagTrusted
	}
}

// reuse counts a file verified by its stat alone.
func (v *verifier) reuse(files, bytes int64) {
	v.files.Add(files)
	v.bytes.Add(bytes)
	v.cache.reused.Add(files)
	v.cache.reusedB.Add(bytes)
	v.count.Add(files, bytes)
}

// A dirCache is the cache's part in the walk of one directory. A nil
// *dirCache (no cache) does nothing.
type dirCache struct {
	v       *verifier
	nd      *cnode  // this directory in the new cache
	oldKids kidIter // its children in the loaded cache, from the next name the walk asks for
	skip    bool
	loads   []*loadedStat
}

// loadedStat is a sub-Manifest's stat, taken when it was loaded.
type loadedStat struct {
	path string
	sp   statPair
}

// enter starts the walk of dir: it tries to verify the whole subtree from
// the cache, and otherwise readies the lookups of its children.
func (c *verifyCache) enter(w *walker, dir string, old *cview, nd *cnode) *dirCache {
	if c == nil {
		return nil
	}
	dc := &dirCache{v: w.v, nd: nd}
	contained := w.containedDir(dir)
	if contained {
		nd.flags |= flagSelfContained
	}
	if old == nil || !old.is(flagDir) {
		return dc
	}
	if contained && old.is(flagSelfContained) && w.trySkip(dir, old, nd) {
		dc.skip = true
		return dc
	}
	dc.oldKids = c.dec.kids(old)
	return dc
}

func (dc *dirCache) skipped() bool { return dc != nil && dc.skip }

// loadStat returns where to record the stat of a sub-Manifest being loaded.
func (dc *dirCache) loadStat(p string) *statPair {
	if dc == nil {
		return nil
	}
	l := &loadedStat{path: p}
	dc.loads = append(dc.loads, l)
	return &l.sp
}

// noteTimestamp keeps the newest TIMESTAMP of the sub-Manifests loaded
// here, so that a later run can check it without loading them.
func (dc *dirCache) noteTimestamp(m *Manifest) {
	if dc == nil {
		return
	}
	if ts, ok := m.Timestamp(); ok && (dc.nd.flags&flagHasTS == 0 || ts.Unix() > dc.nd.maxTS) {
		dc.nd.maxTS = ts.Unix()
		dc.nd.flags |= flagHasTS
	}
}

// setStat records the directory's own stat, taken before it was listed.
func (dc *dirCache) setStat(st fileStat) {
	if dc == nil {
		return
	}
	dc.nd.st = st
	if st.ctime < dc.v.cache.racyBefore {
		dc.nd.flags |= flagTrusted
	}
}

// old returns the loaded cache's record of the child name, if any. The
// walk asks for names in increasing order.
func (dc *dirCache) old(name string) (cview, bool) {
	k := &dc.oldKids
	for k.ok && k.cur.name < name {
		k.next()
	}
	return k.cur, k.ok && k.cur.name == name
}

func (dc *dirCache) add(name string, flags byte) *cnode {
	n := &cnode{name: name, flags: flags}
	dc.nd.kids = append(dc.nd.kids, n)
	return n
}

// subdir returns the old and new records of a subdirectory.
func (dc *dirCache) subdir(name string) (*cview, *cnode) {
	if dc == nil {
		return nil, nil
	}
	if old, ok := dc.old(name); ok && old.is(flagDir) {
		return &old, dc.add(name, flagDir)
	}
	return nil, dc.add(name, flagDir)
}

// file returns a regular file's record in the new cache, and whether the
// loaded cache showed it unchanged since it last matched the same entries:
// then it was not read, and counts as verified.
func (dc *dirCache) file(name, p string, entries []*fileEntry) (*cnode, bool) {
	if dc == nil {
		return nil, false
	}
	n := dc.add(name, 0)
	n.digest = entryDigest(entries)
	old, ok := dc.old(name)
	if !ok || old.is(flagDir) || !old.is(flagTrusted) || old.digest != string(n.digest[:]) {
		return n, false
	}
	st, err := statPath(dc.v.osPath(p))
	if err != nil || st != old.st {
		return n, false
	}
	n.st = st
	n.flags |= flagTrusted
	dc.v.reuse(1, st.size)
	return n, true
}

// loaded records a sub-Manifest, verified when it was loaded.
func (dc *dirCache) loaded(name, p string, entries []*fileEntry, depth int) {
	if dc == nil {
		return
	}
	var flags byte
	for _, fe := range entries {
		if fe.Tag == TagManifest && fe.level < depth {
			flags |= flagAncestorMF
		}
	}
	n := dc.add(name, flags)
	n.digest = entryDigest(entries)
	for _, l := range dc.loads {
		if l.path == p {
			dc.v.cache.trust(n, &l.sp)
		}
	}
}

// countUnder counts, for each directory below a Manifest's own dir, the
// file and IGNORE entries of the Manifest below it.
func countUnder(dir string, m *Manifest) map[string]int {
	under := map[string]int{}
	for i := range m.Entries {
		e := &m.Entries[i]
		var p string
		switch {
		case e.Tag == TagIgnore:
			p = join(dir, e.Path)
		case e.IsFile():
			p = join(dir, e.FilePath())
		default:
			continue
		}
		for q := path.Dir(p); q != "." && len(q) > len(dir); q = path.Dir(q) {
			under[q]++
		}
	}
	return under
}

// containedDir reports whether dir's subtree is verified by dir's own
// sub-Manifests alone: the Manifests above it list nothing inside it but
// those sub-Manifests (at least one).
func (w *walker) containedDir(dir string) bool {
	if dir == topDir {
		return false
	}
	subs, under := 0, 0
	for _, a := range w.stack {
		subs += len(a.subs[dir])
		under += a.under[dir]
	}
	return subs > 0 && subs == under
}

// trySkip verifies dir's whole subtree from the cache, without reading
// anything, if that is safe: the Manifests above list nothing inside dir but
// its sub-Manifests (containedDir, now and when the cache was written); each
// sub-Manifest's entry is the one it matched then; none of them had a
// TIMESTAMP newer than the top-level one; and every directory and file of
// the subtree, sub-Manifests included, has the stat it had then. Then the
// sub-Manifests are the same bytes, so they list the same files, which are
// the same, in directories that hold the same names: the subtree verifies
// as it did.
func (w *walker) trySkip(dir string, old *cview, nd *cnode) bool {
	v := w.v
	c := v.cache
	if v.hasTS && old.is(flagHasTS) && old.maxTS > v.topTS.Unix() {
		return false
	}
	var subs []*fileEntry
	paths := map[string]bool{}
	for _, a := range w.stack {
		for _, fe := range a.subs[dir] {
			subs = append(subs, fe)
			paths[fe.path] = true
		}
	}
	var cached []cview // the sub-Manifests as cached
	for k := c.dec.kids(old); k.ok || k.err != nil; k.next() {
		if k.err != nil {
			return false
		}
		if k.cur.is(flagAncestorMF) {
			cached = append(cached, k.cur)
		}
	}
	if len(cached) != len(paths) {
		return false
	}
	for p := range paths {
		k := findKid(cached, path.Base(p))
		if k == nil || k.is(flagDir) || !k.is(flagTrusted) {
			return false
		}
		if d := entryDigest(w.lookup(p)); k.digest != string(d[:]) {
			return false
		}
	}
	files, bytes, ok := c.statSubtree(v.osPath(dir), old)
	if !ok {
		return false
	}
	for _, fe := range subs {
		fe.matched, fe.loaded = true, true
	}
	nd.raw = c.dec.s[old.start:old.end]
	v.reuse(files, bytes)
	return true
}

func findKid(kids []cview, name string) *cview {
	for i := range kids {
		if kids[i].name == name {
			return &kids[i]
		}
	}
	return nil
}

// statSubtree checks that every node of a cached subtree, rooted at the
// directory base, is trusted and has its cached stat. It returns the
// number of files and their bytes.
func (c *verifyCache) statSubtree(base string, old *cview) (files, bytes int64, ok bool) {
	type frame struct{ end, plen int }
	var stack []frame
	buf := append(make([]byte, 0, len(base)+128), base...)
	for off := old.start; off < old.end; {
		for len(stack) > 0 && off >= stack[len(stack)-1].end {
			stack = stack[:len(stack)-1]
		}
		n, err := c.dec.node(off)
		if err != nil || !n.is(flagTrusted) {
			return 0, 0, false
		}
		if off != old.start {
			top := stack[len(stack)-1]
			if n.end > top.end || n.name == "" || strings.ContainsAny(n.name, "/\x00") {
				return 0, 0, false
			}
			buf = append(buf[:top.plen], filepath.Separator)
			buf = append(buf, n.name...)
		}
		st, err := statPath(string(buf))
		if err != nil || st != n.st {
			return 0, 0, false
		}
		if n.is(flagDir) {
			stack = append(stack, frame{end: n.end, plen: len(buf)})
			off = n.children
		} else {
			files++
			bytes += n.st.size
			off = n.end
		}
	}
	return files, bytes, true
}
