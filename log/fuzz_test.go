package log_test

import (
	"errors"
	"testing"

	"treelog/demo/network"
	"treelog/log"
	"treelog/metamanifest"
	"treelog/trust"
)

// FuzzAdd feeds arbitrary bodies to the log's /add handling: no input may
// crash it, a refusal is a *Rejection with a 4xx code, and only a valid
// MetaManifest signed by the publisher is appended.
func FuzzAdd(f *testing.F) {
	n, err := network.Start(ctx, f.TempDir(), network.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { n.Close() })
	valid := mmF(f, n, 1)
	pubs, err := trust.ParsePublishers(readFile(f, n.PublishersFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte("treelog-metamanifest/v1\norigin example.org/tree\n\n— x AAAA\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := n.Log.Add(ctx, body)
		if err == nil {
			// Whatever was appended carries a valid publisher signature.
			if _, verr := metamanifest.Verify(body, pubs); verr != nil {
				t.Fatalf("appended an entry that does not verify: %v\n%q", verr, body)
			}
			return
		}
		var rej *log.Rejection
		if !errors.As(err, &rej) || rej.Code < 400 || rej.Code > 499 {
			t.Fatalf("refusal without a 4xx: %v", err)
		}
	})
}
