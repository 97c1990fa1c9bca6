package log

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/transparency-dev/tessera"
	tesseraaws "github.com/transparency-dev/tessera/storage/aws"
	awsantispam "github.com/transparency-dev/tessera/storage/aws/antispam"
	"github.com/transparency-dev/tessera/storage/posix"
)

// Storage is where a log lives: a tessera driver, the origin index that
// the log's own rules need, and tessera's persistent antispam (nil: the
// in-memory one only).
type Storage struct {
	Driver   tessera.Driver
	Index    OriginIndex
	Antispam tessera.Antispam
	// Files holds the index's files beside the tiles; Lease says which
	// process writes them.
	Files IndexFiles
	Lease IndexLease
	// Kind names the storage, for logs.
	Kind string
}

// Close releases the storage's connections.
func (s *Storage) Close() error { return errors.Join(s.Lease.Close(), s.Index.Close()) }

// OpenPOSIX opens tessera's POSIX driver in dir, for one server process
// (tessera locks the directory). The origin index is
// rebuilt from the log when the server starts. The directory is the
// tlog-tiles tree, with the index's files under index/: it can be
// published as static files.
func OpenPOSIX(ctx context.Context, dir string) (*Storage, error) {
	d, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		return nil, fmt.Errorf("opening POSIX storage %s: %w", dir, err)
	}
	return &Storage{Driver: d, Index: newMemoryIndex(), Files: dirFiles{dir}, Lease: soleWriter{}, Kind: "posix"}, nil
}

// AWSConfig configures scale-out storage: any S3-compatible object store
// for the tiles, and a MySQL-compatible database for sequencing, antispam
// and the origin index. Several server processes can share one log.
type AWSConfig struct {
	// Bucket and BucketPrefix locate the log in the object store.
	Bucket, BucketPrefix string
	// Endpoint is the S3 endpoint URL for non-AWS stores (MinIO, ...);
	// empty means AWS, with credentials from the environment.
	Endpoint string
	// Region, AccessKey and SecretKey are used with Endpoint.
	Region, AccessKey, SecretKey string
	// DSN is the MySQL data source name, e.g. "user:pw@tcp(host:3306)/treelog".
	DSN string
	// MaxOpenConns bounds MySQL connections (0: tessera's default).
	MaxOpenConns int
	// Timeout bounds each S3 request and each request to a witness
	// (default 1 minute): a store or witness that hangs must not hold
	// the log's sequencing forever.
	Timeout time.Duration
}

// OpenAWS opens scale-out storage.
func OpenAWS(ctx context.Context, c AWSConfig) (*Storage, error) {
	if c.Bucket == "" || c.DSN == "" {
		return nil, errors.New("S3+MySQL storage needs a bucket and a MySQL DSN")
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Minute
	}
	tc := tesseraaws.Config{Bucket: c.Bucket, BucketPrefix: c.BucketPrefix, DSN: c.DSN, MaxOpenConns: c.MaxOpenConns, HTTPClient: &http.Client{Timeout: c.Timeout}}
	s3client := awshttp.NewBuildableClient().WithTimeout(c.Timeout)
	if c.Endpoint == "" {
		sdk, err := config.LoadDefaultConfig(ctx, config.WithHTTPClient(s3client))
		if err != nil {
			return nil, fmt.Errorf("loading the AWS configuration: %w", err)
		}
		tc.SDKConfig = &sdk
	} else {
		region := c.Region
		if region == "" {
			region = "us-east-1"
		}
		sdk := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, ""), HTTPClient: s3client}
		tc.SDKConfig = &sdk
		tc.S3Options = func(o *s3.Options) {
			o.BaseEndpoint = aws.String(c.Endpoint)
			o.UsePathStyle = true // MinIO and most S3-compatible stores serve path-style
		}
	}
	d, err := tesseraaws.New(ctx, tc)
	if err != nil {
		return nil, fmt.Errorf("opening S3+MySQL storage: %w", err)
	}
	as, err := awsantispam.NewAntispam(ctx, c.DSN, awsantispam.AntispamOpts{})
	if err != nil {
		return nil, fmt.Errorf("opening antispam in MySQL: %w", err)
	}
	idx, err := newMySQLIndex(ctx, c.DSN)
	if err != nil {
		return nil, err
	}
	files := s3Files{client: s3.NewFromConfig(*tc.SDKConfig, func(o *s3.Options) {
		if tc.S3Options != nil {
			tc.S3Options(o)
		}
	}), bucket: c.Bucket, prefix: c.BucketPrefix}
	return &Storage{Driver: d, Index: idx, Antispam: as, Files: files, Lease: &mysqlLease{db: idx.db}, Kind: "s3+mysql"}, nil
}
