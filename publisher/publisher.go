// Package publisher is the publisher's side of treelog: it signs a tree's
// MetaManifest, submits it to a log, and stores the log's tlog-proof beside
// it, so that mirrors carry the proof with the tree.
package publisher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"treelog/checkpoint"
	"treelog/internal/atomicfile"
	"treelog/internal/untrusted"
	"treelog/manifest"
	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
	"treelog/signer"
)

// Sign writes DIR/.treelog/MetaManifest for the tree's current top-level
// Manifest, removing a proof of an older snapshot.
func Sign(dir, origin, commit string, signers ...note.Signer) ([]byte, error) {
	return SignWith(context.Background(), dir, origin, commit, signer.Keys(signers...))
}

// SignWith is Sign with any signer (keys, the signing daemon...). It
// checks that what the signer returned is the MetaManifest asked for.
func SignWith(ctx context.Context, dir, origin, commit string, s signer.Signer) ([]byte, error) {
	top, err := readTop(dir)
	if err != nil {
		return nil, err
	}
	return signTop(ctx, dir, top, origin, commit, s)
}

func readTop(dir string) ([]byte, error) {
	top, err := untrusted.ReadFile(filepath.Join(dir, manifest.TopManifestName), manifest.MaxSize, "the top-level Manifest")
	if err != nil {
		return nil, fmt.Errorf("reading the top-level Manifest: %w", err)
	}
	return top, nil
}

// signTop writes the MetaManifest naming top, the exact bytes of the
// tree's top-level Manifest.
func signTop(ctx context.Context, dir string, top []byte, origin, commit string, s signer.Signer) ([]byte, error) {
	m, err := metamanifest.New(origin, top, commit)
	if err != nil {
		return nil, err
	}
	msg, err := s.Sign(ctx, m)
	if err != nil {
		return nil, err
	}
	got, _, err := metamanifest.Parse(msg)
	if err != nil {
		return nil, fmt.Errorf("the signer returned no MetaManifest: %w", err)
	}
	if got.Text() != m.Text() {
		return nil, fmt.Errorf("the signer returned another MetaManifest than the one asked for:\n%s", got.Text())
	}
	mmPath, proofPath := metamanifest.Paths(dir)
	if err := os.MkdirAll(filepath.Dir(mmPath), 0o755); err != nil {
		return nil, err
	}
	if err := os.Remove(proofPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("removing the old proof: %w", err)
	}
	if err := atomicfile.WriteFile(mmPath, msg, 0o644); err != nil {
		return nil, err
	}
	return msg, nil
}

// A Result is what the log answered to a submission.
type Result struct {
	Index uint64
	// Proof is the tlog-proof, or nil if the wait ended before a witnessed
	// checkpoint covered the entry.
	Proof []byte
}

// Client submits to a log.
type Client struct {
	HTTP *http.Client
	// RetryFor bounds how long Submit keeps trying a log that cannot be
	// reached or answers 503 (pushback), honoring Retry-After (default
	// 30s; negative: no retry). Resubmitting is safe: the log answers a
	// MetaManifest it already holds with its first index.
	RetryFor time.Duration
	// OnRetry, if set, is told of each failed attempt that will be tried
	// again, and after how long: a person waiting wants to know.
	OnRetry func(err error, after, left time.Duration)
}

func (c *Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 5 * time.Minute}
}

// ErrUnavailable is wrapped when the log could not be reached, or kept
// answering that it is busy or failing (5xx), for as long as the client
// retried: an outage, not a refusal.
var ErrUnavailable = errors.New("the log is unavailable")

// errRetry marks a submission that failed in a way worth retrying, after
// the pause it carries.
type errRetry struct {
	err   error
	after time.Duration
}

func (e *errRetry) Error() string { return e.err.Error() }
func (e *errRetry) Unwrap() error { return e.err }

