package trust_test

import (
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"treelog/checkpoint"
	"treelog/internal/testkit/roots"
	"treelog/trust"
)

// chainFixture is a log of logSize entries holding versions 1..n of a
// 3-of-5 root, one every logSize/n entries; each version after the first
// rotates two of the five root keys and is signed by three old and three
// new keys (five signatures).
type chainFixture struct {
	pin      *trust.Signed
	listing  []byte // the versions listing a log serves, with proofs
	entries  [][]byte
	indexes  []uint64
	cp       checkpoint.Checkpoint
	logBytes [][]byte // every entry of the log, for the scanning anchor
}

func newChainFixture(b *testing.B, n, logSize int) *chainFixture {
	b.Helper()
	f := &chainFixture{}
	holders := roots.NewKeys(b, "root", 5)
	v := roots.Sign(b, roots.First("example.org/trust", 3, holders, "overlays.example/*"), holders[0], holders[1], holders[2])
	for i := range n {
		if i > 0 {
			nu := append(append([]roots.Key(nil), holders[2:]...), roots.NewKeys(b, fmt.Sprintf("root-r%d", i), 2)...)
			r := roots.After(b, v, func(r *trust.Root) { r.Keys = roots.Keys(nu...) })
			v = roots.Sign(b, r, holders[0], holders[1], holders[2], nu[3], nu[4])
			holders = nu
		}
		f.entries = append(f.entries, v)
	}
	var err error
	if f.pin, err = trust.Open(f.entries[0]); err != nil {
		b.Fatal(err)
	}
	tree := testonly.New(rfc6962.DefaultHasher)
	every := logSize / n
	for i := range logSize {
		e := []byte(fmt.Sprintf("treelog-metamanifest/v1\norigin other.example/%d\n", i))
		if i%every == 0 && i/every < n {
			e = f.entries[i/every]
			f.indexes = append(f.indexes, uint64(i))
		}
		tree.AppendData(e)
		f.logBytes = append(f.logBytes, e)
	}
	f.cp = checkpoint.Checkpoint{Origin: "log.example", Size: uint64(logSize), Hash: checkpoint.Hash(tree.Hash())}
	lv := &trust.Versions{Root: "example.org/trust", Checkpoint: []byte("a signed checkpoint\n")}
	for i, e := range f.entries {
		p, err := tree.InclusionProof(f.indexes[i], uint64(logSize))
		if err != nil {
			b.Fatal(err)
		}
		var hs []checkpoint.Hash
		for _, h := range p {
			hs = append(hs, checkpoint.Hash(h))
		}
		lv.Entries = append(lv.Entries, trust.LoggedVersion{Version: uint64(i + 1), Index: f.indexes[i], Proof: hs, Entry: e})
	}
	f.listing = lv.Marshal()
	return f
}

// follow is what a client does with a listing: parse it, check every
// inclusion proof against the (already verified) checkpoint, and every
// step of the chain, signatures included.
func (f *chainFixture) follow(b *testing.B) *trust.Chain {
	v, err := trust.ParseVersions(f.listing)
	if err != nil {
		b.Fatal(err)
	}
	if err := v.Verify(f.cp); err != nil {
		b.Fatal(err)
	}
	c := trust.NewChain(f.pin)
	if err := c.Follow(v); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkFollow: a client pinned to version 1 following the chain to
// version N (N-1 rotations) in a log of 100,000 entries. Anchors in the
// same run: one raw Ed25519 verification; restoring the same chain from
// the client's state (every later run); and reading every entry of the
// log (leaf hash and first line), what a client without the listing would
// have to do to find the versions.
func BenchmarkFollow(b *testing.B) {
	const logSize = 100_000
	for _, n := range []int{1, 10, 1000} {
		f := newChainFixture(b, n, logSize)
		b.Run(fmt.Sprintf("versions=%d", n), func(b *testing.B) {
			for b.Loop() {
				if c := f.follow(b); c.Latest().Version != uint64(n) {
					b.Fatalf("followed to version %d", c.Latest().Version)
				}
			}
			b.ReportMetric(float64(len(f.listing)), "listing-bytes")
		})
		if n != 1000 {
			continue
		}
		b.Run(fmt.Sprintf("restore/versions=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := trust.Restore(f.pin, f.entries, f.indexes); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("anchor-scan-log/entries=%d", logSize), func(b *testing.B) {
			found := 0
			for b.Loop() {
				found = 0
				for _, e := range f.logBytes {
					checkpoint.LeafHash(e)
					if trust.KindOf(e) == trust.KindTrustRoot {
						found++
					}
				}
			}
			if found != n {
				b.Fatalf("found %d versions", found)
			}
		})
	}
	b.Run("anchor-ed25519-verify", func(b *testing.B) {
		pub, priv, _ := ed25519.GenerateKey(nil)
		msg := []byte("a trust root's text")
		sig := ed25519.Sign(priv, msg)
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("bad")
			}
		}
	})
}
