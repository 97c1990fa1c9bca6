// Command logserver runs treelog's transparency log: it appends signed
// MetaManifests of tree snapshots to a tessera log whose checkpoints a
// quorum of witnesses cosigns, returns tlog-proofs, and serves the
// tlog-tiles read API.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"treelog/internal/cli"
	"treelog/internal/daemon"
	"treelog/internal/keyfile"
	"treelog/internal/klogslog"
	"treelog/internal/untrusted"
	"treelog/log"
	"treelog/policy"
	"treelog/trust"
)

const about = `Runs treelog's log. Publishers POST signed MetaManifests to /add (see
'treelog publish'); the log appends one only if a key that --publishers
allows for its origin signed it and its TIMESTAMP is newer than the origin's
last one (and not more than --max-future-skew ahead). Checkpoints are
published once the --witness-policy quorum cosigned them, and republished
every --republish-interval so that witnesses refresh their cosignatures.

The log keeps an index of the newest snapshot of every tree, in the log
itself (an index entry at most every --index-interval), with its files
beside the tiles, so that a user checks for a newer snapshot of one tree
in a few KiB however many trees share the log.

HTTP API:
  POST /add[?wait=30s]   submit; "index N", or with wait the tlog-proof
  GET  /proof/N          tlog-proof of entry N under the latest checkpoint
  GET  /proof/consistency/OLD/NEW   consistency proof between two sizes
  GET  /checkpoint, /tile/L/N[.p/W], /tile/entries/N[.p/W]   tlog-tiles
  GET  /index/latest, /index/node/..., /index/chunk/...      the index
  GET  /metrics          Prometheus

Storage: --storage DIR (tessera POSIX, one process; DIR is also the static
tlog-tiles tree and index, publishable by any web server), or S3-compatible object
storage plus MySQL (--s3-bucket, --mysql-dsn, ...), which several logserver
processes can share. SIGHUP reloads --publishers and --trust-root; SIGTERM
stops after every acknowledged entry is covered by a published checkpoint.

Trust roots (--trust-root, repeatable): a root's versions are logged here
in chain order only (the pinned version first, then each version certified
by the one before; a second version N is a fork and refused), and the
version in force authorizes the MetaManifests of the origins in its scope;
the publishers file authorizes the rest. GET /trustroot/<SHA-256 of the
root's name>?from=N serves the logged versions with inclusion proofs.

Exit status: 0 stopped cleanly; 2 usage or configuration error, named (a
missing or wrong --key, an empty --publishers, a port in use), found before
any storage is created; 4 the storage or the server failed.`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, nil))
}

