package publisher

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Pushback (503) is retried until the log takes the entry; a refusal is
// not retried.
func TestSubmitRetries(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n := calls.Add(1); {
		case strings.Contains(r.URL.RawQuery, "refuse"):
			http.Error(w, "not signed by an authorized key", http.StatusForbidden)
		case n <= 2:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "pushback", http.StatusServiceUnavailable)
		default:
			w.Header().Set("Treelog-Index", "7")
		}
	}))
	defer srv.Close()
	c := &Client{}
	r, err := c.Submit(context.Background(), srv.URL, []byte("mm"), 0)
	if err != nil || r.Index != 7 || calls.Load() != 3 {
		t.Fatalf("Submit = %+v, %v after %d calls; want index 7 after 3", r, err, calls.Load())
	}
	calls.Store(10)
	_, err = c.Submit(context.Background(), srv.URL+"/?refuse", []byte("mm"), 0)
	if err == nil || !strings.Contains(err.Error(), "403 Forbidden: not signed by an authorized key") || calls.Load() != 11 {
		t.Fatalf("a refusal: %v after %d calls, want one call and the reason", err, calls.Load()-10)
	}
}

// A log that is not up yet (a script that starts it and publishes at
// once) is waited for, within RetryFor; one that never comes up is
// reported.
func TestSubmitWaitsForTheLog(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Treelog-Index", "0")
	})}
	defer srv.Close()
	go func() {
		time.Sleep(600 * time.Millisecond)
		if ln, err := net.Listen("tcp", addr); err == nil {
			srv.Serve(ln)
		}
	}()
	if r, err := (&Client{}).Submit(context.Background(), "http://"+addr, []byte("mm"), 0); err != nil || r.Index != 0 {
		t.Fatalf("Submit to a log that starts late: %+v, %v", r, err)
	}

	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	_, err = (&Client{RetryFor: 300 * time.Millisecond}).Submit(context.Background(), dead, []byte("mm"), 0)
	if err == nil || !strings.Contains(err.Error(), "submitting to "+dead) {
		t.Fatalf("Submit to no log: %v", err)
	}
}
