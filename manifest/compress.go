package manifest

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"sync"
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

// decompress returns the uncompressed content of a Manifest file named
// name, refusing more than MaxSize bytes of output.
func decompress(name string, data []byte) ([]byte, error) {
	var r io.Reader
	switch s := compression(name); s {
	case "":
		return data, nil
	case ".gz":
		z, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("decompressing %s: %w", name, err)
		}
		r = z
	case ".bz2":
		r = bzip2.NewReader(bytes.NewReader(data))
	default:
		return nil, fmt.Errorf("%s: compression %s is not supported (gzip and bzip2 are)", name, s)
	}
	out, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("decompressing %s: %w", name, err)
	}
	if len(out) > MaxSize {
		return nil, fmt.Errorf("decompressing %s: over %d bytes", name, MaxSize)
	}
	return out, nil
}

// gzipPool reuses compressors: each holds about a megabyte of state.
var gzipPool = sync.Pool{New: func() any {
	z, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	return z
}}

// gzipBytes compresses deterministically: no name, no modification time.
func gzipBytes(data []byte) []byte {
	var b bytes.Buffer
	z := gzipPool.Get().(*gzip.Writer)
	z.Reset(&b)
	z.Write(data)
	z.Close()
	gzipPool.Put(z)
	return b.Bytes()
}
