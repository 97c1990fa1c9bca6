package manifest

import (
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"strings"
	"sync"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/blake2s"
)

// DefaultHashes are the hashes GLEP 74 recommends and Gentoo uses.
var DefaultHashes = []string{"BLAKE2B", "SHA512"}

// algorithms are the GLEP 74 hashes this package computes. MD5 and SHA1 are
// deprecated by the GLEP and RMD160, STREEBOG and WHIRLPOOL are rare; entries
// carrying only those fail verification ("no supported hash").
var algorithms = map[string]func() hash.Hash{
	"BLAKE2B":  func() hash.Hash { h, _ := blake2b.New512(nil); return h },
	"BLAKE2S":  func() hash.Hash { h, _ := blake2s.New256(nil); return h },
	"SHA256":   sha256.New,
	"SHA512":   sha512.New,
	"SHA3_256": func() hash.Hash { return sha3.New256() },
	"SHA3_512": func() hash.Hash { return sha3.New512() },
}

// hexLen is the length of the hex digest of each supported hash.
var hexLen = map[string]int{"BLAKE2B": 128, "BLAKE2S": 64, "SHA256": 64, "SHA512": 128, "SHA3_256": 64, "SHA3_512": 128}

// Supported reports whether this package can compute the named hash.
func Supported(name string) bool {
	_, ok := algorithms[name]
	return ok
}

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

// multiHasher computes several hashes of one stream in a single pass.
type multiHasher struct {
	names  []string
	hashes []hash.Hash
	w      io.Writer
	key    string
}

// hasherPools holds reusable multiHashers per set of names: allocating
// fresh hash states for each of 150,000 small files shows in profiles.
var hasherPools sync.Map // string -> *sync.Pool

func getHasher(names []string) *multiHasher {
	key := strings.Join(names, " ")
	p, ok := hasherPools.Load(key)
	if !ok {
		p, _ = hasherPools.LoadOrStore(key, &sync.Pool{New: func() any {
			m := newMultiHasher(names)
			m.key = key
			return m
		}})
	}
	m := p.(*sync.Pool).Get().(*multiHasher)
	m.reset()
	return m
}

func putHasher(m *multiHasher) {
	if p, ok := hasherPools.Load(m.key); ok {
		p.(*sync.Pool).Put(m)
	}
}

func newMultiHasher(names []string) *multiHasher {
	m := &multiHasher{names: names}
	ws := make([]io.Writer, len(names))
	for i, n := range names {
		m.hashes = append(m.hashes, algorithms[n]())
		ws[i] = m.hashes[i]
	}
	m.w = io.MultiWriter(ws...)
	return m
}

func (m *multiHasher) reset() {
	for _, h := range m.hashes {
		h.Reset()
	}
}

func (m *multiHasher) sums() Checksums {
	cs := make(Checksums, len(m.names))
	var buf [64]byte
	for i, h := range m.hashes {
		cs[i] = Checksum{Name: m.names[i], Value: hex.EncodeToString(h.Sum(buf[:0]))}
	}
	return cs
}

// bufPool holds read buffers so that hashing streams files in fixed memory.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

// HashFile computes the named hashes of a file, streaming it.
func HashFile(path string, names []string) (int64, Checksums, error) {
	return hashPath(path, names, -1)
}

// HashBytes computes the named hashes of b.
func HashBytes(b []byte, names []string) Checksums {
	m := getHasher(names)
	defer putHasher(m)
	m.w.Write(b)
	return m.sums()
}
