package manifest

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestEscapeGolden(t *testing.T) {
	for _, tc := range []struct{ plain, enc string }{
		{"plain/path-1.0_p2+x", "plain/path-1.0_p2+x"},
		{"a b", `a\x20b`},
		{"tab\there", `tab\x09here`},
		{`back\slash`, `back\x5Cslash`},
		{"nl\nx", `nl\x0Ax`},
		{"del\x7f", `del\x7F`},
		{"c1\u0085", `c1\u0085`},
		{"nbsp\u00a0", `nbsp\u00A0`},
		{"ideographic\u3000space", `ideographic\u3000space`},
		{"line\u2028sep", `line\u2028sep`},
		{"emoji😀", "emoji😀"},
		{"zero\u200bwidth", "zero\u200bwidth"}, // not whitespace in Unicode
	} {
		if got := EncodePath(tc.plain); got != tc.enc {
			t.Errorf("EncodePath(%q) = %q, want %q", tc.plain, got, tc.enc)
		}
		if got, err := DecodePath(tc.enc); err != nil || got != tc.plain {
			t.Errorf("DecodePath(%q) = %q, %v", tc.enc, got, err)
		}
	}
	// Decoding accepts lowercase hex and escapes of characters that need none,
	// and the longer forms.
	for enc, plain := range map[string]string{`\x61`: "a", `\x5c`: `\`, `\u0020`: " ", `\U0001F600`: "😀", `\U00000041`: "A"} {
		if got, err := DecodePath(enc); err != nil || got != plain {
			t.Errorf("DecodePath(%q) = %q, %v; want %q", enc, got, err, plain)
		}
	}
	for _, bad := range []string{`\`, `a\`, `\z`, `\x`, `\x8`, `\x80`, `\xFF`, `\u12`, `\uD800`, `\U00110000`, `\U0000004`, `\xgg`, "a b", "a\tb", "a\u00a0b", "\xff"} {
		if _, err := DecodePath(bad); err == nil {
			t.Errorf("DecodePath(%q) succeeded", bad)
		}
	}
}

func TestGoldenAllTags(t *testing.T) {
	golden, err := os.ReadFile("testdata/all-tags.Manifest")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(golden)
	if err != nil {
		t.Fatal(err)
	}
	want := map[Tag]int{TagAux: 1, TagData: 5, TagDist: 1, TagEbuild: 1, TagIgnore: 2, TagManifest: 1, TagMisc: 1, TagTimestamp: 1}
	got := map[Tag]int{}
	for _, e := range m.Entries {
		got[e.Tag]++
	}
	for tag, n := range want {
		if got[tag] != n {
			t.Errorf("%s: %d entries, want %d", tag, got[tag], n)
		}
	}
	if ts, ok := m.Timestamp(); !ok || !ts.Equal(time.Date(2017, 10, 30, 10, 11, 12, 0, time.UTC)) {
		t.Errorf("Timestamp = %v", ts)
	}
	for _, e := range m.Entries {
		switch e.Path {
		case "fix it.patch":
			if e.FilePath() != "files/fix it.patch" {
				t.Errorf("AUX FilePath = %q", e.FilePath())
			}
		case "non\u00a0breaking", "tab\tname", `a\b`, "😀/emoji":
		}
	}
	// Marshal writes it back byte for byte (sorted by tag, then path).
	if out := m.Marshal(); string(out) != string(golden) {
		t.Errorf("Marshal differs from the golden file:\n%s", out)
	}
	// Shuffled input sorts to the same bytes.
	lines := strings.Split(strings.TrimSpace(string(golden)), "\n")
	for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	m2, err := Parse([]byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if string(m2.Marshal()) != string(golden) {
		t.Error("reversed Manifest does not sort to the golden bytes")
	}
}

func TestParseLenient(t *testing.T) {
	// GLEP 74: blank lines and extra whitespace, CR included, are ignored.
	h := strings.Repeat("a", 128)
	m, err := Parse([]byte("\r\n  DATA  x  1  BLAKE2B  " + h + " \r\n\n\tIGNORE y\r\n"))
	if err != nil || len(m.Entries) != 2 {
		t.Fatalf("%v %+v", err, m)
	}
	// OpenPGP cleartext-signed Manifests are unwrapped (signature not checked).
	signed := "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nTIMESTAMP 2020-01-01T00:00:00Z\n- IGNORE dashed\n-----BEGIN PGP SIGNATURE-----\n\niQ==\n-----END PGP SIGNATURE-----\n"
	m, err = Parse([]byte(signed))
	if err != nil || !m.OpenPGPSigned || len(m.Entries) != 2 || m.Entries[1].Path != "dashed" {
		t.Fatalf("signed: %v %+v", err, m)
	}
}

func TestParseRejections(t *testing.T) {
	h := strings.Repeat("a", 128)
	for _, tc := range []struct{ text, want string }{
		{"FOO x", "line 1: unknown tag \"FOO\""},
		{"DATA x", "DATA wants a path and a size"},
		{"DATA x 1", "no hashes"},
		{"DATA x 1 BLAKE2B", "hash BLAKE2B has no value"},
		{"DATA x -1 BLAKE2B " + h, "not an unsigned decimal"},
		{"DATA x 01 BLAKE2B " + h, "leading zero"},
		{"DATA x 99999999999999999999 BLAKE2B " + h, "does not fit"},
		{"DATA x 1 BLAKE2B " + strings.ToUpper(h), "not 128 lowercase hex"},
		{"DATA x 1 BLAKE2B abc", "not 128 lowercase hex"},
		{"DATA x 1 BLAKE2B " + h + " BLAKE2B " + h, "given twice"},
		{"DATA /abs 1 BLAKE2B " + h, "is absolute"},
		{"DATA a/../b 1 BLAKE2B " + h, "\"..\" component"},
		{"DATA a//b 1 BLAKE2B " + h, "empty component"},
		{"DATA a/ 1 BLAKE2B " + h, "empty component"},
		{`DATA a\zb 1 BLAKE2B ` + h, "backslash"},
		{"DIST a/b.tar.gz 1 BLAKE2B " + h, "must be a file name"},
		{"IGNORE", "IGNORE wants 1 value"},
		{"IGNORE a b", "IGNORE wants 1 value"},
		{"TIMESTAMP 2017-1-5T1:2:3Z", "not of the form"},
		{"TIMESTAMP 2017-10-30 10:11:12", "TIMESTAMP wants 1 value"},
		{"TIMESTAMP 2017-10-30T10:11:12+01:00", "not of the form"},
		{"TIMESTAMP 2017-10-30T10:11:12Z\nTIMESTAMP 2017-10-30T10:11:12Z", "line 2: second TIMESTAMP"},
		{"IGNORE a\n-----BEGIN PGP SIGNED MESSAGE-----", "line 2: OpenPGP signed message after unsigned entries"},
		{"-----BEGIN PGP SIGNED MESSAGE-----\n\nIGNORE a\n", "ends before its signature"},
		{"-----BEGIN PGP SIGNED MESSAGE-----\n\nIGNORE a\n-----BEGIN PGP SIGNATURE-----\n-----END PGP SIGNATURE-----\nIGNORE b", "line 6: data after the OpenPGP signature"},
	} {
		_, err := Parse([]byte(tc.text))
		if err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%.50q) = %v, want error containing %q", tc.text, err, tc.want)
		}
	}
}

func TestHashList(t *testing.T) {
	if hs, err := ParseHashList("SHA512 BLAKE2B"); err != nil || strings.Join(hs, " ") != "BLAKE2B SHA512" {
		t.Errorf("ParseHashList = %v, %v", hs, err)
	}
	for _, bad := range []string{"", "MD5", "SHA512 SHA512", "sha512"} {
		if _, err := ParseHashList(bad); err == nil {
			t.Errorf("ParseHashList(%q) succeeded", bad)
		}
	}
	// Known answers: BLAKE2B-512 and SHA512 of "abc".
	cs := HashBytes([]byte("abc"), []string{"BLAKE2B", "SHA512"})
	if !strings.HasPrefix(cs.Get("BLAKE2B"), "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1") ||
		!strings.HasPrefix(cs.Get("SHA512"), "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a") {
		t.Errorf("HashBytes(abc) = %v", cs)
	}
}
