package client

import (
	"testing"
	"time"
)

func TestAgo(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                  "0 seconds",
		time.Second:        "1 second",
		90 * time.Second:   "90 seconds",
		45 * time.Minute:   "45 minutes",
		9 * 24 * time.Hour: "9 days",
		-3 * time.Hour:     "in the future by 3 hours",
	} {
		if got := ago(d); got != want {
			t.Errorf("ago(%s) = %q, want %q", d, got, want)
		}
	}
}
