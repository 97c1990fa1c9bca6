package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"treelog/internal/atomicfile"
	"treelog/internal/untrusted"
)

// The verification cache lets Verify skip files that did not change since
// they last matched the same Manifest entry. One file per tree, in the
// directory given to WithCache, named after the tree's absolute path:
//
//	treelog-verify-cache/v1
//	tree "/var/db/repos/gentoo"
//	manifest <SHA-256 of the top-level Manifest last verified>
//	ignore <SHA-256 of the injected ignore paths>
//	<binary body>
//	checksum <SHA-256 of all the bytes above>
//
// The body is the tree as the last successful verification walked it,
// directories before their contents (see encodeNode). A file's record holds
// its device, inode, size, modification and change times, and a digest of
// the entries it matched; a directory's, its own stat and how far its
// subtree can be trusted as a whole. A cache that is truncated, corrupt,
// of another version, of another tree or of other ignore paths is not used.
const cacheHeader = "treelog-verify-cache/v1"

// Limits and tunables of the cache.
const (
	// maxCacheSize bounds a cache file read: a tree of 10 million files
	// needs about 1 GB.
	maxCacheSize = 2 << 30
	// racyWindow: a file or directory whose change time is this close to
	// the start of the verification (or later) is not trusted next time:
	// a second change within the same clock tick, or within a file
	// system's timestamp granularity (a second on some), would leave its
	// stat unchanged.
	racyWindow = 2 * time.Second
)

// Node flags in the cache body.
const (
	flagDir           = 1 << iota // a directory (else a regular file)
	flagTrusted                   // its stat was not racy, and (a file) its content matched its entries
	flagSelfContained             // a directory with its own sub-Manifests, and no other entries of the Manifests above it inside
	flagAncestorMF                // a file listed as MANIFEST by a Manifest above its directory
	flagHasTS                     // a directory whose subtree's sub-Manifests had a TIMESTAMP (maxTS follows)
)

// WithCache makes Verify incremental: in dir (created if needed) it keeps a
// cache for each tree it verified, and a file whose device, inode, size,
// modification and change times are those it had when it last matched the
// same Manifest entry is not read again. Neither is a sub-Manifest's
// directory whose Manifest, files and directories all kept their stat.
// The cache is written, atomically, only after a verification with no
// problem. See docs/threat-model.md for what it assumes.
func WithCache(dir string) Option { return func(c *config) { c.cacheDir = dir } }

// WithFull makes a Verify WithCache hash every file again, trusting nothing
// from the cache; the cache is then written afresh.
func WithFull() Option { return func(c *config) { c.full = true } }

// A cacheFile is a loaded cache: its body, checked, not yet decoded.
type cacheFile struct {
	body string
	raw  []byte // the whole file
}

// cacheIdentity is what binds a cache to one tree and one configuration.
type cacheIdentity struct {
	tree    string // absolute path, symbolic links resolved
	top     [32]byte
	ignores [32]byte
}

// CachePath returns the file in which a cache directory keeps the cache of
// the tree at treeDir (named after its absolute path, symbolic links
// resolved), and that path.
func CachePath(cacheDir, treeDir string) (file, tree string, err error) {
	abs, err := filepath.Abs(treeDir)
	if err != nil {
		return "", "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(cacheDir, "tree-"+hex.EncodeToString(sum[:16])+".cache"), abs, nil
}

func ignoreDigest(ignore map[string]bool) [32]byte {
	keys := make([]string, 0, len(ignore))
	for k := range ignore {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return sha256.Sum256([]byte(strings.Join(keys, "\n")))
}

func (id *cacheIdentity) header() string {
	return fmt.Sprintf("%s\ntree %s\nmanifest %x\nignore %x\n", cacheHeader, strconv.Quote(id.tree), id.top, id.ignores)
}

// errCache is wrapped by every reason a cache file is not used.
var errCache = errors.New("not used")

func cacheErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errCache, fmt.Sprintf(format, args...))
}

// loadCache reads and checks a cache file. It returns a nil cacheFile and
// no error when there is none; an error (wrapping errCache) says why one
// was not used. sameTop reports whether it was written for the same
// top-level Manifest.
func loadCache(file string, id *cacheIdentity) (c *cacheFile, sameTop bool, err error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, cacheErr("%v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, cacheErr("%v", err)
	}
	if fi.Size() > maxCacheSize {
		return nil, false, cacheErr("%s is over %d bytes", file, maxCacheSize)
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, false, cacheErr("reading %s: %v", file, err)
	}
	return parseCache(data, id)
}

