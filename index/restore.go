package index

import (
	"context"
	"fmt"
)

// Restore returns a replayer at the index entry e (whose files f serves),
// read from those files rather than replayed from the log: how a log
// server resumes building its index. Apply the log's entries from
// e.Size on; the first index entry met is then e itself, and is checked.
func Restore(ctx context.Context, f Fetcher, e *Entry, opts ...ReplayOption) (*Replayer, error) {
	r := NewReplayer(opts...)
	if e.Size > 0 {
		r.next, r.last, r.hasLast = e.Size, e.Size-1, true
	}
	if err := r.restore(ctx, f, e.Root, 0); err != nil {
		return nil, err
	}
	if got := r.trie.Root(); got != e.Root {
		return nil, fmt.Errorf("restoring the index: its files make root %s, not the entry's %s", encodeHash(got), encodeHash(e.Root))
	}
	return r, nil
}

func (r *Replayer) restore(ctx context.Context, f Fetcher, h Hash, depth int) error {
	if depth >= 2*HashSize {
		return fmt.Errorf("restoring the index: trie deeper than %d levels", 2*HashSize)
	}
	n, _, err := FetchNode(ctx, f, h)
	if err != nil {
		return fmt.Errorf("restoring the index: %w", err)
	}
	for _, c := range n.Children {
		switch c.Kind {
		case ChildLeaf:
			ch, _, err := FetchChunk(ctx, f, c.Value)
			if err != nil {
				return fmt.Errorf("restoring the index: %w", err)
			}
			if KeyOf(ch.Origin) != c.Key {
				return fmt.Errorf("restoring the index: chunk %s of %q is under another key", c.Value, ch.Origin)
			}
			r.origins[ch.Origin] = &OriginState{Committed: c.Value, InTrie: true, Last: c.Value, Seq: ch.Last().Seq, Newest: ch.Last(), Latest: ch.Last()}
			r.trie.Set(c.Key, c.Value)
		case ChildNode:
			if err := r.restore(ctx, f, c.Node, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
