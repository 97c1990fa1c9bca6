// Package signd is the publisher's signing daemon: it holds publisher keys
// encrypted at rest, signs only while a person has unlocked them (for a
// bounded time), and signs a MetaManifest only for a tree it reads and
// checks itself, recording every signature in an append-only journal.
// cmd/signd wires it to its sockets; docs/operations.md says how to run it.
package signd

import (
	"fmt"
	"path/filepath"
	"sort"

	"treelog/metamanifest"
	"treelog/note"
	"treelog/policy"
)

// Limits of the origins file.
const (
	MaxKeys    = 64
	MaxOrigins = 1024
)

// A Config is the daemon's origins file: which keys it holds, and for each
// origin the tree it reads and the keys that sign it. Its lines, with the
// tlog-policy file syntax ('#' comments, blank lines):
//
//	key <vkey> <encrypted key file>
//	origin <origin> <tree directory> <key name>...
//	skip-tree-verify <origin>
//
// Relative paths are relative to the file's directory.
type Config struct {
	Keys    []KeyConfig
	Origins map[string]*OriginConfig
}

// A KeyConfig is one encrypted publisher key.
type KeyConfig struct {
	// VKey is the key's verifier key; Name is its name.
	VKey, Name string
	// Hash is the key ID the vkey carries.
	Hash uint32
	// File is the encrypted secret key (from 'treelog keygen --encrypt').
	File     string
	verifier note.Verifier
}

// An OriginConfig says how one origin is signed.
type OriginConfig struct {
	Origin string
	// Dir is the tree the daemon reads (never writes) before signing.
	Dir string
	// Keys are the names of the keys that sign this origin.
	Keys []string
	// VerifyTree re-verifies every file of the tree before signing (the
	// default); otherwise only the top-level Manifest is checked.
	VerifyTree bool
}

// ParseConfig parses an origins file. dir resolves relative paths; name
// names the file in errors.
func ParseConfig(data []byte, dir, name string) (*Config, error) {
	lines, err := policy.SplitLines(data, name)
	if err != nil {
		return nil, err
	}
	c := &Config{Origins: map[string]*OriginConfig{}}
	keys := map[string]int{}
	skip := map[string]int{}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(dir, p)
	}
	for _, l := range lines {
		f := l.Fields
		errf := func(format string, args ...any) error {
			return fmt.Errorf("%s: line %d: %s", name, l.No, fmt.Sprintf(format, args...))
		}
		switch f[0] {
		case "key":
			if len(f) != 3 {
				return nil, errf("want \"key <vkey> <encrypted key file>\"")
			}
			v, err := note.NewVerifier(f[1])
			if err != nil {
				return nil, errf("%v", err)
			}
			if prev, dup := keys[v.Name()]; dup {
				return nil, errf("a key named %q is already on line %d", v.Name(), prev)
			}
			if len(c.Keys) == MaxKeys {
				return nil, errf("more than %d keys", MaxKeys)
			}
			keys[v.Name()] = l.No
			c.Keys = append(c.Keys, KeyConfig{VKey: f[1], Name: v.Name(), Hash: v.KeyHash(), File: abs(f[2]), verifier: v})
		case "origin":
			if len(f) < 4 {
				return nil, errf("want \"origin <origin> <tree directory> <key name>...\"")
			}
			if err := metamanifest.CheckOrigin(f[1]); err != nil {
				return nil, errf("%v", err)
			}
			if _, dup := c.Origins[f[1]]; dup {
				return nil, errf("origin %q is configured twice", f[1])
			}
			if len(c.Origins) == MaxOrigins {
				return nil, errf("more than %d origins", MaxOrigins)
			}
			o := &OriginConfig{Origin: f[1], Dir: abs(f[2]), VerifyTree: true}
			seen := map[string]bool{}
			for _, k := range f[3:] {
				if seen[k] {
					return nil, errf("key %q is named twice", k)
				}
				seen[k] = true
				o.Keys = append(o.Keys, k)
			}
			c.Origins[f[1]] = o
		case "skip-tree-verify":
			if len(f) != 2 {
				return nil, errf("want \"skip-tree-verify <origin>\"")
			}
			skip[f[1]] = l.No
		default:
			return nil, errf("unknown keyword %q (want key, origin or skip-tree-verify)", f[0])
		}
	}
	for _, o := range c.Origins {
		for _, k := range o.Keys {
			if _, ok := keys[k]; !ok {
				return nil, fmt.Errorf("%s: origin %q: no key named %q (a 'key' line names it by its vkey)", name, o.Origin, k)
			}
		}
	}
	for o, no := range skip {
		oc, ok := c.Origins[o]
		if !ok {
			return nil, fmt.Errorf("%s: line %d: skip-tree-verify: origin %q is not configured", name, no, o)
		}
		oc.VerifyTree = false
	}
	if len(c.Origins) == 0 {
		return nil, fmt.Errorf("%s: no origin is configured", name)
	}
	return c, nil
}

// OriginNames returns the configured origins, sorted.
func (c *Config) OriginNames() []string {
	var out []string
	for o := range c.Origins {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}