// parseCache checks a cache file's bytes against the tree's identity.
func parseCache(data []byte, id *cacheIdentity) (*cacheFile, bool, error) {
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if string(first) != cacheHeader {
		return nil, false, cacheErr("written by another version (first line %q, want %q)", untrusted.Short(string(first), 60), cacheHeader)
	}
	// The trailer: "checksum " + 64 hex digits + "\n".
	const trailer = len("checksum \n") + 2*sha256.Size
	if len(data) < trailer || !bytes.HasPrefix(data[len(data)-trailer:], []byte("checksum ")) || data[len(data)-1] != '\n' {
		return nil, false, cacheErr("truncated: no checksum line at the end")
	}
	content := data[:len(data)-trailer]
	want, err := hex.DecodeString(string(data[len(data)-trailer+len("checksum ") : len(data)-1]))
	got := sha256.Sum256(content)
	if err != nil || !bytes.Equal(want, got[:]) {
		return nil, false, cacheErr("corrupt: its checksum does not match its content")
	}
	// The body is decoded in place: names are slices of it, and data is
	// not written to again.
	rest := unsafe.String(unsafe.SliceData(content), len(content))[len(first)+1:]
	var fields [3]string
	for i, key := range []string{"tree ", "manifest ", "ignore "} {
		line, after, ok := strings.Cut(rest, "\n")
		if !ok || !strings.HasPrefix(line, key) {
			return nil, false, cacheErr("line %d: want %q", i+2, strings.TrimSpace(key)+" ...")
		}
		fields[i], rest = line[len(key):], after
	}
	tree, err := strconv.Unquote(fields[0])
	if err != nil {
		return nil, false, cacheErr("line 2: tree path is not quoted: %v", err)
	}
	if tree != id.tree {
		return nil, false, cacheErr("it is the cache of another tree, %s", tree)
	}
	if fields[2] != hex.EncodeToString(id.ignores[:]) {
		return nil, false, cacheErr("it was written with other ignore paths")
	}
	return &cacheFile{body: rest, raw: data}, fields[1] == hex.EncodeToString(id.top[:]), nil
}

// A cview is one decoded node of a loaded cache.
type cview struct {
	flags    byte
	name     string
	st       fileStat
	digest   string // files: 32 bytes
	maxTS    int64  // directories with flagHasTS
	start    int    // offset of the node
	children int    // directories: offset of the first child
	end      int    // offset after the node and its children
}

func (v *cview) is(flag byte) bool { return v.flags&flag != 0 }

var errCacheBody = cacheErr("malformed body")

// decoder reads nodes from a cache body, bounds-checked: a body that
// passed the checksum but does not decode (a bug, or a hand-made file)
// makes the walk hash what it covers.
type decoder struct{ s string }

func (d *decoder) uvarint(off int) (uint64, int, error) {
	if off < 0 || off > len(d.s) {
		return 0, 0, errCacheBody
	}
	var x uint64
	for i, shift := off, uint(0); i < len(d.s) && shift < 64; i, shift = i+1, shift+7 {
		b := d.s[i]
		x |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return x, i + 1, nil
		}
	}
	return 0, 0, errCacheBody
}

func (d *decoder) varint(off int) (int64, int, error) {
	u, off, err := d.uvarint(off)
	return int64(u>>1) ^ -int64(u&1), off, err
}

// node decodes the node at off.
func (d *decoder) node(off int) (cview, error) {
	var v cview
	if off < 0 || off >= len(d.s) {
		return v, errCacheBody
	}
	v.start, v.flags = off, d.s[off]
	off++
	n, off, err := d.uvarint(off)
	if err != nil || n > uint64(len(d.s)-off) {
		return v, errCacheBody
	}
	v.name = d.s[off : off+int(n)]
	off += int(n)
	var u [2]uint64
	for i := range u {
		if u[i], off, err = d.uvarint(off); err != nil {
			return v, err
		}
	}
	var t [3]int64
	for i := range t {
		if t[i], off, err = d.varint(off); err != nil {
			return v, err
		}
	}
	v.st = fileStat{dev: u[0], ino: u[1], size: t[0], mtime: t[1], ctime: t[2]}
	if !v.is(flagDir) {
		if len(d.s)-off < sha256.Size {
			return v, errCacheBody
		}
		v.digest = d.s[off : off+sha256.Size]
		v.end = off + sha256.Size
		return v, nil
	}
	if v.is(flagHasTS) {
		if v.maxTS, off, err = d.varint(off); err != nil {
			return v, err
		}
	}
	n, off, err = d.uvarint(off)
	if err != nil || n > uint64(len(d.s)-off) {
		return v, errCacheBody
	}
	v.children, v.end = off, off+int(n)
	return v, nil
}

// A kidIter iterates over a directory node's children, which are in byte
// order of their names, decoding one at a time.
type kidIter struct {
	d        *decoder
	off, end int
	cur      cview // the current child, if ok
	ok       bool
	err      error // the body does not decode
}

