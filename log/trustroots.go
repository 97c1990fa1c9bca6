package log

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"treelog/tiles"
	"treelog/trust"
)

// trustRoots is the log's side of the trust roots it serves: the pinned
// versions its operator configured, and each root's chain as logged.
type trustRoots struct {
	// mu orders decisions: held for reading while a MetaManifest is
	// judged and appended, for writing while a trust-root version is, so
	// that the log's order is the order in which it decided.
	mu sync.RWMutex

	cfgMu  sync.Mutex
	pins   map[string]*trust.Signed
	chains map[string]*trust.Chain // cache of the logged chains
}

// rootKey is the origin index's key for a trust root's latest version
// (whose order is its version number). No origin has a space in it.
func rootKey(name string) string { return "trustroot " + name }

// SetTrustRoots replaces the pinned trust roots (on reload). Two roots
// may not have one name, or scopes that overlap.
func (s *Server) SetTrustRoots(pins []*trust.Signed) error {
	m := map[string]*trust.Signed{}
	for _, p := range pins {
		if _, dup := m[p.Name]; dup {
			return fmt.Errorf("trust roots: two pinned roots are named %s", p.Name)
		}
		for _, o := range m {
			if err := checkOverlap(p.Root, o.Root); err != nil {
				return fmt.Errorf("trust roots: %w", err)
			}
		}
		m[p.Name] = p
	}
	r := &s.roots
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfgMu.Lock()
	defer r.cfgMu.Unlock()
	old := r.chains
	r.pins, r.chains = m, map[string]*trust.Chain{}
	for name, c := range old {
		if p, ok := m[name]; ok && string(p.Raw) == string(c.Pin.Raw) {
			r.chains[name] = c
		}
	}
	return nil
}

func checkOverlap(a, b *trust.Root) error {
	for _, p := range a.Scope {
		for _, q := range b.Scope {
			if p.Overlaps(q) {
				return fmt.Errorf("rule %s: the scope %s of %s overlaps the scope %s of %s", trust.RuleScopeOverlap, p, a.Name, q, b.Name)
			}
		}
	}
	return nil
}

func (s *Server) pins() map[string]*trust.Signed {
	s.roots.cfgMu.Lock()
	defer s.roots.cfgMu.Unlock()
	return s.roots.pins
}

// authority returns the trust roots' chains as logged, and the
// publishers file.
func (s *Server) authority(ctx context.Context) (*trust.Authority, error) {
	a := &trust.Authority{Publishers: s.pubs.Load()}
	for name := range s.pins() {
		c, err := s.chain(ctx, name)
		if err != nil {
			return nil, err
		}
		a.Chains = append(a.Chains, c)
	}
	return a, nil
}

// chain returns root name's chain as logged: the cached one if the
// origin index's latest version is its latest, else read back from the
// log (after a restart, or when another log process logged a version),
// each step checked again. Callers hold roots.mu.
func (s *Server) chain(ctx context.Context, name string) (*trust.Chain, error) {
	r := &s.roots
	r.cfgMu.Lock()
	pin, cached := r.pins[name], r.chains[name]
	r.cfgMu.Unlock()
	if pin == nil {
		return nil, fmt.Errorf("no trust root %s", name)
	}
	latest, unlock, err := s.index.Lock(ctx, rootKey(name))
	if err != nil {
		return nil, err
	}
	unlock()
	if latest.Pending {
		return nil, reject(503, "contended", "a version of trust root %s is being logged right now; try again", name)
	}
	if cached == nil {
		cached = trust.NewChain(pin)
	}
	if l := cached.Latest(); !latest.Found || (l != nil && l.Index == latest.Index) {
		return cached, nil
	}
	// Read back from the latest version to the cached one (or the pin).
	type logged struct {
		index uint64
		entry []byte
	}
	var back []logged
	idx := latest.Index
	for {
		e, err := s.readEntry(ctx, idx)
		if err != nil {
			return nil, fmt.Errorf("reading trust root %s's version at index %d: %w", name, idx, err)
		}
		d, err := trust.Parse(e)
		if err != nil {
			return nil, fmt.Errorf("trust root %s's version at index %d: %w", name, idx, err)
		}
		back = append(back, logged{idx, e})
		if l := cached.Latest(); d.Version <= pin.Version || (l != nil && d.Version <= l.Version+1) {
			break
		}
		prev, ok, err := s.index.Lookup(ctx, d.Previous)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("trust root %s: the version before %d (hash %s) is not in the log", name, d.Version, hex.EncodeToString(d.Previous[:]))
		}
		idx = prev
	}
	c := cached.Clone()
	for i := len(back) - 1; i >= 0; i-- {
		d, _ := trust.Parse(back[i].entry)
		if d.Version < pin.Version {
			continue // logged before the pinned version
		}
		if _, err := c.Append(back[i].entry, back[i].index); err != nil {
			return nil, fmt.Errorf("trust root %s as logged: %w", name, err)
		}
	}
	r.cfgMu.Lock()
	if r.pins[name] == pin {
		r.chains[name] = c
	}
	r.cfgMu.Unlock()
	return c, nil
}

