package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"treelog/audit"
	"treelog/client"
	"treelog/demo/mirror"
	"treelog/demo/treegen"
	"treelog/internal/keyfile"
	"treelog/note"
	"treelog/trust"
)

// overlayOrigin is the tree of the key-compromise scene, governed by a
// trust root rather than the publishers file.
const overlayOrigin = "overlays.example/guru"

// newKey makes a signed-note key and keeps it under dir, as its holder
// would.
func (d *demo) newKey(dir, name string) (note.Signer, note.VerifierKey, error) {
	sk, vk, err := note.GenerateKey(nil, name, note.TypeEd25519)
	if err != nil {
		return nil, note.VerifierKey{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, note.VerifierKey{}, err
	}
	if err := keyfile.Write(filepath.Join(dir, strings.ReplaceAll(name, "/", "_")), sk, vk); err != nil {
		return nil, note.VerifierKey{}, err
	}
	s, err := note.NewSigner(sk)
	if err != nil {
		return nil, note.VerifierKey{}, err
	}
	k, err := note.ParseVerifierKey(vk)
	return s, k, err
}

// rootScene is release engineering's trust root of the key-compromise
// scene, made before the network starts so that the log and the auditor
// pin it from the start (as their operators would, once told of it).
type rootScene struct {
	holders    []note.Signer
	overlayKey note.Signer
	overlayVK  note.VerifierKey
	v1         []byte
	pinFile    string
	pin        *trust.Signed
	now        time.Time
}

// makeTrustRoot: 3 root keys, any 2 of which sign each version, kept
// offline; version 1 delegates overlays.example/* to the overlay's key
// for a year.
func (d *demo) makeTrustRoot() error {
	re := d.path("release-engineering")
	sc := &rootScene{now: time.Now().UTC().Truncate(time.Second)}
	var rootKeys []note.VerifierKey
	for i := range 3 {
		s, k, err := d.newKey(re, fmt.Sprintf("example.org/root-%d", i+1))
		if err != nil {
			return err
		}
		sc.holders, rootKeys = append(sc.holders, s), append(rootKeys, k)
	}
	var err error
	if sc.overlayKey, sc.overlayVK, err = d.newKey(d.path("overlay"), "overlays.example/release-2026"); err != nil {
		return err
	}
	v1 := &trust.Root{Name: "example.org/trust", Version: 1, Threshold: 2, Keys: rootKeys, Scope: []trust.Pattern{"overlays.example/*"},
		Delegations: []trust.Delegation{{Pattern: "overlays.example/*", Key: sc.overlayVK, NotBefore: sc.now.AddDate(0, 0, -1), Expires: sc.now.AddDate(1, 0, 0)}}}
	if sc.v1, err = trust.Sign(v1, sc.holders[0], sc.holders[1]); err != nil {
		return err
	}
	sc.pinFile = filepath.Join(re, "trustroot-v1")
	if err := os.WriteFile(sc.pinFile, sc.v1, 0o644); err != nil {
		return err
	}
	if sc.pin, err = trust.ReadPinned(sc.pinFile); err != nil {
		return err
	}
	d.root = sc
	return nil
}

// stepKeyCompromise: release engineering's trust root delegates the
// overlays to a publisher key. The key is stolen and signs a backdoored
// snapshot, which the log accepts (the key is delegated). Two root key
// holders revoke it as of the theft and delegate a new key: users refuse
// the thief's snapshot from then on and still accept the one made before
// the theft, the log refuses the thief's next one, and the auditor
// reports each change of the root.
func (d *demo) stepKeyCompromise(ctx context.Context) error {
	d.heading("6. Key compromise: a stolen publisher key, revoked through the trust root")
	sc, now := d.root, d.root.now
	overlayKey := sc.overlayKey
	// The evil mirror goes back to a genuine tree: this scene is the
	// overlay's.
	d.evil.SetDir(d.snaps[len(d.snaps)-1].Dir)
	d.printf("  Release engineering holds a trust root for overlays.example/*: 3 root keys,\n  any 2 of which sign each version, kept offline (%s). Version 1\n  delegates the overlays to the key overlays.example/release-2026 for a year.\n", d.path("release-engineering"))
	idx, err := d.submitRoot(ctx, sc.v1)
	if err != nil {
		return err
	}
	d.pins = []*trust.Signed{sc.pin}
	d.printf("  The log and the auditor pinned it (--trust-root); version 1 is logged at index %d.\n  Users pin it too, delivered once: `treelog verify --trust-root %s`.\n", idx, sc.pinFile)

	src := d.path("overlay", "src")
	if _, err := treegen.Generate(src, treegen.Options{Seed: 7, Packages: 12}); err != nil {
		return err
	}
	good, err := d.net.PublishTree(ctx, src, d.path("overlay", "before-theft"), overlayOrigin, now.Add(-50*time.Minute), overlayKey)
	if err != nil {
		return fmt.Errorf("publishing the overlay: %w", err)
	}
	d.printf("  The overlay publishes a snapshot (TIMESTAMP 50 minutes ago), logged at index %d.\n", good.Index)
	overlayMirror, evilOverlay := mirror.NewServer(good.Dir), mirror.NewServer(good.Dir)
	if _, err := d.serve("overlay mirror", overlayMirror); err != nil {
		return err
	}
	if _, err := d.serve("evil overlay mirror", evilOverlay); err != nil {
		return err
	}
	if _, err := d.verify(ctx, "6-compromise", d.user("Erin"), "overlay mirror", ""); err != nil {
		d.steps = append(d.steps, stepResult{name: "6 overlay before the theft", issue: "refused: " + err.Error()})
	} else {
		d.steps = append(d.steps, stepResult{name: "6 overlay before the theft", ok: true})
	}
	if err := d.audit(ctx, "6 trust root version 1", audit.AlertSplitView, audit.AlertTrustRootChange); err != nil {
		return err
	}

	// The theft.
	d.printf("\n  40 minutes ago the overlay's key was stolen. The thief signs a backdoored snapshot\n  (TIMESTAMP 30 minutes ago); the log accepts it: the key is still delegated.\n")
	stolenSrc := d.path("evil", "stolen-src")
	if _, err := tamper(src, stolenSrc); err != nil {
		return err
	}
	stolen, err := d.net.PublishTree(ctx, stolenSrc, d.path("evil", "stolen"), overlayOrigin, now.Add(-30*time.Minute), overlayKey)
	if err != nil {
		return fmt.Errorf("publishing the thief's snapshot: %w", err)
	}
	evilOverlay.SetDir(stolen.Dir)
	d.printf("  It is logged at index %d, where every auditor can see it.\n", stolen.Index)

	// The revocation.
	stolenKey := overlayKey
	v2, err := d.nextRoot(sc.v1, func(r *trust.Root) error {
		newS, newK, err := d.newKey(d.path("overlay"), "overlays.example/release-2026b")
		if err != nil {
			return err
		}
		overlayKey = newS
		r.Delegations = []trust.Delegation{{Pattern: "overlays.example/*", Key: newK, NotBefore: now.AddDate(0, 0, -1), Expires: now.AddDate(1, 0, 0)}}
		r.Revocations = []trust.Revocation{{Key: sc.overlayVK, Time: now.Add(-40 * time.Minute)}}
		return nil
	}, sc.holders[1], sc.holders[2])
	if err != nil {
		return err
	}
	if idx, err = d.submitRoot(ctx, v2); err != nil {
		return err
	}
	d.printf("\n  The overlay reports the theft. Two of the three root key holders sign version 2,\n  each on their own machine (`treelog root revoke`, `treelog root sign`): the key is\n  revoked as of 40 minutes ago, a new key delegated. Logged at index %d.\n", idx)
	if err := d.audit(ctx, "6 trust root version 2", audit.AlertSplitView, audit.AlertTrustRootChange); err != nil {
		return err
	}
	_, err = d.verify(ctx, "6-compromise", d.user("Erin"), "evil overlay mirror", "")
	d.expectRefused("6 stolen key's snapshot, after the revocation", err, client.CheckTrustRoot)
	d.printf("\n  The thief's snapshot is newer than the overlay's last genuine one, but no longer\n  counts: Frank, syncing the honest overlay mirror, is not told his tree is replayed.\n")
	if _, err := d.verify(ctx, "6-compromise", d.user("Frank"), "overlay mirror", ""); err != nil {
		d.steps = append(d.steps, stepResult{name: "6 snapshot from before the theft still verifies", issue: "refused: " + err.Error()})
	} else {
		d.steps = append(d.steps, stepResult{name: "6 snapshot from before the theft still verifies", ok: true})
	}
	_, err = d.net.PublishTree(ctx, stolenSrc, d.path("evil", "stolen-2"), overlayOrigin, now.Add(-5*time.Minute), stolenKey)
	d.printf("\n  The thief tries again with the stolen key:\n    %v\n", err)
	if err != nil && strings.Contains(err.Error(), "rule revoked") {
		d.steps = append(d.steps, stepResult{name: "6 the log refuses the stolen key", ok: true})
	} else {
		d.steps = append(d.steps, stepResult{name: "6 the log refuses the stolen key", issue: fmt.Sprintf("the log answered %v", err)})
	}
	fresh, err := d.net.PublishTree(ctx, src, d.path("overlay", "new-key"), overlayOrigin, now, overlayKey)
	if err != nil {
		return fmt.Errorf("publishing with the new key: %w", err)
	}
	overlayMirror.SetDir(fresh.Dir)
	d.printf("\n  The overlay publishes with its new key (index %d):\n", fresh.Index)
	if res, err := d.verify(ctx, "6-new-key", d.user("Erin"), "overlay mirror", ""); err != nil || res.TrustRoot != "example.org/trust version 2" {
		d.steps = append(d.steps, stepResult{name: "6 the new key", issue: fmt.Sprintf("%v", err)})
	} else {
		d.steps = append(d.steps, stepResult{name: "6 the new key", ok: true})
	}
	return nil
}

// nextRoot makes the version after prev, changed by f, signed by holders.
func (d *demo) nextRoot(prev []byte, f func(*trust.Root) error, holders ...note.Signer) ([]byte, error) {
	p, err := trust.Parse(prev)
	if err != nil {
		return nil, err
	}
	r := *p.Root
	r.Version++
	r.Previous = p.Hash()
	if err := f(&r); err != nil {
		return nil, err
	}
	return trust.Sign(&r, holders...)
}

// submitRoot logs a trust-root version and waits for its witnessed proof.
func (d *demo) submitRoot(ctx context.Context, v []byte) (uint64, error) {
	a, err := d.net.Log.Add(ctx, v)
	if err != nil {
		return 0, fmt.Errorf("logging a trust-root version: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := d.net.Log.Proof(wctx, a.Index); err != nil {
		return 0, fmt.Errorf("waiting for the trust-root version's proof: %w", err)
	}
	return a.Index, nil
}
