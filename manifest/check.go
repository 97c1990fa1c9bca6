package manifest

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Check compares data with the entry: its size, and every hash the entry
// lists that this package computes (at least one must be). It is for a
// single file fetched from elsewhere (an auditor's spot check of a
// mirror); Verify checks whole trees.
func (e *Entry) Check(data []byte) error {
	var names []string
	for _, c := range e.Checksums {
		if Supported(c.Name) {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("%s %s: no supported hash in its entry", e.Tag, EncodePath(e.Path))
	}
	if uint64(len(data)) != e.Size {
		return fmt.Errorf("%d bytes, the Manifest lists %d", len(data), e.Size)
	}
	got := HashBytes(data, names)
	for _, c := range got {
		if e.Checksums.Get(c.Name) != c.Value {
			return fmt.Errorf("%s differs from the Manifest", c.Name)
		}
	}
	return nil
}

// OpenSub checks a sub-Manifest's bytes as stored against its MANIFEST
// entry, before anything else reads them, then decompresses (by the
// entry's file name) and parses them.
func OpenSub(e *Entry, data []byte) (*Manifest, error) {
	if e.Tag != TagManifest {
		return nil, fmt.Errorf("%s is a %s entry, not MANIFEST", EncodePath(e.Path), e.Tag)
	}
	if err := e.Check(data); err != nil {
		return nil, fmt.Errorf("sub-Manifest %s: %w", EncodePath(e.Path), err)
	}
	m, err := parseStored(e.Path, data)
	if err != nil {
		if errors.Is(err, ErrSyntax) {
			return nil, fmt.Errorf("sub-Manifest %s: %w", EncodePath(e.Path), err)
		}
		return nil, err
	}
	return m, nil
}

// Join returns the tree-relative path of an entry's file in a Manifest
// whose tree-relative path is manifestPath ("Manifest" for the top one).
func Join(manifestPath string, e *Entry) string {
	dir := path.Dir(manifestPath)
	if dir == "." {
		return e.FilePath()
	}
	return strings.TrimSuffix(dir, "/") + "/" + e.FilePath()
}
