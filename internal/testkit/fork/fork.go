// Package fork builds what a log that equivocates shows its victims: a
// real tlog-tiles tree (tessera's POSIX layout, written by tessera) of the
// entries the attacker chooses, whose checkpoint is signed with the log's
// key and cosigned with the witness keys the attacker holds, at the times
// it picks; and tlog-proofs into it. Tests serve it over HTTP as a log or
// a log mirror, and put its proofs on evil tree mirrors.
package fork

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"treelog/checkpoint"
	"treelog/internal/testkit/synthlog"
	"treelog/note"
	"treelog/tiles"
)

// A Log is a forked log on disk.
type Log struct {
	Dir string
	// Checkpoint is its cosigned checkpoint, also in Dir/checkpoint.
	Checkpoint []byte
	Size       uint64
}

// Build writes a log of entries in dir, signed with log's key, and
// cosigns its checkpoint with each witness key (cosignature/v1 signers)
// at the time given.
func Build(ctx context.Context, dir string, log note.Signer, entries [][]byte, witnesses []note.Signer, at time.Time) (*Log, error) {
	if err := synthlog.Append(ctx, dir, log, entries); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		return nil, err
	}
	n, err := note.Parse(raw)
	if err != nil {
		return nil, err
	}
	for _, w := range witnesses {
		c, ok := w.(*note.Cosigner)
		if !ok {
			return nil, fmt.Errorf("%s is not a witness (cosignature/v1) key", w.Name())
		}
		sig, err := c.SignAt([]byte(n.Text), at)
		if err != nil {
			return nil, err
		}
		if raw, err = note.AppendSignatures(raw, note.NewSignature(c.Name(), c.KeyHash(), sig)); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "checkpoint"), raw, 0o644); err != nil {
		return nil, err
	}
	cp, err := checkpoint.ParseText(n.Text)
	if err != nil {
		return nil, err
	}
	return &Log{Dir: dir, Checkpoint: raw, Size: cp.Size}, nil
}

// Handler serves the log's tiles, entry bundles and checkpoint.
func (l *Log) Handler() http.Handler { return http.FileServer(http.Dir(l.Dir)) }

// Proof returns a c2sp.org/tlog-proof of the entry at index under the
// log's checkpoint.
func (l *Log) Proof(ctx context.Context, index uint64) ([]byte, error) {
	n, err := note.Parse(l.Checkpoint)
	if err != nil {
		return nil, err
	}
	cp, err := checkpoint.ParseText(n.Text)
	if err != nil {
		return nil, err
	}
	incl, err := tiles.NewProver(Dir(l.Dir), 0).InclusionProof(ctx, cp, index)
	if err != nil {
		return nil, err
	}
	return (&checkpoint.Proof{Index: index, Inclusion: incl, Checkpoint: l.Checkpoint}).Marshal(), nil
}

// Entries returns the first n entries of the POSIX log in dir (a real
// log's, to build a fork that shares its prefix).
func Entries(ctx context.Context, dir string, n uint64) ([][]byte, error) {
	var out [][]byte
	for b := uint64(0); b*tiles.TileWidth < n; b++ {
		w, _ := tiles.BundleWidth(b, n)
		data, err := Dir(dir).ReadEntryBundle(ctx, b, w)
		if err != nil { // the log may since have filled the bundle
			if data, err = Dir(dir).ReadEntryBundle(ctx, b, 0); err != nil {
				return nil, err
			}
		}
		es, err := tiles.ParseEntryBundle(data, countEntries(data))
		if err != nil {
			return nil, err
		}
		out = append(out, es[:min(uint64(len(es)), n-uint64(len(out)))]...)
	}
	return out, nil
}

// countEntries counts the length-prefixed entries of a bundle.
func countEntries(data []byte) int {
	n := 0
	for len(data) >= 2 {
		l := int(data[0])<<8 | int(data[1])
		if len(data) < 2+l {
			break
		}
		data = data[2+l:]
		n++
	}
	return n
}

// Dir reads a POSIX log directory as a tiles.Reader.
type Dir string

func (d Dir) read(p string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(string(d), filepath.FromSlash(p)))
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%s: %w", p, tiles.ErrNotFound)
	}
	return b, err
}

// ReadCheckpoint reads the checkpoint.
func (d Dir) ReadCheckpoint(context.Context) ([]byte, error) { return d.read("checkpoint") }

// ReadTile reads a tile.
func (d Dir) ReadTile(_ context.Context, level, index uint64, width uint8) ([]byte, error) {
	return d.read(tiles.TilePath(level, index, width))
}

// ReadEntryBundle reads an entry bundle.
func (d Dir) ReadEntryBundle(_ context.Context, index uint64, width uint8) ([]byte, error) {
	return d.read(tiles.EntriesPath(index, width))
}
