package log

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/transparency-dev/tessera"

	"treelog/checkpoint"
	"treelog/index"
	"treelog/internal/untrusted"
	"treelog/tiles"
	"treelog/trust"
)

// Limits of the HTTP API.
const (
	// DefaultWait is how long "wait=1" waits for a witnessed checkpoint.
	DefaultWait = 30 * time.Second
	// MaxWait bounds any wait.
	MaxWait = 2 * time.Minute
)

// ProofContentType is the media type of a c2sp.org/tlog-proof response.
const ProofContentType = "text/x.tlog-proof"

// Handler serves the log's HTTP API:
//
//	POST /add[?wait=DURATION]   submit a MetaManifest or a trust-root version;
//	                            "index N" (200), or with
//	                            wait its tlog-proof once a witnessed checkpoint
//	                            covers it (202 "index N" if that takes longer)
//	GET  /proof/N[?wait=D]      the tlog-proof of entry N under the latest
//	                            published checkpoint
//	GET  /trustroot/H?from=N    the logged versions of the trust root whose
//	                            name's SHA-256 is H, with inclusion proofs
//	GET  /proof/consistency/OLD/NEW
//	                            a consistency proof between two sizes
//	GET  /checkpoint            c2sp.org/tlog-tiles read API: checkpoint,
//	GET  /tile/...              tiles and entry bundles
//	GET  /index/...             the index's files (package index)
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add", s.serveAdd)
	mux.HandleFunc("GET /proof/{index}", s.serveProof)
	mux.HandleFunc("GET /trustroot/{hash}", s.serveTrustRoot)
	mux.HandleFunc("GET /proof/consistency/{old}/{new}", s.serveConsistency)
	mux.HandleFunc("GET /index/", s.serveIndex)
	mux.HandleFunc("GET /checkpoint", s.serveCheckpoint)
	mux.HandleFunc("GET /tile/", s.serveTile)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "treelog log %s\n%s\n", s.origin, s.VerifierKey())
	})
	return mux
}

func parseWait(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("wait")
	switch v {
	case "", "0":
		return 0, nil
	case "1", "true":
		return DefaultWait, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("wait=%q: want 1 or a duration like 20s", v)
	}
	return min(d, MaxWait), nil
}

func (s *Server) serveAdd(w http.ResponseWriter, r *http.Request) {
	wait, err := parseWait(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, trust.MaxEntrySize))
	if err != nil {
		http.Error(w, fmt.Sprintf("entry over %d bytes, or unreadable: %v", trust.MaxEntrySize, err), http.StatusRequestEntityTooLarge)
		return
	}
	a, err := s.Add(r.Context(), body)
	if err != nil {
		var rej *Rejection
		switch {
		case errors.As(err, &rej):
			if rej.Code == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "1")
			}
			http.Error(w, rej.Msg, rej.Code)
		case errors.Is(err, tessera.ErrPushback):
			w.Header().Set("Retry-After", "1")
			http.Error(w, "the log is busy; try again", http.StatusServiceUnavailable)
		default:
			s.cfg.Log.Error("add failed", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
		return
	}
	w.Header().Set("Treelog-Index", strconv.FormatUint(a.Index, 10))
	w.Header().Set("Location", fmt.Sprintf("/proof/%d", a.Index))
	if wait > 0 {
		// The daemon's write timeout is for answers that do not wait.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + 10*time.Second))
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		defer cancel()
		proof, err := s.Proof(ctx, a.Index)
		if err == nil {
			w.Header().Set("Content-Type", ProofContentType)
			w.Write(proof)
			return
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			s.cfg.Log.Error("building a proof", "index", a.Index, "err", err)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "index %d\n", a.Index)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "index %d\n", a.Index)
	if a.Duplicate {
		fmt.Fprintln(w, "duplicate")
	}
}

func (s *Server) serveProof(w http.ResponseWriter, r *http.Request) {
	idx, err := strconv.ParseUint(r.PathValue("index"), 10, 64)
	if err != nil || strconv.FormatUint(idx, 10) != r.PathValue("index") {
		http.Error(w, "want /proof/<index>", http.StatusBadRequest)
		return
	}
	wait, err := parseWait(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), max(wait, time.Millisecond))
	defer cancel()
	proof, err := s.Proof(ctx, idx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, fmt.Sprintf("entry %d is not covered by a published checkpoint yet", idx), http.StatusNotFound)
			return
		}
		s.cfg.Log.Error("building a proof", "index", idx, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ProofContentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(proof)
}

func (s *Server) serveCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp, err := s.reader.ReadCheckpoint(r.Context())
	if err != nil || cp == nil {
		http.Error(w, "no checkpoint published yet", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	// Mutable: caches must not keep it beyond a few seconds.
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(cp)
}

func (s *Server) serveTile(w http.ResponseWriter, r *http.Request) {
	res, err := tiles.ParsePath(strings.TrimPrefix(r.URL.Path, "/"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	var data []byte
	if res.Entries {
		data, err = s.reader.ReadEntryBundle(r.Context(), res.Index, res.Width)
	} else {
		data, err = s.reader.ReadTile(r.Context(), res.Level, res.Index, res.Width)
	}
	if err != nil || data == nil {
		http.Error(w, "no such tile", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	if res.Entries && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		z := gzip.NewWriter(w)
		z.Write(data)
		z.Close()
		return
	}
	w.Write(data)
}

func (s *Server) serveConsistency(w http.ResponseWriter, r *http.Request) {
	oldSize, err1 := untrusted.ParseDecimal(r.PathValue("old"))
	newSize, err2 := untrusted.ParseDecimal(r.PathValue("new"))
	if err1 != nil || err2 != nil || oldSize > newSize {
		http.Error(w, "want /proof/consistency/<old size>/<new size>, old no larger than new", http.StatusBadRequest)
		return
	}
	_, cp, ok := s.Published()
	if !ok || newSize > cp.Size {
		http.Error(w, fmt.Sprintf("the log has not published a checkpoint of size %d", newSize), http.StatusNotFound)
		return
	}
	proof, err := s.prover.ConsistencyProofTo(r.Context(), oldSize, newSize, cp)
	if err != nil {
		s.cfg.Log.Error("building a consistency proof", "old", oldSize, "new", newSize, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	// The proof between two sizes never changes.
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(checkpoint.MarshalConsistencyProof(proof))
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	f, err := index.ParsePath(strings.TrimPrefix(r.URL.Path, "/"))
	if err != nil || s.files == nil {
		http.Error(w, "no such index file", http.StatusNotFound)
		return
	}
	data, err := s.files.Read(r.Context(), f.Path())
	if err != nil {
		if !errors.Is(err, tiles.ErrNotFound) {
			s.cfg.Log.Error("reading an index file", "path", f.Path(), "err", err)
		}
		http.Error(w, "no such index file", http.StatusNotFound)
		return
	}
	if f.Kind == "latest" {
		w.Header().Set("Content-Type", ProofContentType)
		w.Header().Set("Cache-Control", "no-cache")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	w.Write(data)
}