// readEntry reads one entry of the log, waiting a little for it to be
// integrated: another log process may have sequenced it a moment ago.
func (s *Server) readEntry(ctx context.Context, index uint64) ([]byte, error) {
	size, err := s.integratedBeyond(ctx, index)
	if err != nil {
		return nil, err
	}
	b := index / tiles.TileWidth
	w, _ := tiles.BundleWidth(b, size)
	data, err := s.reader.ReadEntryBundle(ctx, b, w)
	if err != nil {
		return nil, err
	}
	n := tiles.TileWidth
	if w > 0 {
		n = int(w)
	}
	entries, err := tiles.ParseEntryBundle(data, n)
	if err != nil {
		return nil, err
	}
	return entries[index%tiles.TileWidth], nil
}

// integratedBeyond returns the log's integrated size once it covers
// index. It waits for up to a few checkpoint intervals (integration
// follows sequencing by about one), then asks the submitter to try again.
func (s *Server) integratedBeyond(ctx context.Context, index uint64) (uint64, error) {
	deadline := time.Now().Add(3*s.cfg.CheckpointInterval + s.cfg.BatchMaxAge + time.Second)
	for {
		size, err := s.reader.IntegratedSize(ctx)
		if err != nil {
			return 0, err
		}
		if index < size {
			return size, nil
		}
		if time.Now().After(deadline) {
			return 0, reject(503, "contended", "entry %d, logged by another log process, is not integrated yet (size %d); try again", index, size)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// addTrustRoot admits a trust-root version: of a root this log serves
// (pinned by its operator); the pinned version itself first, then only
// the version after the latest logged one, certified by it (trust.Chain);
// its scope clear of the other roots'. A second, different version N is a
// fork and is refused (409); so is a gap.
func (s *Server) addTrustRoot(ctx context.Context, body []byte) (Added, error) {
	if len(body) > trust.MaxSize {
		return Added{}, reject(413, "too_large", "trust root is %d bytes, over the limit of %d", len(body), trust.MaxSize)
	}
	d, err := trust.Parse(body)
	if err != nil {
		return Added{}, reject(400, "malformed", "%v", err)
	}
	pins := s.pins()
	if pins[d.Name] == nil {
		return Added{}, reject(403, "unauthorized", "rule %s: this log serves no trust root named %s (its operator pins the roots it serves)", trust.RulePinned, d.Name)
	}
	s.roots.mu.Lock()
	defer s.roots.mu.Unlock()
	c, err := s.chain(ctx, d.Name)
	if err != nil {
		return Added{}, err
	}
	if v, ok := c.Logged(body); ok {
		return Added{Index: v.Index, Duplicate: true}, nil
	}
	next, err := c.Check(body)
	if err != nil {
		return Added{}, rootRejection(err)
	}
	for name := range pins {
		if name == d.Name {
			continue
		}
		o, err := s.chain(ctx, name)
		if err != nil {
			return Added{}, err
		}
		cur := o.Pin
		if l := o.Latest(); l != nil {
			cur = l.Signed
		}
		if err := checkOverlap(next.Root, cur.Root); err != nil {
			return Added{}, reject(409, "scope_overlap", "%s: %v", next.Describe(), err)
		}
	}
	prevIndex, hasPrev := uint64(0), c.Latest() != nil
	if hasPrev {
		prevIndex = c.Latest().Index
	}
	a, err := s.sequence(ctx, rootKey(d.Name), time.Unix(int64(next.Version), 0), body, func(l Latest) error {
		if l.Found != hasPrev || (hasPrev && l.Index != prevIndex) {
			return reject(503, "contended", "trust root %s changed while this version was checked; try again", d.Name)
		}
		return nil
	})
	if err != nil {
		return a, err
	}
	// Readers may hold the cached chain: grow a copy.
	c = c.Clone()
	if _, err := c.Append(body, a.Index); err != nil {
		return a, fmt.Errorf("recording %s: %w", next.Describe(), err)
	}
	s.roots.cfgMu.Lock()
	if s.roots.pins[d.Name] == pins[d.Name] {
		s.roots.chains[d.Name] = c
	}
	s.roots.cfgMu.Unlock()
	s.cfg.Log.Info("logged trust root", "root", d.Name, "version", next.Version, "index", a.Index, "signers", len(next.Note.Sigs))
	return a, nil
}

// rootRejection answers a version that does not chain: 403 when the
// signatures do not certify it, 409 when it conflicts with the log.
func rootRejection(err error) *Rejection {
	var fe *trust.ForkError
	switch rule := trust.RuleOf(err); {
	case errors.As(err, &fe):
		return reject(409, "fork", "%v", err)
	case rule == trust.RuleSignature || rule == trust.RuleSignedByOwn || rule == trust.RuleSignedByPrevious || rule == trust.RulePinned:
		return reject(403, "unauthorized", "%v", err)
	case rule == "grammar" || rule == "":
		return reject(400, "malformed", "%v", err)
	default:
		return reject(409, "trust_root_chain", "%v", err)
	}
}

// serveTrustRoot serves GET /trustroot/<SHA-256 of the name>?from=N: the
// logged versions of a root this log serves, from version N on, each with
// its inclusion proof under the latest published checkpoint
// (trust.Versions), a page at a time.
func (s *Server) serveTrustRoot(w http.ResponseWriter, r *http.Request) {
	var name string
	for n := range s.pins() {
		if h := sha256.Sum256([]byte(n)); hex.EncodeToString(h[:]) == r.PathValue("hash") {
			name = n
		}
	}
	if name == "" {
		http.Error(w, "this log serves no such trust root", http.StatusNotFound)
		return
	}
	from := uint64(1)
	if f := r.URL.Query().Get("from"); f != "" {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			http.Error(w, "from: want a version number", http.StatusBadRequest)
			return
		}
		from = n
	}
	raw, cp, ok := s.Published()
	if !ok {
		http.Error(w, "no checkpoint published yet", http.StatusNotFound)
		return
	}
	s.roots.mu.RLock()
	c, err := s.chain(r.Context(), name)
	s.roots.mu.RUnlock()
	// c is never changed once cached (addTrustRoot grows a copy).
	if err != nil {
		s.cfg.Log.Error("reading a trust root's chain", "root", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v := &trust.Versions{Root: name, Checkpoint: raw}
	size := 0
	for _, ver := range c.Versions {
		if ver.Version < from || ver.Index >= cp.Size {
			continue
		}
		if len(v.Entries) == trust.MaxVersionsPerPage || size > trust.MaxVersionsSize/2 {
			v.Next = ver.Version
			break
		}
		proof, err := s.prover.InclusionProof(r.Context(), cp, ver.Index)
		if err != nil {
			s.cfg.Log.Error("proving a trust-root version", "root", name, "index", ver.Index, "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		v.Entries = append(v.Entries, trust.LoggedVersion{Version: ver.Version, Index: ver.Index, Proof: proof, Entry: ver.Raw})
		size += len(ver.Raw) + 45*len(proof) + 64
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(v.Marshal())
}
