package log

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"treelog/index"
	"treelog/internal/atomicfile"
	"treelog/internal/untrusted"
	"treelog/tiles"
)

// IndexFiles stores the index's files (package index: chunks, trie nodes
// and the latest entry's proof) beside the log's tiles, so that whatever
// serves or mirrors the tiles serves them too.
type IndexFiles interface {
	// Write stores data at path (an index.File's path), replacing what
	// was there: chunks and nodes are named by their hash, so a rewrite
	// writes the same bytes.
	Write(ctx context.Context, path string, data []byte) error
	// Read returns the file at path, an error wrapping tiles.ErrNotFound
	// if there is none.
	Read(ctx context.Context, path string) ([]byte, error)
}

// maxIndexFile bounds an index file read back: the largest is
// index/latest, a tlog-proof.
const maxIndexFile = 1 << 17

// dirFiles keeps index files under the POSIX log's directory.
type dirFiles struct{ dir string }

func (d dirFiles) path(p string) string { return filepath.Join(d.dir, filepath.FromSlash(p)) }

func (d dirFiles) Write(_ context.Context, p string, data []byte) error {
	full := d.path(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := atomicfile.WriteFile(full, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

func (d dirFiles) Read(_ context.Context, p string) ([]byte, error) {
	b, err := untrusted.ReadFile(d.path(p), maxIndexFile, "index file")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", p, tiles.ErrNotFound)
	}
	return b, err
}

// s3Files keeps index files in the log's bucket, under its prefix.
type s3Files struct {
	client         *s3.Client
	bucket, prefix string
}

func (s s3Files) key(p string) string {
	if s.prefix == "" {
		return p
	}
	return path.Join(s.prefix, p)
}

func (s s3Files) Write(ctx context.Context, p string, data []byte) error {
	cache := "public, max-age=31536000, immutable"
	if p == index.LatestPath {
		cache = "no-cache"
	}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(p)),
		Body: bytes.NewReader(data), ContentType: aws.String("application/octet-stream"), CacheControl: aws.String(cache)})
	if err != nil {
		return fmt.Errorf("writing %s to bucket %s: %w", p, s.bucket, err)
	}
	return nil
}

func (s s3Files) Read(ctx context.Context, p string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key(p))})
	if err != nil {
		var nsk *types.NoSuchKey
		var re *awshttp.ResponseError
		if errors.As(err, &nsk) || errors.As(err, &re) && re.HTTPStatusCode() == 404 {
			return nil, fmt.Errorf("%s: %w", p, tiles.ErrNotFound)
		}
		return nil, fmt.Errorf("reading %s from bucket %s: %w", p, s.bucket, err)
	}
	defer out.Body.Close()
	return untrusted.ReadAll(io.Reader(out.Body), maxIndexFile, p)
}

// An IndexLease says whether this server process is the one that writes
// the index: its entries must follow each other in the log, so only one
// process appends them.
type IndexLease interface {
	// Hold takes the lease if it is free, and reports whether this process
	// holds it.
	Hold(ctx context.Context) (bool, error)
	Close() error
}

// soleWriter is the lease of a log only one process writes (POSIX).
type soleWriter struct{}

func (soleWriter) Hold(context.Context) (bool, error) { return true, nil }
func (soleWriter) Close() error                       { return nil }

// mysqlLease is a MySQL named lock held on one connection: it is released
// when the connection (or the process) goes.
type mysqlLease struct {
	db   *sql.DB
	conn *sql.Conn
}

const indexLockName = "treelog_index_writer"

func (m *mysqlLease) Hold(ctx context.Context) (bool, error) {
	if m.conn != nil {
		var mine sql.NullInt64
		err := m.conn.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?) = CONNECTION_ID()", indexLockName).Scan(&mine)
		if err == nil && mine.Valid && mine.Int64 == 1 {
			return true, nil
		}
		m.conn.Close()
		m.conn = nil
	}
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("index lease: %w", err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", indexLockName).Scan(&got); err != nil {
		conn.Close()
		return false, fmt.Errorf("index lease: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		conn.Close()
		return false, nil
	}
	m.conn = conn
	return true, nil
}

func (m *mysqlLease) Close() error {
	if m.conn != nil {
		return m.conn.Close()
	}
	return nil
}
