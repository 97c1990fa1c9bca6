package tiles

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"treelog/internal/untrusted"
	"treelog/note"
)

// Bounds on what HTTPReader reads: a log or mirror cannot make a client
// read endlessly (Cappos et al.'s endless-data attack).
const (
	// MaxCheckpointSize is the largest checkpoint accepted.
	MaxCheckpointSize = note.MaxSize
	// MaxTileSize is a full tile: 256 hashes.
	MaxTileSize = TileWidth * 32
	// DefaultMaxEntrySize bounds each entry of a bundle; treelog's entries
	// (MetaManifests) are at most 16 KiB.
	DefaultMaxEntrySize = 16 << 10
)

// HTTPReader reads a log through the tlog-tiles HTTP API, trying each base
// URL (the log, then its mirrors) until one answers.
type HTTPReader struct {
	urls         []string
	client       *http.Client
	maxEntrySize int
	userAgent    string
	// BytesRead counts the bytes received, and Requests the requests
	// made, for reports.
	BytesRead, Requests atomic.Int64
}

// An HTTPOption configures an HTTPReader.
type HTTPOption func(*HTTPReader)

// WithClient sets the HTTP client (default: a client with a 30s timeout).
func WithClient(c *http.Client) HTTPOption { return func(r *HTTPReader) { r.client = c } }

// WithMaxEntrySize bounds each entry of an entry bundle.
func WithMaxEntrySize(n int) HTTPOption { return func(r *HTTPReader) { r.maxEntrySize = n } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) HTTPOption { return func(r *HTTPReader) { r.userAgent = ua } }

// NewHTTPReader returns a reader of the log at the given base URLs (each
// the tlog-tiles prefix, e.g. "https://log.example.org/treelog").
func NewHTTPReader(urls []string, opts ...HTTPOption) (*HTTPReader, error) {
	if len(urls) == 0 {
		return nil, errors.New("no log URL given")
	}
	r := &HTTPReader{client: &http.Client{Timeout: 30 * time.Second}, maxEntrySize: DefaultMaxEntrySize, userAgent: "treelog"}
	for _, u := range urls {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return nil, fmt.Errorf("log URL %q is not http(s)", u)
		}
		r.urls = append(r.urls, strings.TrimSuffix(u, "/"))
	}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// URLs returns the base URLs tried, in order.
func (r *HTTPReader) URLs() []string { return r.urls }

// ReadCheckpoint fetches the latest checkpoint.
func (r *HTTPReader) ReadCheckpoint(ctx context.Context) ([]byte, error) {
	return r.get(ctx, "checkpoint", MaxCheckpointSize)
}

// ReadTile fetches a tile.
func (r *HTTPReader) ReadTile(ctx context.Context, level, index uint64, width uint8) ([]byte, error) {
	want := TileWidth * 32
	if width > 0 {
		want = int(width) * 32
	}
	b, err := r.get(ctx, TilePath(level, index, width), want)
	if err != nil {
		return nil, err
	}
	if len(b) != want {
		return nil, fmt.Errorf("%w: tile %s is %d bytes, want %d", ErrMismatch, TilePath(level, index, width), len(b), want)
	}
	return b, nil
}

// ReadEntryBundle fetches an entry bundle.
func (r *HTTPReader) ReadEntryBundle(ctx context.Context, index uint64, width uint8) ([]byte, error) {
	n := TileWidth
	if width > 0 {
		n = int(width)
	}
	return r.get(ctx, EntriesPath(index, width), n*(2+r.maxEntrySize))
}

// ReadPath fetches another resource a log serves beside the tlog-tiles
// API (such as a trust root's versions listing), reading at most limit
// bytes, from each URL in turn.
func (r *HTTPReader) ReadPath(ctx context.Context, p string, limit int) ([]byte, error) {
	return r.get(ctx, p, limit)
}

// get fetches base/p from each URL in turn, reading at most limit bytes
// of the (decompressed) body; a longer body is an error, not truncated.
// The error wraps ErrUnavailable only if no URL served anything to check.
func (r *HTTPReader) get(ctx context.Context, p string, limit int) ([]byte, error) {
	var errs []error
	for _, base := range r.urls {
		b, err := r.getOne(ctx, base+"/"+p, limit)
		if err == nil {
			return b, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, joinURLErrors(p, errs)
}

func (r *HTTPReader) getOne(ctx context.Context, u string, limit int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", r.userAgent)
	// Asking for gzip ourselves means Go does not decompress silently, so
	// the limit below applies to the decompressed size too.
	req.Header.Set("Accept-Encoding", "gzip, identity")
	r.Requests.Add(1)
	resp, err := r.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL
		}
		return nil, fmt.Errorf("GET %s: %w", u, &netError{err})
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("GET %s: %w (%w)", u, ErrNotFound, ErrUnavailable)
	case resp.StatusCode != http.StatusOK:
		// The reason phrase is the server's: escaped like any outside text.
		return nil, fmt.Errorf("GET %s: %s (%w)", u, untrusted.Escape(resp.Status), ErrUnavailable)
	case resp.ContentLength > int64(limit) && resp.Header.Get("Content-Encoding") == "":
		return nil, fmt.Errorf("GET %s: %d bytes, %w of %d", u, resp.ContentLength, untrusted.ErrTooLarge, limit)
	}
	counted := &countingReader{r: resp.Body, n: &r.BytesRead}
	var body io.Reader = counted
	if resp.Header.Get("Content-Encoding") == "gzip" {
		z, err := gzip.NewReader(io.LimitReader(counted, int64(limit)+1))
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", u, err)
		}
		body = z
	}
	return untrusted.ReadAll(body, int64(limit), "GET "+u)
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

// Read counts, and marks an error of the connection as an outage (a body
// cut short is not bad data: nothing arrived to be judged).
func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	if err != nil && err != io.EOF {
		err = &netError{err}
	}
	return n, err
}
