package client

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStateWriteKilled kills a process that keeps saving state, at random
// moments, many times: the state file must always load, holding a whole
// state (the write is atomic), and temporary files must not be taken for it.
func TestStateWriteKilled(t *testing.T) {
	if dir := os.Getenv("TREELOG_STATE_WRITER"); dir != "" {
		writeForever(dir)
		return
	}
	dir := t.TempDir()
	largest := 0
	for i := range 30 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStateWriteKilled$")
		cmd.Env = append(os.Environ(), "TREELOG_STATE_WRITER="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(20+rand.IntN(80)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		st, err := LoadState(dir)
		if err != nil {
			t.Fatalf("kill %d: state does not load: %v", i, err)
		}
		largest = max(largest, len(st.Trees))
		if n := len(st.Trees); n > 0 {
			ts := st.Trees[fmt.Sprint("o", n-1)]
			if !bytes.Equal(ts.MetaManifest, bytes.Repeat([]byte{'m'}, 100*n)) {
				t.Fatalf("kill %d: a state with %d trees is not whole", i, n)
			}
		}
	}
	if largest < 10 {
		t.Fatalf("the writer saved only %d states before the kills", largest)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != StateFile && !strings.HasPrefix(e.Name(), ".") {
			t.Errorf("unexpected file %s", e.Name())
		}
	}
}

// writeForever saves ever larger states until killed.
func writeForever(dir string) {
	st, err := LoadState(dir)
	if err != nil {
		panic(err)
	}
	for n := len(st.Trees); ; n++ {
		st.Trees[fmt.Sprint("o", n)] = TreeState{Timestamp: time.Now(), Index: uint64(n), MetaManifest: bytes.Repeat([]byte{'m'}, 100*(n+1))}
		// Every tree's evidence grows with the state's size, so that a
		// torn write would show.
		for k, v := range st.Trees {
			v.MetaManifest = bytes.Repeat([]byte{'m'}, 100*(n+1))
			st.Trees[k] = v
		}
		if err := st.Save(dir); err != nil {
			panic(err)
		}
	}
}

func FuzzLoadState(f *testing.F) {
	f.Add([]byte(`{"version":1,"logs":{},"trees":{}}`))
	f.Add([]byte(`{"version":1,"logs":{"l":{"checkpoint":"AAAA","updated":"2026-01-01T00:00:00Z"}},"trees":{"t":{"timestamp":"2026-01-01T00:00:00Z","index":3,"metamanifest":"bQ=="}}}`))
	f.Add([]byte(`{"version":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, StateFile), data, 0o600)
		st, err := LoadState(dir)
		if err != nil {
			if _, ok := err.(*LocalError); !ok {
				t.Fatalf("not a LocalError: %v", err)
			}
			return
		}
		if st.Logs == nil || st.Trees == nil {
			t.Fatal("loaded state with nil maps")
		}
	})
}
