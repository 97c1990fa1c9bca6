package manifest

import (
	"bytes"
	"compress/bzip2"
	// Manifests are written with the standard library's deflate, as
	// before: the same tree gives the same Manifest.gz bytes.
	stdgzip "compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync"

	// klauspost's inflate is about 1.6 times as fast as compress/flate's
	// on the 19,000 small sub-Manifests of a Gentoo tree.
	"github.com/klauspost/compress/gzip"
)

// Compression suffixes of GLEP 74 (table 2). Only gzip (recommended) is
// written; gzip and bzip2 are read; the others are recognised so that a
// Manifest using them gets a clear "unsupported" error.
var compressionSuffixes = []string{".gz", ".bz2", ".lz4", ".lz", ".lzma", ".lzo", ".xz", ".zst"}

// compression returns the compression suffix of a Manifest file name.
func compression(name string) string {
	for _, s := range compressionSuffixes {
		if strings.HasSuffix(name, s) {
			return s
		}
	}
	return ""
}

// parseStored decompresses (by the file name) and parses a Manifest file's
// bytes as stored.
func parseStored(name string, data []byte) (*Manifest, error) {
	plain, release, err := decompressPooled(name, data)
	if err != nil {
		return nil, err
	}
	defer release()
	return Parse(plain) // Parse copies what it keeps
}

// gunzipPool reuses decompressors, and plainPool their output buffers:
// a fresh gzip.Reader and a growing output buffer for each of 19,000
// sub-Manifests cost more than decompressing them.
var (
	gunzipPool sync.Pool // *gzip.Reader
	plainPool  = sync.Pool{New: func() any { return new([]byte) }}
)

// decompressPooled is decompress into a pooled buffer, valid until release
// is called.
func decompressPooled(name string, data []byte) (out []byte, release func(), err error) {
	var r io.Reader
	switch s := compression(name); s {
	case "":
		return data, func() {}, nil
	case ".gz":
		z, _ := gunzipPool.Get().(*gzip.Reader)
		if z == nil {
			z, err = gzip.NewReader(bytes.NewReader(data))
		} else {
			err = z.Reset(bytes.NewReader(data))
		}
		if err != nil {
			return nil, nil, fmt.Errorf("decompressing %s: %w", name, err)
		}
		defer gunzipPool.Put(z)
		r = z
	case ".bz2":
		r = bzip2.NewReader(bytes.NewReader(data))
	default:
		return nil, nil, fmt.Errorf("%s: compression %s is not supported (gzip and bzip2 are)", name, s)
	}
	bp := plainPool.Get().(*[]byte)
	buf := (*bp)[:0]
	if n := len(data); n >= 4 {
		// gzip's trailer gives the size modulo 2^32: a hint, bounded.
		hint := int(binary.LittleEndian.Uint32(data[n-4:]))
		if hint < MaxSize && cap(buf) < hint+1 {
			buf = make([]byte, 0, hint+1)
		}
	}
	for {
		if len(buf) == cap(buf) {
			if len(buf) > MaxSize {
				plainPool.Put(bp)
				return nil, nil, fmt.Errorf("decompressing %s: over %d bytes", name, MaxSize)
			}
			buf = append(buf, 0)[:len(buf)]
		}
		k, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err == io.EOF {
			break
		}
		if err != nil {
			*bp = buf
			plainPool.Put(bp)
			return nil, nil, fmt.Errorf("decompressing %s: %w", name, err)
		}
	}
	if len(buf) > MaxSize {
		*bp = buf
		plainPool.Put(bp)
		return nil, nil, fmt.Errorf("decompressing %s: over %d bytes", name, MaxSize)
	}
	return buf, func() {
		if cap(buf) <= 1<<20 { // keep only common sizes
			*bp = buf[:0]
			plainPool.Put(bp)
		}
	}, nil
}

// gzipPool reuses compressors: each holds about a megabyte of state.
var gzipPool = sync.Pool{New: func() any {
	z, _ := stdgzip.NewWriterLevel(nil, stdgzip.DefaultCompression)
	return z
}}

// gzipBytes compresses deterministically: no name, no modification time.
func gzipBytes(data []byte) []byte {
	var b bytes.Buffer
	z := gzipPool.Get().(*stdgzip.Writer)
	z.Reset(&b)
	z.Write(data)
	z.Close()
	gzipPool.Put(z)
	return b.Bytes()
}
