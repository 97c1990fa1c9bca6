package client

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStateWriteKilled kills a process that keeps saving state, many
// times, each time once it has reported a given number of saves (so the
// kill always lands after real progress, whatever the machine's load,
// and at a random point of the next save). The state file must always
// load, holding a whole state at least as new as the last reported save,
// and temporary files must not be taken for it.
func TestStateWriteKilled(t *testing.T) {
	if dir := os.Getenv("TREELOG_STATE_WRITER"); dir != "" {
		writeForever(dir)
		return
	}
	dir := t.TempDir()
	for i := range 20 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStateWriteKilled$")
		cmd.Env = append(os.Environ(), "TREELOG_STATE_WRITER="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		saved := 0
		for want := 1 + i%4; saved < want && sc.Scan(); {
			if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "saved ")); err == nil {
				saved = n
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		if saved == 0 {
			t.Fatalf("kill %d: the writer reported no save", i)
		}
		st, err := LoadState(dir)
		if err != nil {
			t.Fatalf("kill %d: state does not load: %v", i, err)
		}
		n := len(st.Trees)
		if n < saved {
			t.Fatalf("kill %d: state has %d trees, but the writer had saved %d", i, n, saved)
		}
		ts := st.Trees[fmt.Sprint("o", n-1)]
		if !bytes.Equal(ts.MetaManifest, bytes.Repeat([]byte{'m'}, 100*n)) {
			t.Fatalf("kill %d: a state with %d trees is not whole", i, n)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != StateFile && !strings.HasPrefix(e.Name(), ".") {
			t.Errorf("unexpected file %s", e.Name())
		}
	}
}

// TestStateLeftovers is what a kill in the middle of a save leaves: a
// partial temporary file beside the state. It is not the state.
func TestStateLeftovers(t *testing.T) {
	dir := t.TempDir()
	st, _ := LoadState(dir)
	st.Trees["o"] = TreeState{Index: 7}
	if err := st.Save(dir); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "."+StateFile+".tmp-123"), []byte(`{"version":1,"logs":{},"tr`), 0o600)
	got, err := LoadState(dir)
	if err != nil || got.Trees["o"].Index != 7 {
		t.Fatalf("state with a partial temporary file beside it: %v, %+v", err, got)
	}
}

// writeForever saves ever larger states until killed, reporting each.
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
		fmt.Printf("saved %d\n", n+1)
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