func (d *decoder) kids(dir *cview) kidIter {
	k := kidIter{d: d, off: dir.children, end: dir.end}
	k.next()
	return k
}

func (k *kidIter) next() {
	if k.off >= k.end || k.err != nil {
		k.ok = false
		return
	}
	c, err := k.d.node(k.off)
	if err == nil && (c.end > k.end || c.name == "" || strings.ContainsAny(c.name, "/\x00")) {
		err = errCacheBody
	}
	if err != nil {
		k.err, k.ok = err, false
		return
	}
	k.cur, k.ok, k.off = c, true, c.end
}

// A cnode is a node of the cache being built by a verification.
type cnode struct {
	flags  byte
	name   string
	st     fileStat
	digest [sha256.Size]byte
	maxTS  int64 // directories: newest TIMESTAMP of the sub-Manifests loaded in it (flagHasTS)
	kids   []*cnode
	raw    string // a directory subtree reused as it was in the loaded cache
	// kidsLen is the length of a directory's encoded children (measure).
	kidsLen int
}

// measure computes, bottom up, each directory's newest TIMESTAMP and the
// length of its encoded children, and returns the node's encoded length,
// so that the cache is written into one buffer of the right size.
func (n *cnode) measure() int {
	if n.raw != "" {
		d := decoder{n.raw}
		v, _ := d.node(0) // decoded when it was reused
		n.maxTS, n.flags = v.maxTS, v.flags
		return len(n.raw)
	}
	var scratch [64]byte
	if n.flags&flagDir == 0 {
		return len(n.head(scratch[:0])) + sha256.Size
	}
	n.kidsLen = 0
	for _, k := range n.kids {
		n.kidsLen += k.measure()
		if k.flags&flagHasTS != 0 && (n.flags&flagHasTS == 0 || k.maxTS > n.maxTS) {
			n.maxTS = k.maxTS
			n.flags |= flagHasTS
		}
	}
	return len(n.dirHead(scratch[:0])) + n.kidsLen
}

// encode appends the node, measured, to b.
func (n *cnode) encode(b []byte) []byte {
	switch {
	case n.raw != "":
		return append(b, n.raw...)
	case n.flags&flagDir == 0:
		return append(n.head(b), n.digest[:]...)
	}
	b = n.dirHead(b)
	for _, k := range n.kids {
		b = k.encode(b)
	}
	return b
}

func (n *cnode) dirHead(b []byte) []byte {
	b = n.head(b)
	if n.flags&flagHasTS != 0 {
		b = binary.AppendVarint(b, n.maxTS)
	}
	return binary.AppendUvarint(b, uint64(n.kidsLen))
}

func (n *cnode) head(b []byte) []byte {
	b = append(b, n.flags)
	b = binary.AppendUvarint(b, uint64(len(n.name)))
	b = append(b, n.name...)
	b = binary.AppendUvarint(b, n.st.dev)
	b = binary.AppendUvarint(b, n.st.ino)
	b = binary.AppendVarint(b, n.st.size)
	b = binary.AppendVarint(b, n.st.mtime)
	return binary.AppendVarint(b, n.st.ctime)
}

// saveCache writes the cache of a verified tree atomically, unless it is
// the one loaded (old), byte for byte: nothing changed, nothing to sync.
func saveCache(file string, id *cacheIdentity, root *cnode, old []byte) error {
	h := id.header()
	b := make([]byte, 0, len(h)+root.measure()+len("checksum \n")+2*sha256.Size)
	b = root.encode(append(b, h...))
	sum := sha256.Sum256(b)
	b = fmt.Appendf(b, "checksum %x\n", sum)
	if bytes.Equal(b, old) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(file, b, 0o600)
}

// entryDigest is what a cached file is bound to: the kind and size of the
// entries it matched and every hash they give that was checked.
func entryDigest(entries []*fileEntry) [sha256.Size]byte {
	var buf [1024]byte // 17 bytes, and at most 6 × 138 for the hashes
	b := buf[:0]
	if entries[0].Tag == TagManifest {
		b = append(b, "MANIFEST\x00"...)
	} else {
		b = append(b, "DATA\x00"...)
	}
	b = binary.BigEndian.AppendUint64(b, entries[0].Size)
	for i := range algorithms {
		for _, fe := range entries {
			if v := fe.Checksums.Get(algorithms[i].name); v != "" && len(v) == algorithms[i].hexLen {
				b = append(b, algorithms[i].name...)
				b = append(b, 0)
				b = append(b, v...)
				b = append(b, 0)
				break // entries of one file agree (checkEntries)
			}
		}
	}
	return sha256.Sum256(b)
}
