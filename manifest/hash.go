package manifest

import (
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sort"
	"strings"
	"sync"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/blake2s"
)

// DefaultHashes are the hashes GLEP 74 recommends and Gentoo uses.
var DefaultHashes = []string{"BLAKE2B", "SHA512"}

// An algorithm is a GLEP 74 hash this package computes.
type algorithm struct {
	name   string
	hexLen int
	new    func() hash.Hash
}

// algorithms are the GLEP 74 hashes this package computes, in name order
// (the order of a Manifest line's hashes). MD5 and SHA1 are deprecated by
// the GLEP and RMD160, STREEBOG and WHIRLPOOL are rare; entries carrying
// only those fail verification ("no supported hash").
var algorithms = [...]algorithm{
	{"BLAKE2B", 128, func() hash.Hash { h, _ := blake2b.New512(nil); return h }},
	{"BLAKE2S", 64, func() hash.Hash { h, _ := blake2s.New256(nil); return h }},
	{"SHA256", 64, sha256.New},
	{"SHA3_256", 64, func() hash.Hash { return sha3.New256() }},
	{"SHA3_512", 128, func() hash.Hash { return sha3.New512() }},
	{"SHA512", 128, sha512.New},
}

// algorithmIndex returns the index of the named hash in algorithms, or -1.
func algorithmIndex(name string) int {
	switch name {
	case "BLAKE2B":
		return 0
	case "BLAKE2S":
		return 1
	case "SHA256":
		return 2
	case "SHA3_256":
		return 3
	case "SHA3_512":
		return 4
	case "SHA512":
		return 5
	}
	return -1
}

// A hashSet is a set of algorithms, bit i standing for algorithms[i]: a
// verifier picks its hashers by set without building a name list per file.
type hashSet uint8

// setOf returns the set of the supported hashes among names.
func setOf(names []string) hashSet {
	var s hashSet
	for _, n := range names {
		if i := algorithmIndex(n); i >= 0 {
			s |= 1 << i
		}
	}
	return s
}

// setOfChecksums returns the set of the supported hashes cs lists.
func setOfChecksums(cs Checksums) hashSet {
	var s hashSet
	for _, c := range cs {
		if i := algorithmIndex(c.Name); i >= 0 {
			s |= 1 << i
		}
	}
	return s
}

// Supported reports whether this package can compute the named hash.
func Supported(name string) bool { return algorithmIndex(name) >= 0 }

// ParseHashList parses a space-separated list of hash names, such as
// "BLAKE2B SHA512", rejecting unsupported and repeated names.
func ParseHashList(s string) ([]string, error) {
	names := strings.Fields(s)
	if len(names) == 0 {
		return nil, errors.New("no hash names given")
	}
	seen := map[string]bool{}
	for _, n := range names {
		if !Supported(n) {
			return nil, fmt.Errorf("hash %q is not supported (supported: BLAKE2B BLAKE2S SHA256 SHA512 SHA3_256 SHA3_512)", n)
		}
		if seen[n] {
			return nil, fmt.Errorf("hash %q is listed twice", n)
		}
		seen[n] = true
	}
	sort.Strings(names)
	return names, nil
}

// A Checksum is one hash name and its lowercase hex value.
type Checksum struct {
	Name  string
	Value string
}

// Checksums are an entry's hashes, sorted by name.
type Checksums []Checksum

// Get returns the value of the named hash, or "".
func (cs Checksums) Get(name string) string {
	for _, c := range cs {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// multiHasher computes a set of hashes of one stream in a single pass.
type multiHasher struct {
	set    hashSet
	idx    []int // algorithm index of each of hashes
	hashes []hash.Hash
	// sum receives a digest: a buffer on the stack would escape through
	// the hash.Hash interface, an allocation per file.
	sum [64]byte
}

// hasherPools hold reusable multiHashers per set: allocating fresh hash
// states for each of 150,000 small files shows in profiles.
var hasherPools [1 << len(algorithms)]sync.Pool

func getHasher(set hashSet) *multiHasher {
	if m, ok := hasherPools[set].Get().(*multiHasher); ok {
		for _, h := range m.hashes {
			h.Reset()
		}
		return m
	}
	m := &multiHasher{set: set}
	for i := range algorithms {
		if set&(1<<i) != 0 {
			m.idx = append(m.idx, i)
			m.hashes = append(m.hashes, algorithms[i].new())
		}
	}
	return m
}

func putHasher(m *multiHasher) { hasherPools[m.set].Put(m) }

func (m *multiHasher) write(b []byte) {
	for _, h := range m.hashes {
		h.Write(b)
	}
}

func (m *multiHasher) sums() Checksums {
	cs := make(Checksums, len(m.hashes))
	for i, h := range m.hashes {
		cs[i] = Checksum{Name: algorithms[m.idx[i]].name, Value: hex.EncodeToString(h.Sum(m.sum[:0]))}
	}
	return cs
}

// A digests holds the hex digests of a multiHasher, computed once each,
// to compare with Manifest entries without allocating.
type digests struct {
	m    *multiHasher
	done [len(algorithms)]bool
	hex  [len(algorithms)][128]byte
}

// value returns the hex digest of algorithm i, which must be in the set.
func (d *digests) value(i int) []byte {
	if !d.done[i] {
		for k, j := range d.m.idx {
			if j == i {
				hex.Encode(d.hex[i][:], d.m.hashes[k].Sum(d.m.sum[:0]))
				break
			}
		}
		d.done[i] = true
	}
	return d.hex[i][:algorithms[i].hexLen]
}

// mismatch returns the name of the first hash cs lists whose value is not
// the computed one, or "" if every supported one matches.
func (d *digests) mismatch(cs Checksums) string {
	for _, c := range cs {
		i := algorithmIndex(c.Name)
		if i < 0 || d.m.set&(1<<i) == 0 {
			continue
		}
		if string(d.value(i)) != c.Value {
			return c.Name
		}
	}
	return ""
}

// bufPool holds read buffers so that hashing streams files in fixed memory.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

// HashFile computes the named hashes of a file, streaming it.
func HashFile(path string, names []string) (int64, Checksums, error) {
	m := getHasher(setOf(names))
	defer putHasher(m)
	n, err := hashPath(path, m, -1, nil)
	if err != nil {
		return n, nil, err
	}
	return n, m.sums(), nil
}

// HashBytes computes the named hashes of b.
func HashBytes(b []byte, names []string) Checksums {
	m := getHasher(setOf(names))
	defer putHasher(m)
	m.write(b)
	return m.sums()
}
