package audit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"

	"treelog/internal/untrusted"
	"treelog/manifest"
	"treelog/metamanifest"
)

// maxFileEvidence bounds the bytes of a served file kept as evidence.
const maxFileEvidence = 1 << 20

// maxFileFetch bounds a file fetched for a check; larger ones are not
// sampled (a tree's files are small; distfiles are not in it).
const maxFileFetch = 64 << 20

// maxDescent bounds the Manifest levels one sample walks down (a Gentoo
// tree has three).
const maxDescent = 8

// errNotFound marks a 404 (a file the Manifests list is not served: a
// problem of the tree); errUnavailable a fetch that got nothing to judge
// (the network, a timeout, another HTTP error: an outage, never a
// problem of the tree); untrusted.ErrTooLarge a body over the limit.
var (
	errNotFound    = errors.New("not found")
	errUnavailable = errors.New("unavailable")
)

// fileProblem is a file a mirror serves that its Manifests do not describe.
type fileProblem struct {
	path     string
	detail   string
	manifest []byte // the Manifest that lists it, as served
	served   []byte // what the mirror served (bounded), if anything
}

// manifestTree fetches a mirror's Manifests on demand, each checked
// against its parent's MANIFEST entry, and caches them for one pass.
type manifestTree struct {
	a     *Auditor
	base  string
	cache map[string]loadedManifest
}

type loadedManifest struct {
	m   *manifest.Manifest
	raw []byte
}

// checkFiles spot-checks the tree a mirror serves against the MetaManifest
// it serves: n files, each found by a random walk down the Manifest tree
// (a few requests a file, whatever the tree's size), or every file if
// n < 0. Problems are files that differ or are missing; err is for a
// mirror that cannot be read (or whose Manifests are not the ones the
// MetaManifest names: also a problem).
func (a *Auditor) checkFiles(ctx context.Context, base string, mm *metamanifest.MetaManifest, n int) (checked int, problems []fileProblem, err error) {
	var outage error // a file that could not be fetched: the check is incomplete
	defer func() {
		if err == nil && outage != nil {
			err = outage
		}
	}()
	top, err := a.get(ctx, base+"/"+manifest.TopManifestName, int(min(mm.ManifestSize, manifest.MaxSize)))
	if err != nil {
		return 0, nil, fmt.Errorf("reading its top-level Manifest: %w", err)
	}
	if err := mm.CheckTopManifest(top); err != nil {
		return 0, []fileProblem{{path: manifest.TopManifestName, detail: err.Error(), served: top}}, nil
	}
	root, err := manifest.Parse(top)
	if err != nil {
		return 0, nil, err
	}
	t := &manifestTree{a: a, base: base, cache: map[string]loadedManifest{manifest.TopManifestName: {root, top}}}
	check := func(mpath string, e *manifest.Entry) {
		checked++
		p := manifest.Join(mpath, e)
		if e.Tag == manifest.TagManifest {
			if _, err := t.load(ctx, mpath, e); errors.Is(err, errUnavailable) {
				outage = err
			} else if err != nil {
				problems = append(problems, fileProblem{path: p, detail: err.Error(), manifest: t.cache[mpath].raw})
			}
			return
		}
		if e.Size > maxFileFetch {
			checked--
			return
		}
		data, err := t.fetch(ctx, p, int(e.Size))
		switch {
		case errors.Is(err, errUnavailable):
			outage = err
		case errors.Is(err, errNotFound):
			problems = append(problems, fileProblem{path: p, detail: "listed in the Manifest, but the mirror does not serve it", manifest: t.cache[mpath].raw})
		case errors.Is(err, untrusted.ErrTooLarge):
			problems = append(problems, fileProblem{path: p, detail: fmt.Sprintf("larger than the %d bytes the Manifest lists", e.Size), manifest: t.cache[mpath].raw})
		case err != nil:
			problems = append(problems, fileProblem{path: p, detail: err.Error()})
		default:
			if cerr := e.Check(data); cerr != nil {
				problems = append(problems, fileProblem{path: p, detail: cerr.Error(), manifest: t.cache[mpath].raw, served: data[:min(len(data), maxFileEvidence)]})
			}
		}
	}
	if n < 0 {
		err = t.walk(ctx, manifest.TopManifestName, root, check)
		return checked, problems, err
	}
	for range n {
		if err := ctx.Err(); err != nil {
			return checked, problems, err
		}
		mpath, m := manifest.TopManifestName, root
		for depth := 0; depth < maxDescent; depth++ {
			files := fileEntries(m)
			if len(files) == 0 {
				break
			}
			e := files[rand.IntN(len(files))]
			if e.Tag != manifest.TagManifest || depth == maxDescent-1 {
				check(mpath, e)
				break
			}
			sub, err := t.load(ctx, mpath, e)
			if errors.Is(err, errUnavailable) {
				outage = err
				break
			}
			if err != nil {
				checked++
				problems = append(problems, fileProblem{path: manifest.Join(mpath, e), detail: err.Error(), manifest: t.cache[mpath].raw})
				break
			}
			mpath, m = manifest.Join(mpath, e), sub
		}
	}
	return checked, problems, nil
}

// walk checks every file under the Manifest m at mpath.
func (t *manifestTree) walk(ctx context.Context, mpath string, m *manifest.Manifest, check func(string, *manifest.Entry)) error {
	for _, e := range fileEntries(m) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.Tag != manifest.TagManifest {
			check(mpath, e)
			continue
		}
		sub, err := t.load(ctx, mpath, e)
		if err != nil {
			check(mpath, e) // records the problem, or the outage
			continue
		}
		if err := t.walk(ctx, manifest.Join(mpath, e), sub, check); err != nil {
			return err
		}
	}
	return nil
}

func fileEntries(m *manifest.Manifest) []*manifest.Entry {
	var out []*manifest.Entry
	for i := range m.Entries {
		if m.Entries[i].IsFile() {
			out = append(out, &m.Entries[i])
		}
	}
	return out
}

// load fetches the sub-Manifest e of the Manifest at mpath, checked.
func (t *manifestTree) load(ctx context.Context, mpath string, e *manifest.Entry) (*manifest.Manifest, error) {
	p := manifest.Join(mpath, e)
	if l, ok := t.cache[p]; ok {
		return l.m, nil
	}
	raw, err := t.fetch(ctx, p, int(min(e.Size, manifest.MaxSize)))
	if errors.Is(err, errNotFound) {
		return nil, errors.New("listed in the Manifest, but the mirror does not serve it")
	}
	if err != nil {
		return nil, err
	}
	m, err := manifest.OpenSub(e, raw)
	if err != nil {
		return nil, err
	}
	t.cache[p] = loadedManifest{m, raw}
	return m, nil
}

// fetch reads a tree file from the mirror, at most limit bytes.
func (t *manifestTree) fetch(ctx context.Context, p string, limit int) ([]byte, error) {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return t.a.get(ctx, t.base+"/"+strings.Join(segs, "/"), limit)
}
