package statefile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	l, err := Acquire(context.Background(), dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(context.Background(), dir, 0); !errors.Is(err, ErrBusy) {
		t.Fatalf("second holder: %v, want ErrBusy", err)
	}
	// A waiter gets the directory once the holder lets go.
	go func() {
		time.Sleep(100 * time.Millisecond)
		l.Release()
	}()
	l2, err := Acquire(context.Background(), dir, time.Minute)
	if err != nil {
		t.Fatalf("waiting for the holder: %v", err)
	}
	// A waiter whose context ends gives up.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Acquire(ctx, dir, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v", err)
	}
	l2.Release()
}

func TestLoadSave(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.json")
	type st struct {
		A int `json:"a"`
	}
	var v st
	if found, err := Load(p, 100, &v); found || err != nil {
		t.Fatalf("missing file: %v %v", found, err)
	}
	if err := Save(p, st{A: 3}, 0o600); err != nil {
		t.Fatal(err)
	}
	if found, err := Load(p, 100, &v); !found || err != nil || v.A != 3 {
		t.Fatalf("round trip: %v %v %+v", found, err, v)
	}
	for _, tc := range []struct{ data, want string }{
		{`{"a":1,"b":2}`, "unknown field"},
		{`{"a":1} {}`, "data after the object"},
		{`{"a":` + strings.Repeat("1", 200) + `}`, "over 100 bytes"},
		{`{"a":`, "not valid JSON"},
	} {
		os.WriteFile(p, []byte(tc.data), 0o600)
		if _, err := Load(p, 100, &v); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q) = %v, want %q", tc.data, err, tc.want)
		}
	}
}