func run(args []string, stdout, stderr io.Writer, started func(net.Addr)) int {
	fs := cli.Flags("logserver", "", about, stdout, stderr)
	var c daemon.Common
	c.AddFlags(fs, "127.0.0.1:7370")
	key := fs.String("key", "", "log secret key file; its name is the log's origin (required)")
	pubsFile := fs.String("publishers", "", "publishers file: 'publisher <origin> <vkey>' lines (required; may be empty with --trust-root)")
	rootFiles := fs.StringSlice("trust-root", nil, "pinned trust root this log serves: a signed version (repeatable); its versions are logged here, and it governs the origins in its scope")
	wpolicy := fs.String("witness-policy", "", "tlog-policy file naming the witnesses (with URLs) and the quorum that must cosign each checkpoint; empty: publish without witnesses")
	storage := fs.String("storage", "", "directory of the log's POSIX storage, for one server process; it is also the static tlog-tiles tree (or give --s3-bucket and --mysql-dsn)")
	s3Bucket := fs.String("s3-bucket", "", "S3 bucket (scale-out storage; with --mysql-dsn)")
	s3Prefix := fs.String("s3-prefix", "", "prefix of the log's objects in the bucket")
	s3Endpoint := fs.String("s3-endpoint", "", "S3 endpoint URL for S3-compatible stores (MinIO...); empty: AWS")
	s3Region := fs.String("s3-region", "us-east-1", "S3 region")
	s3Access := fs.String("s3-access-key", "", "S3 access key (default $AWS_ACCESS_KEY_ID)")
	s3Secret := fs.String("s3-secret-key", "", "S3 secret key (default $AWS_SECRET_ACCESS_KEY)")
	s3Timeout := fs.Duration("s3-timeout", time.Minute, "bound on each S3 request and each request to a witness (scale-out storage)")
	mysqlDSN := fs.String("mysql-dsn", "", "MySQL DSN, e.g. 'treelog:pw@tcp(127.0.0.1:3306)/treelog' (scale-out storage)")
	cpInterval := fs.Duration("checkpoint-interval", time.Second, "how often a new checkpoint may be published")
	republish := fs.Duration("republish-interval", time.Minute, "how often an unchanged checkpoint is republished for fresh cosignatures (0: never)")
	witnessTimeout := fs.Duration("witness-timeout", 5*time.Second, "how long to wait for the witness quorum")
	skew := fs.Duration("max-future-skew", 10*time.Minute, "how far a TIMESTAMP may be ahead of this server's clock")
	batchAge := fs.Duration("batch-max-age", 100*time.Millisecond, "longest an entry waits to be sequenced in a batch")
	batchSize := fs.Uint("batch-max-size", 256, "largest batch of entries sequenced at once")
	shutdown := fs.Duration("shutdown-timeout", time.Minute, "longest wait on SIGTERM for acknowledged entries to be published")
	indexInterval := fs.Duration("index-interval", time.Minute, "how often a new version of the index (the newest snapshot per origin, which users read instead of the log) may be appended; 0: keep no index")
	indexRefresh := fs.Duration("index-refresh", 15*time.Minute, "how often a version of the index is appended when nothing changed, so that the witnessed checkpoint it carries stays recent (users with a --max-lag below this read the log after it)")
	if rc := cli.Status(fs, daemon.ParseFlags(fs, args), stderr); rc >= 0 {
		return rc
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "logserver: %s\n", untrusted.Escape(fmt.Sprintf(format, a...)))
		return cli.ExitUsage
	}
	if *key == "" || *pubsFile == "" {
		return usage("--key and --publishers are required")
	}
	if (*storage == "") == (*s3Bucket == "" && *mysqlDSN == "") {
		return usage("give either --storage DIR, or --s3-bucket and --mysql-dsn")
	}
	if *s3Endpoint != "" {
		if err := policy.CheckURL(*s3Endpoint); err != nil {
			return usage("--s3-endpoint: %v", err)
		}
	}
	logger, err := c.Logger(stderr)
	if err != nil {
		return usage("%v", err)
	}
	klogslog.Use(logger.With("part", "tessera"))
	// Configuration first, then the port, then storage: a mistake or a
	// port in use leaves nothing behind.
	signer, err := keyfile.ReadSigner(*key)
	if err != nil {
		return usage("--key: %v", err)
	}
	if err := log.CheckKey(signer); err != nil {
		return usage("--key %s: %v", *key, err)
	}
	pins, err := trust.ReadPinnedFiles(*rootFiles)
	if err != nil {
		return usage("--trust-root: %v", err)
	}
	// With trust roots, the publishers file may list nobody.
	loadPubs := func() (*trust.Publishers, error) { return trust.ReadPublishersFile(*pubsFile, len(pins) > 0) }
	pubs, err := loadPubs()
	if err != nil {
		return usage("--publishers: %v", err)
	}
	var wp []byte
	if *wpolicy != "" {
		p, err := policy.ReadPolicyFile(*wpolicy, false)
		if err != nil {
			return usage("--witness-policy: %v", err)
		}
		if len(p.Witnesses) == 0 && p.Quorum != "none" {
			return usage("--witness-policy: %s names no witness", *wpolicy)
		}
		if wp, err = os.ReadFile(*wpolicy); err != nil {
			return usage("--witness-policy: %v", err)
		}
	} else {
		logger.Warn("no --witness-policy: checkpoints are published without witness cosignatures")
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return usage("--listen: %v", err)
	}
	defer ln.Close()
	ctx := context.Background()
	var st *log.Storage
	if *storage != "" {
		st, err = log.OpenPOSIX(ctx, *storage)
	} else {
		if *s3Access == "" {
			*s3Access = os.Getenv("AWS_ACCESS_KEY_ID")
		}
		if *s3Secret == "" {
			*s3Secret = os.Getenv("AWS_SECRET_ACCESS_KEY")
		}
		st, err = log.OpenAWS(ctx, log.AWSConfig{Bucket: *s3Bucket, BucketPrefix: *s3Prefix, Endpoint: *s3Endpoint,
			Region: *s3Region, AccessKey: *s3Access, SecretKey: *s3Secret, DSN: *mysqlDSN, Timeout: *s3Timeout})
	}
	if err != nil {
		logger.Error("opening storage", "err", err)
		return cli.ExitUnchecked
	}
	if *indexInterval <= 0 {
		*indexInterval = -1
	}
	reg := daemon.NewRegistry()
	lg, err := log.New(ctx, st, log.Config{
		Signer: signer, Publishers: pubs, TrustRoots: pins, WitnessPolicy: wp, WitnessTimeout: *witnessTimeout, MaxFutureSkew: *skew,
		CheckpointInterval: *cpInterval, RepublishInterval: *republish, BatchMaxAge: *batchAge, BatchMaxSize: *batchSize,
		ShutdownTimeout: *shutdown, Log: logger, Registry: reg, IndexInterval: *indexInterval, IndexRefresh: *indexRefresh,
	})
	if err != nil {
		logger.Error("starting the log", "err", err)
		st.Close()
		return cli.ExitUnchecked
	}
	logger.Info("log", "origin", lg.Origin(), "vkey", lg.VerifierKey(), "storage", st.Kind)
	srv := &daemon.Server{
		Log: logger, Handler: lg.Handler(), Registry: reg, Started: started, ShutdownTimeout: *shutdown + 10*time.Second, Timeouts: c.Timeouts, Listener: ln,
		Reload: func() error {
			p, err := loadPubs()
			if err != nil {
				return err
			}
			pins, err := trust.ReadPinnedFiles(*rootFiles)
			if err != nil {
				return err
			}
			if err := lg.SetTrustRoots(pins); err != nil {
				return err
			}
			lg.SetPublishers(p)
			return nil
		},
		Stop: func(ctx context.Context) error { return errors.Join(lg.Close(ctx), st.Close()) },
	}
	if err := srv.Run(ctx, c.Listen); err != nil {
		logger.Error("log stopped", "err", err)
		return cli.ExitUnchecked
	}
	return cli.ExitOK
}
