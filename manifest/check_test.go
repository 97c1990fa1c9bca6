package manifest

import (
	"strings"
	"testing"
)

func TestEntryCheck(t *testing.T) {
	data := []byte("EAPI=8\n")
	e := Entry{Tag: TagEbuild, Path: "foo-1.ebuild", Size: uint64(len(data)), Checksums: HashBytes(data, DefaultHashes)}
	if err := e.Check(data); err != nil {
		t.Fatalf("the file itself: %v", err)
	}
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{[]byte("EAPI=7\n"), "BLAKE2B differs"},
		{[]byte("EAPI=8\n\n"), "8 bytes, the Manifest lists 7"},
	} {
		if err := e.Check(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%q) = %v, want %q", tc.data, err, tc.want)
		}
	}
	odd := Entry{Tag: TagData, Path: "x", Size: 7, Checksums: Checksums{{Name: "WHIRLPOOL", Value: "00"}}}
	if err := odd.Check(data); err == nil || !strings.Contains(err.Error(), "no supported hash") {
		t.Errorf("an entry without a supported hash: %v", err)
	}
}

func TestOpenSub(t *testing.T) {
	m := &Manifest{Entries: []Entry{{Tag: TagData, Path: "a", Size: 1, Checksums: HashBytes([]byte("a"), DefaultHashes)}}}
	plain := m.Marshal()
	gz := gzipBytes(plain)
	e := Entry{Tag: TagManifest, Path: "cat/Manifest.gz", Size: uint64(len(gz)), Checksums: HashBytes(gz, DefaultHashes)}
	got, err := OpenSub(&e, gz)
	if err != nil || len(got.Entries) != 1 || got.Entries[0].Path != "a" {
		t.Fatalf("OpenSub: %v %+v", err, got)
	}
	// A changed byte is caught before decompression.
	bad := append([]byte{}, gz...)
	bad[len(bad)-1] ^= 1
	if _, err := OpenSub(&e, bad); err == nil || !strings.Contains(err.Error(), "sub-Manifest cat/Manifest.gz") {
		t.Errorf("a changed sub-Manifest: %v", err)
	}
	data := Entry{Tag: TagData, Path: "x"}
	if _, err := OpenSub(&data, gz); err == nil {
		t.Error("OpenSub accepted a DATA entry")
	}
}

func TestJoin(t *testing.T) {
	for _, tc := range []struct {
		manifest string
		e        Entry
		want     string
	}{
		{"Manifest", Entry{Tag: TagManifest, Path: "dev-lang/Manifest.gz"}, "dev-lang/Manifest.gz"},
		{"dev-lang/Manifest.gz", Entry{Tag: TagManifest, Path: "go/Manifest"}, "dev-lang/go/Manifest"},
		{"dev-lang/go/Manifest", Entry{Tag: TagAux, Path: "fix.patch"}, "dev-lang/go/files/fix.patch"},
	} {
		if got := Join(tc.manifest, &tc.e); got != tc.want {
			t.Errorf("Join(%q, %s) = %q, want %q", tc.manifest, tc.e.Path, got, tc.want)
		}
	}
}
