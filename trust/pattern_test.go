package trust

import "testing"

// A pattern matches exactly what it says: one origin, or every origin
// below a prefix, byte for byte.
func TestPatternMatchesWhatItSays(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		yes     []string
		no      []string
	}{
		{"overlays.example/*",
			[]string{"overlays.example/guru", "overlays.example/guru/extra", "overlays.example/a", "overlays.example/*x"},
			[]string{"overlays.example", "overlays.example/", "overlays.examplex/guru", "overlays.example.evil/guru",
				"evil/overlays.example/guru", "Overlays.example/guru", "overlays.exampl/guru", "xoverlays.example/guru"}},
		{"gentoo.org/repo/gentoo",
			[]string{"gentoo.org/repo/gentoo"},
			[]string{"gentoo.org/repo/gentoo2", "gentoo.org/repo/gentoo/x", "gentoo.org/repo/Gentoo", "gentoo.org/repo", "gentoo.org/repo/gentoo/"}},
		{"a/b/*",
			[]string{"a/b/c", "a/b/c/d"},
			[]string{"a/b", "a/b/", "a/bc/d", "a/c/b"}},
	} {
		p, err := ParsePattern(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range tc.yes {
			if !p.Match(o) {
				t.Errorf("%s does not match %s", p, o)
			}
		}
		for _, o := range tc.no {
			if p.Match(o) {
				t.Errorf("%s matches %s", p, o)
			}
		}
	}
}

func TestPatternSyntax(t *testing.T) {
	for _, bad := range []string{"", "*", "/*", "a*", "a/*/b", "a/b*", "*/a", "a/**", "a b/*", "a+b/*", "gentoo.örg/*"} {
		if _, err := ParsePattern(bad); err == nil {
			t.Errorf("ParsePattern(%q) succeeded", bad)
		}
	}
}

func TestPatternCoversAndOverlaps(t *testing.T) {
	for _, tc := range []struct {
		p, q             string
		covers, overlaps bool
	}{
		{"a/*", "a/*", true, true},
		{"a/*", "a/b", true, true},
		{"a/*", "a/b/*", true, true},
		{"a/b/*", "a/*", false, true},
		{"a/*", "a", false, false},
		{"a/*", "ab/*", false, false},
		{"a/*", "ab/c", false, false},
		{"a/b", "a/b", true, true},
		{"a/b", "a/c", false, false},
		{"a/b", "a/*", false, true},
		{"a/b", "a/b/*", false, false},
	} {
		p, q := Pattern(tc.p), Pattern(tc.q)
		if got := p.Covers(q); got != tc.covers {
			t.Errorf("%s covers %s = %v", p, q, got)
		}
		if got := p.Overlaps(q); got != tc.overlaps {
			t.Errorf("%s overlaps %s = %v", p, q, got)
		}
	}
}
