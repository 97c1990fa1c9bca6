// Package testnet starts a whole treelog network in one process, on
// loopback, in a directory: a log (tessera POSIX storage), witnesses
// (SQLite), and the keys, policy and publishers files that tie them
// together. Tests and `treelog demo` use it; nothing here is a fake: the
// parts are the real ones, talking HTTP.
package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"treelog/internal/keyfile"
	"treelog/internal/klogslog"
	"treelog/log"
	"treelog/note"
	"treelog/policy"
	"treelog/trust"
	"treelog/witness"
)

// Options size the network.
type Options struct {
	// Witnesses and Quorum: a Quorum-of-Witnesses policy (default 2 of 3).
	Witnesses, Quorum int
	// LogOrigin names the log (default "log.treelog.example").
	LogOrigin string
	// TreeOrigin is the tree its publisher may publish (default
	// "example.org/tree").
	TreeOrigin string
	// CheckpointInterval and RepublishInterval for the log (defaults 200ms
	// and 2s, fast so that tests and the demo do not wait).
	CheckpointInterval, RepublishInterval time.Duration
	// ShutdownTimeout bounds the log's graceful stop (default 60s).
	ShutdownTimeout time.Duration
	// IndexInterval and IndexRefresh for the log's index (defaults 500ms
	// and 5s; a negative IndexInterval: the log keeps no index).
	IndexInterval, IndexRefresh time.Duration
	// Log receives the parts' logs (default: discarded).
	Log *slog.Logger
	// Now is the log server's clock (default time.Now).
	Now func() time.Time
	// TrustRoots are the pinned trust roots (signed versions) the log
	// serves; AddTrustRoot pins more while it runs.
	TrustRoots [][]byte
}

// A Witness is one running witness.
type Witness struct {
	Name    string
	VKey    string
	URL     string
	Store   *witness.Store
	Witness *witness.Witness
	srv     *http.Server
}

// Network is a running log with its witnesses.
type Network struct {
	Dir           string
	Opts          Options
	LogSigner     note.Signer
	LogVKey       string
	Publisher     note.Signer
	PublisherVKey string
	Witnesses     []*Witness
	Log           *log.Server
	LogURL        string
	// PolicyFile, PublishersFile and WitnessPolicyFile are written in Dir:
	// what a user, the log and an auditor are configured with.
	PolicyFile, PublishersFile, WitnessPolicyFile string
	logSrv                                        *http.Server
	storage                                       *log.Storage
}

// serve starts h on a loopback port and returns its base URL.
func serve(h http.Handler) (*http.Server, string, error) { return serveAt("127.0.0.1:0", h) }

// serveAt starts h on addr and returns its base URL.
func serveAt(addr string, h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return srv, "http://" + ln.Addr().String(), nil
}

