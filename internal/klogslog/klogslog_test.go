package klogslog

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"k8s.io/klog/v2"
)

// Switching the destination while klog logs from other goroutines is safe
// (run with -race), and lines go to the logger set last.
func TestUse(t *testing.T) {
	var a, b syncBuffer
	Use(slog.New(slog.NewTextHandler(&a, nil)).With("part", "tessera"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				klog.Info("busy")
			}
		}()
	}
	for range 10 {
		Use(slog.New(slog.NewTextHandler(&a, nil)).With("part", "tessera"))
	}
	wg.Wait()
	Use(slog.New(slog.NewTextHandler(&b, nil)).With("part", "other"))
	klog.Info("hello")
	if got := b.String(); !strings.Contains(got, "msg=hello") || !strings.Contains(got, "part=other") {
		t.Errorf("the last logger got %q", got)
	}
	if strings.Contains(a.String(), "hello") {
		t.Error("a line went to a logger that was replaced")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
