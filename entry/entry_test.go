package entry_test

import (
	"testing"

	"treelog/entry"
	"treelog/metamanifest"
)

func TestKindOf(t *testing.T) {
	for _, c := range []struct {
		data string
		want entry.Kind
	}{
		{metamanifest.Header + "\norigin x\n", entry.MetaManifest},
		{entry.IndexHeader + "\nsize 0\n", entry.Index},
		{entry.TrustRootHeader + "\n", entry.TrustRoot},
		{metamanifest.Header, entry.Unknown}, // no newline: not a line
		{"treelog-metamanifest/v2\n", entry.Unknown},
		{"", entry.Unknown},
		{"\n" + metamanifest.Header + "\n", entry.Unknown},
	} {
		if got := entry.KindOf([]byte(c.data)); got != c.want {
			t.Errorf("KindOf(%q) = %v, want %v", c.data, got, c.want)
		}
	}
}