// Start creates keys and files in dir and starts the witnesses and the log.
func Start(ctx context.Context, dir string, o Options) (*Network, error) {
	if o.Witnesses == 0 {
		o.Witnesses, o.Quorum = 3, 2
	}
	if o.LogOrigin == "" {
		o.LogOrigin = "log.treelog.example"
	}
	if o.TreeOrigin == "" {
		o.TreeOrigin = "example.org/tree"
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = 200 * time.Millisecond
	}
	if o.RepublishInterval == 0 {
		o.RepublishInterval = 2 * time.Second
	}
	if o.IndexInterval == 0 {
		o.IndexInterval = 500 * time.Millisecond
	}
	if o.IndexRefresh == 0 {
		o.IndexRefresh = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	// tessera logs through klog; send it where the rest goes.
	klogslog.Use(o.Log.With("part", "tessera"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	n := &Network{Dir: dir, Opts: o}
	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()
	var err error
	if n.LogSigner, n.LogVKey, err = newKey(dir, "log", o.LogOrigin, note.TypeEd25519); err != nil {
		return nil, err
	}
	if n.Publisher, n.PublisherVKey, err = newKey(dir, "publisher", "publisher.treelog.example", note.TypeEd25519); err != nil {
		return nil, err
	}
	var wpolicy strings.Builder
	var names []string
	for i := range o.Witnesses {
		name := fmt.Sprintf("w%d", i+1)
		w, err := n.startWitness(name)
		if err != nil {
			return nil, err
		}
		n.Witnesses = append(n.Witnesses, w)
		names = append(names, name)
		fmt.Fprintf(&wpolicy, "witness %s %s %s\n", name, w.VKey, w.URL)
	}
	fmt.Fprintf(&wpolicy, "group q %d %s\nquorum q\n", o.Quorum, strings.Join(names, " "))
	n.PolicyFile = filepath.Join(dir, "policy")
	n.WitnessPolicyFile = filepath.Join(dir, "witness-policy")
	n.PublishersFile = filepath.Join(dir, "publishers")
	files := map[string]string{
		n.WitnessPolicyFile: wpolicy.String(),
		n.PublishersFile:    fmt.Sprintf("publisher %s %s\n", o.TreeOrigin, n.PublisherVKey),
	}
	for p, c := range files {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			return nil, err
		}
	}
	if err := n.StartLog(ctx); err != nil {
		return nil, err
	}
	ok = true
	return n, nil
}

func newKey(dir, prefix, name string, typ byte) (note.Signer, string, error) {
	skey, vkey, err := note.GenerateKey(nil, name, typ)
	if err != nil {
		return nil, "", err
	}
	if err := keyfile.Write(filepath.Join(dir, prefix), skey, vkey); err != nil {
		return nil, "", err
	}
	s, err := note.NewSigner(skey)
	return s, vkey, err
}

func (n *Network) startWitness(name string) (*Witness, error) {
	s, vk, err := newKey(n.Dir, name, "witness.treelog.example/"+name, note.TypeCosignatureV1)
	if err != nil {
		return nil, err
	}
	store, err := witness.OpenStore(filepath.Join(n.Dir, name+".db"))
	if err != nil {
		return nil, err
	}
	keys, err := policy.ParseLogList([]byte("log " + n.LogVKey + "\n"))
	if err != nil {
		return nil, err
	}
	if _, _, err := store.AddLogs(keys); err != nil {
		return nil, err
	}
	w, err := witness.New(s, store, witness.WithLogger(n.Opts.Log.With("part", name)))
	if err != nil {
		return nil, err
	}
	srv, url, err := serve(w.Handler())
	if err != nil {
		return nil, err
	}
	return &Witness{Name: name, VKey: vk, URL: url, Store: store, Witness: w, srv: srv}, nil
}

// StartLog (re)starts the log server on its storage directory, on a new
// port.
func (n *Network) StartLog(ctx context.Context) error { return n.startLog(ctx, "127.0.0.1:0") }

// RestartLog stops the log server if it runs and starts it again on the
// port it had, so that the URLs everyone holds still reach it.
func (n *Network) RestartLog(ctx context.Context) error {
	addr := strings.TrimPrefix(n.LogURL, "http://")
	if err := n.StopLog(ctx); err != nil {
		return err
	}
	return n.startLog(ctx, addr)
}

func (n *Network) startLog(ctx context.Context, addr string) error {
	// The log lives until StopLog, not until ctx is cancelled (the demo's
	// Ctrl-C): tessera stops sequencing when its context ends, and
	// Close must still get every entry being added its index.
	ctx = context.WithoutCancel(ctx)
	st, err := log.OpenPOSIX(ctx, filepath.Join(n.Dir, "log"))
	if err != nil {
		return err
	}
	pubs, err := trust.ParsePublishers(mustRead(n.PublishersFile))
	if err != nil {
		return err
	}
	pins, err := openPins(n.Opts.TrustRoots)
	if err != nil {
		return err
	}
	lg, err := log.New(ctx, st, log.Config{
		Signer: n.LogSigner, Publishers: pubs, TrustRoots: pins, WitnessPolicy: mustRead(n.WitnessPolicyFile),
		CheckpointInterval: n.Opts.CheckpointInterval, RepublishInterval: n.Opts.RepublishInterval,
		BatchMaxAge: 50 * time.Millisecond, ShutdownTimeout: n.Opts.ShutdownTimeout, Log: n.Opts.Log.With("part", "log"), Now: n.Opts.Now,
		IndexInterval: n.Opts.IndexInterval, IndexRefresh: n.Opts.IndexRefresh,
	})
	if err != nil {
		return err
	}
	srv, url, err := serveAt(addr, lg.Handler())
	if err != nil {
		lg.Close(ctx)
		return err
	}
	n.Log, n.logSrv, n.storage, n.LogURL = lg, srv, st, url
	// The users' policy: the log (at its URL), the witnesses, the quorum.
	return os.WriteFile(n.PolicyFile, append([]byte(fmt.Sprintf("log %s %s\n", n.LogVKey, url)), mustRead(n.WitnessPolicyFile)...), 0o644)
}

func openPins(docs [][]byte) ([]*trust.Signed, error) {
	var pins []*trust.Signed
	for _, d := range docs {
		p, err := trust.Open(d)
		if err != nil {
			return nil, fmt.Errorf("pinned trust root: %w", err)
		}
		pins = append(pins, p)
	}
	return pins, nil
}

// AddTrustRoot pins one more trust root in the running log (as its
// operator does by adding --trust-root and reloading).
func (n *Network) AddTrustRoot(pin []byte) error {
	pins, err := openPins(append(n.Opts.TrustRoots, pin))
	if err != nil {
		return err
	}
	if err := n.Log.SetTrustRoots(pins); err != nil {
		return err
	}
	n.Opts.TrustRoots = append(n.Opts.TrustRoots, pin)
	return nil
}

// StopLog stops the log server gracefully.
func (n *Network) StopLog(ctx context.Context) error {
	if n.Log == nil {
		return nil
	}
	err := errors.Join(n.logSrv.Shutdown(ctx), n.Log.Close(ctx), n.storage.Close())
	n.Log = nil
	return err
}

// StopWitness stops one witness (its state stays on disk).
func (n *Network) StopWitness(i int) error {
	w := n.Witnesses[i]
	return errors.Join(w.srv.Close(), w.Store.Close())
}

// Close stops everything.
func (n *Network) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := n.StopLog(ctx)
	for _, w := range n.Witnesses {
		w.srv.Close()
		w.Store.Close()
	}
	return err
}

func mustRead(p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	return b
}
