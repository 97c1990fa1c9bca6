package witness

import (
	"bytes"
	"testing"
)

// FuzzAddCheckpoint feeds request bodies to a witness with state: no input
// may crash it, every refusal has a status code, and a 200 only ever moves
// the state forward along the log's real tree.
func FuzzAddCheckpoint(f *testing.F) {
	fx := newFixture(f)
	fx.log.Grow(20)
	f.Add(fx.log.WitnessRequest(0, 5))
	f.Add(fx.log.WitnessRequest(5, 9))
	f.Add(fx.log.WitnessRequest(9, 9))
	f.Add([]byte("old 0\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		before, _ := fx.store.Log("example.org/log")
		_, err := fx.w.AddCheckpoint(body)
		after, _ := fx.store.Log("example.org/log")
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error without a status code: %v", err)
			}
			if after.Size != before.Size || !bytes.Equal(after.Checkpoint, before.Checkpoint) {
				t.Fatal("a refused request changed the state")
			}
			return
		}
		if after.Size < before.Size || after.Root != fx.log.Root(after.Size) {
			t.Fatalf("state moved from %d to %d, off the log's tree", before.Size, after.Size)
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	fx := newFixture(f)
	fx.log.Grow(10)
	f.Add(fx.log.WitnessRequest(3, 9))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body)
		if err == nil && !bytes.Equal(r.Marshal(), body) {
			t.Fatalf("round trip changed the request")
		}
	})
}
