// Package progress shows a counter with a rate on a terminal while long work
// runs, and stays silent when its output is not a terminal (logs, CI, pipes).
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// A Counter counts items and bytes; when its writer is a terminal it
// redraws one status line every 250ms. A nil *Counter is a valid no-op.
type Counter struct {
	w     io.Writer
	what  string
	unit  string
	total atomic.Int64
	n     atomic.Int64
	bytes atomic.Int64
	start time.Time
	stop  chan struct{}
	done  sync.WaitGroup
}

// New returns a counter writing to w if w is a terminal, or a silent one.
// what names the work ("verifying"), unit the items ("files").
func New(w io.Writer, what, unit string) *Counter {
	c := &Counter{what: what, unit: unit, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		c.w = w
		c.stop = make(chan struct{})
		c.done.Add(1)
		go c.loop()
	}
	return c
}

// SetTotal sets the expected number of items, to show a percentage and ETA.
func (c *Counter) SetTotal(n int64) {
	if c != nil {
		c.total.Store(n)
	}
}

// Add counts n items and b bytes.
func (c *Counter) Add(n, b int64) {
	if c != nil {
		c.n.Add(n)
		c.bytes.Add(b)
	}
}

// Done stops the display and prints the final line.
func (c *Counter) Done() {
	if c == nil || c.w == nil {
		return
	}
	close(c.stop)
	c.done.Wait()
	fmt.Fprintf(c.w, "\r\033[K%s\n", c.line())
}

func (c *Counter) loop() {
	defer c.done.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			fmt.Fprintf(c.w, "\r\033[K%s", c.line())
		}
	}
}

func (c *Counter) line() string {
	el := time.Since(c.start).Seconds()
	n, b, total := c.n.Load(), c.bytes.Load(), c.total.Load()
	rate := float64(n) / max(el, 1e-9)
	s := fmt.Sprintf("%s: %d", c.what, n)
	if total > 0 {
		s += fmt.Sprintf("/%d %s (%.1f%%)", total, c.unit, 100*float64(n)/float64(total))
	} else {
		s += " " + c.unit
	}
	s += fmt.Sprintf(", %.0f %s/s", rate, c.unit)
	if b > 0 {
		s += fmt.Sprintf(", %.1f MB, %.1f MB/s", float64(b)/1e6, float64(b)/1e6/max(el, 1e-9))
	}
	if total > n && rate > 0 {
		s += fmt.Sprintf(", ETA %s", (time.Duration(float64(total-n)/rate) * time.Second).Round(time.Second))
	}
	return s
}
