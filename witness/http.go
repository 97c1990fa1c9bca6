package witness

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Handler serves the c2sp.org/tlog-witness API: POST /add-checkpoint and
// GET /<hex SHA-256 of origin>/checkpoint.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/add-checkpoint", w.serveAdd)
	mux.HandleFunc("GET /{hash}/checkpoint", w.serveCheckpoint)
	mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(rw, "tlog-witness %s\n%s\n", w.Name(), w.VerifierKey())
	})
	return mux
}

func (w *Witness) serveAdd(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := http.StatusOK
	defer func() {
		if w.metrics != nil {
			w.metrics.requests.WithLabelValues(strconv.Itoa(code)).Inc()
			w.metrics.duration.Observe(time.Since(start).Seconds())
		}
	}()
	if r.Method != http.MethodPost {
		code = http.StatusMethodNotAllowed
		rw.Header().Set("Allow", http.MethodPost)
		http.Error(rw, "add-checkpoint takes POST", code)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, MaxRequestSize))
	if err != nil {
		code = http.StatusRequestEntityTooLarge
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			code = http.StatusBadRequest
		}
		http.Error(rw, fmt.Sprintf("reading the request: %v", err), code)
		return
	}
	sigs, err := w.AddCheckpoint(body)
	if err != nil {
		var we *Error
		if !errors.As(err, &we) {
			we = errorf(http.StatusInternalServerError, "%v", err)
		}
		code = we.Code
		switch code {
		case http.StatusConflict:
			rw.Header().Set("Content-Type", "text/x.tlog.size")
			rw.WriteHeader(code)
			fmt.Fprintf(rw, "%d\n", we.Size)
		case http.StatusTooManyRequests:
			rw.Header().Set("Retry-After", "1")
			http.Error(rw, we.Msg, code)
		default:
			http.Error(rw, we.Msg, code)
		}
		if code >= 500 || code == http.StatusUnprocessableEntity {
			w.log.Warn("add-checkpoint refused", "code", code, "reason", we.Msg)
		} else {
			w.log.Debug("add-checkpoint refused", "code", code, "reason", we.Msg)
		}
		return
	}
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Write(sigs)
}

func (w *Witness) serveCheckpoint(rw http.ResponseWriter, r *http.Request) {
	hs := r.PathValue("hash")
	var h [32]byte
	if len(hs) != 64 || strings.ToLower(hs) != hs {
		http.Error(rw, "want /<lowercase hex SHA-256 of the origin>/checkpoint", http.StatusNotFound)
		return
	}
	if _, err := hex.Decode(h[:], []byte(hs)); err != nil {
		http.Error(rw, "want /<lowercase hex SHA-256 of the origin>/checkpoint", http.StatusNotFound)
		return
	}
	cp, ok := w.Checkpoint(h)
	if !ok {
		http.Error(rw, "no checkpoint cosigned for this origin", http.StatusNotFound)
		return
	}
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-cache")
	rw.Write(cp)
}
