package signd

import (
	"bytes"
	"strings"
	"testing"

	"treelog/note"
)

func FuzzParseConfig(f *testing.F) {
	_, vkey, _ := note.GenerateKey(nil, "k", note.TypeEd25519)
	f.Add("key " + vkey + " k.key.age\norigin a.example/t /srv/t k\nskip-tree-verify a.example/t\n")
	f.Add("# c\n\norigin a b c\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConfig([]byte(s), "/etc", "origins")
		if err != nil {
			return
		}
		if len(c.Origins) == 0 {
			t.Fatal("a config without origins was accepted")
		}
		names := map[string]bool{}
		for _, k := range c.Keys {
			names[k.Name] = true
		}
		for _, o := range c.Origins {
			if len(o.Keys) == 0 || !strings.HasPrefix(o.Dir, "/") {
				t.Fatalf("origin %+v", o)
			}
			for _, k := range o.Keys {
				if !names[k] {
					t.Fatalf("origin %s names unknown key %s", o.Origin, k)
				}
			}
		}
	})
}

func FuzzParseJournal(f *testing.F) {
	f.Add([]byte(JournalHeader + "\n"))
	f.Add([]byte(JournalHeader + "\nsigned 2026-03-01T12:00:00Z uid 0 pid 1 size 5\nabcde"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, complete, err := ParseJournal(data)
		if err != nil {
			return
		}
		if complete > len(data) {
			t.Fatalf("complete %d > %d", complete, len(data))
		}
		// What parsed marshals back to the same bytes.
		var b bytes.Buffer
		if complete > 0 {
			b.WriteString(JournalHeader + "\n")
		}
		for _, r := range recs {
			b.Write(r.Marshal())
		}
		if !bytes.Equal(b.Bytes(), data[:complete]) {
			t.Fatalf("round trip:\n%q\n%q", b.Bytes(), data[:complete])
		}
	})
}

func FuzzParseAdminRequest(f *testing.F) {
	f.Add(MarshalAdminRequest(CmdUnlock, []string{"a passphrase", "another"}))
	f.Add(MarshalAdminRequest(CmdStatus, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		cmd, passes, err := ParseAdminRequest(data)
		if err != nil {
			return
		}
		if !bytes.Equal(MarshalAdminRequest(cmd, passes), data) {
			t.Fatalf("round trip of %q", data)
		}
	})
}
