package client

import (
	"path/filepath"

	"treelog/internal/untrusted"
	"treelog/manifest"
	"treelog/metamanifest"
)

// CheckOpenPGP is the check of the distribution's own OpenPGP signature
// on the top-level Manifest; it runs only with Config.OpenPGP.
const CheckOpenPGP = "openpgp"

// checkOpenPGP checks that the top-level Manifest the MetaManifest pins is
// OpenPGP-signed by a key of the configured keyring. The tree check later
// reads the file again and holds it to the same pinned bytes, so the
// bytes whose signature was checked are the bytes the tree is verified
// against.
func (r *run) checkOpenPGP(dir string, mm *metamanifest.Signed) error {
	if r.cfg.OpenPGP == nil {
		return nil
	}
	top, err := untrusted.ReadFile(filepath.Join(dir, manifest.TopManifestName), int64(min(mm.ManifestSize, manifest.MaxSize)), "the top-level Manifest")
	if err != nil {
		return r.fail(failf(CheckOpenPGP, nil, "reading the top-level Manifest: %v", err))
	}
	if err := mm.CheckTopManifest(top); err != nil {
		return r.fail(failf(CheckOpenPGP, nil, "%v", err))
	}
	sig, err := r.cfg.OpenPGP.Verify(top, r.cfg.Now())
	if err != nil {
		return r.fail(failf(CheckOpenPGP, nil, "%v", err))
	}
	r.report(CheckOpenPGP, "ok", "the top-level Manifest is OpenPGP-signed: %s", sig)
	return nil
}