// Submit posts a MetaManifest to the log at logURL and waits up to wait
// for its proof (0: return the index at once).
func (c *Client) Submit(ctx context.Context, logURL string, mm []byte, wait time.Duration) (*Result, error) {
	retryFor := c.RetryFor
	if retryFor == 0 {
		retryFor = 30 * time.Second
	}
	deadline := time.Now().Add(retryFor)
	pause := 250 * time.Millisecond
	for {
		r, err := c.submit(ctx, logURL, mm, wait)
		var re *errRetry
		if !errors.As(err, &re) {
			return r, err
		}
		p := pause
		if re.after > 0 {
			p = min(re.after, 10*time.Second)
		}
		if time.Now().Add(p).After(deadline) {
			return nil, fmt.Errorf("%w: %w (gave up after retrying for %s)", ErrUnavailable, err, retryFor)
		}
		if c.OnRetry != nil {
			c.OnRetry(err, p, time.Until(deadline))
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(p):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

func (c *Client) submit(ctx context.Context, logURL string, mm []byte, wait time.Duration) (*Result, error) {
	u := strings.TrimSuffix(logURL, "/") + "/add"
	if wait > 0 {
		u += "?wait=" + wait.String()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(mm))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := c.client().Do(req)
	if err != nil {
		err = fmt.Errorf("submitting to %s: %w", logURL, err)
		if ctx.Err() != nil {
			return nil, err
		}
		// Unreachable (not yet started, restarting): worth another try.
		return nil, &errRetry{err: err}
	}
	defer resp.Body.Close()
	body, err := untrusted.ReadAll(resp.Body, checkpoint.MaxProofSize, "the log's answer")
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusAccepted:
	case http.StatusServiceUnavailable:
		after, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return nil, &errRetry{err: fmt.Errorf("the log is busy: %s: %s", resp.Status, strings.TrimSpace(string(body))), after: time.Duration(after) * time.Second}
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return nil, &errRetry{err: fmt.Errorf("the log failed: %s: %s", resp.Status, strings.TrimSpace(string(body)))}
	default:
		return nil, fmt.Errorf("the log refused the MetaManifest: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	idx, err := strconv.ParseUint(resp.Header.Get("Treelog-Index"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("the log's answer has no index: %q", body)
	}
	r := &Result{Index: idx}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/x.tlog-proof") {
		r.Proof = body
	}
	return r, nil
}

// FetchProof asks the log for the proof of entry index, waiting up to wait.
func (c *Client) FetchProof(ctx context.Context, logURL string, index uint64, wait time.Duration) ([]byte, error) {
	u := fmt.Sprintf("%s/proof/%d?wait=%s", strings.TrimSuffix(logURL, "/"), index, wait)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := untrusted.ReadAll(resp.Body, checkpoint.MaxProofSize, "the log's proof")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("proof of entry %d: %s: %s", index, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// CheckProof checks a proof for mm: under pol if given (log signature,
// quorum, inclusion), else at least that its inclusion proof binds mm to
// the checkpoint's root.
func CheckProof(proof, mm []byte, pol *policy.Policy) error {
	if pol != nil {
		_, err := pol.VerifyProof(proof, mm)
		return err
	}
	p, err := checkpoint.ParseProof(proof)
	if err != nil {
		return err
	}
	n, err := note.Parse(p.Checkpoint)
	if err != nil {
		return err
	}
	cp, err := checkpoint.ParseText(n.Text)
	if err != nil {
		return err
	}
	return checkpoint.VerifyInclusion(cp, p.Index, mm, p.Inclusion)
}

// Options configure Publish.
type Options struct {
	Origin, Commit string
	// Signer signs the MetaManifest; if nil, Signers do, in this process.
	Signer  signer.Signer
	Signers []note.Signer
	LogURL  string
	// Policy, if set, checks the proof before it is stored.
	Policy *policy.Policy
	// Wait bounds waiting for the witnessed proof.
	Wait time.Duration
	// Manifest options for manifest.Create (layout, hashes, timestamp...),
	// or for manifest.Verify with Existing (progress).
	Manifest []manifest.Option
	// Existing logs the tree's Manifests as they are, not a byte
	// rewritten: a distribution's own, perhaps OpenPGP-signed. The tree
	// must verify against them before it is logged.
	Existing bool
	// CheckTopManifest, if set, vets the exact bytes of the top-level
	// Manifest that the MetaManifest will name before anything is signed
	// (for example the distribution's OpenPGP signature on it).
	CheckTopManifest func(top []byte) error
}

// Published describes a published snapshot.
type Published struct {
	Index        uint64
	MetaManifest []byte
	Proof        []byte
	// Manifests describes the Manifests written, or with Existing the
	// files verified (Manifests is then 0: none was written).
	Manifests *manifest.CreateReport
}

// verifyExisting reads the top-level Manifest once and verifies the tree
// against those bytes, which are the ones the MetaManifest will name.
func verifyExisting(ctx context.Context, dir string, opts []manifest.Option) (*manifest.CreateReport, error) {
	top, err := readTop(dir)
	if err != nil {
		return nil, err
	}
	rep, err := manifest.Verify(ctx, dir, append(opts, manifest.WithTopManifest(top))...)
	if err != nil {
		return nil, err
	}
	if err := rep.Error(); err != nil {
		return nil, fmt.Errorf("the tree does not match its own Manifests, so it is not logged: %w", err)
	}
	return &manifest.CreateReport{Top: top, Timestamp: rep.Timestamp, Files: rep.Files, Bytes: rep.Bytes}, nil
}

// Publish makes a snapshot of dir public: it creates the Manifest tree
// (or, with Existing, verifies the tree against the Manifests it has),
// signs the MetaManifest, submits it, waits for a proof under a witnessed
// checkpoint, checks it, and writes it to DIR/.treelog/MetaManifest.tlog-proof.
func (c *Client) Publish(ctx context.Context, dir string, o Options) (*Published, error) {
	var cr *manifest.CreateReport
	var err error
	if o.Existing {
		cr, err = verifyExisting(ctx, dir, o.Manifest)
	} else {
		cr, err = manifest.Create(ctx, dir, o.Manifest...)
	}
	if err != nil {
		return nil, err
	}
	if o.CheckTopManifest != nil {
		if err := o.CheckTopManifest(cr.Top); err != nil {
			return nil, fmt.Errorf("the top-level Manifest: %w", err)
		}
	}
	s := o.Signer
	if s == nil {
		s = signer.Keys(o.Signers...)
	}
	mm, err := signTop(ctx, dir, cr.Top, o.Origin, o.Commit, s)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(o.Wait)
	r, err := c.Submit(ctx, o.LogURL, mm, o.Wait)
	if err != nil {
		return nil, err
	}
	proof := r.Proof
	for proof == nil {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("logged at index %d, but no witnessed checkpoint covered it within %s; fetch the proof later with 'treelog submit --proof-only'", r.Index, o.Wait)
		}
		proof, err = c.FetchProof(ctx, o.LogURL, r.Index, min(left, 30*time.Second))
		if err != nil && time.Until(deadline) <= 0 {
			return nil, err
		}
	}
	if err := CheckProof(proof, mm, o.Policy); err != nil {
		return nil, fmt.Errorf("the log's proof does not verify: %w", err)
	}
	_, proofPath := metamanifest.Paths(dir)
	if err := atomicfile.WriteFile(proofPath, proof, 0o644); err != nil {
		return nil, err
	}
	return &Published{Index: r.Index, MetaManifest: mm, Proof: proof, Manifests: cr}, nil
}
