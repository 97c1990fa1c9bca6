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
	"unsafe"

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
// bytes as stored. The Manifest does not refer to data.
func parseStored(name string, data []byte) (*Manifest, error) {
	if compression(name) == "" {
		return Parse(data) // Parse copies what it keeps
	}
	return parseOwned(name, data)
}

// parseOwned is parseStored for bytes that are never written to again: the
// uncompressed text becomes the strings of the Manifest without a copy.
func parseOwned(name string, data []byte) (*Manifest, error) {
	plain, err := decompress(name, data)
	if err != nil {
		return nil, err
	}
	return parseText(unsafe.String(unsafe.SliceData(plain), len(plain)))
}

// gunzipPool reuses decompressors: a fresh gzip.Reader for each of 19,000
// sub-Manifests costs more than decompressing it.
var gunzipPool sync.Pool // *gzip.Reader

// decompress returns the uncompressed content of a Manifest file named
// name (data itself if it is not compressed), in a buffer of its own,
// refusing more than MaxSize bytes.
func decompress(name string, data []byte) ([]byte, error) {
	var r io.Reader
	switch s := compression(name); s {
	case "":
		return data, nil
	case ".gz":
		z, _ := gunzipPool.Get().(*gzip.Reader)
		var err error
		if z == nil {
			z, err = gzip.NewReader(bytes.NewReader(data))
		} else {
			err = z.Reset(bytes.NewReader(data))
		}
		if err != nil {
			return nil, fmt.Errorf("decompressing %s: %w", name, err)
		}
		defer gunzipPool.Put(z)
		r = z
	case ".bz2":
		r = bzip2.NewReader(bytes.NewReader(data))
	default:
		return nil, fmt.Errorf("%s: compression %s is not supported (gzip and bzip2 are)", name, s)
	}
	size := 4 * len(data)
	if n := len(data); n >= 4 {
		// gzip's trailer gives the size modulo 2^32: a hint, bounded.
		if hint := int(binary.LittleEndian.Uint32(data[n-4:])); hint < MaxSize {
			size = hint
		}
	}
	buf := make([]byte, 0, size+1)
	for {
		if len(buf) == cap(buf) {
			if len(buf) > MaxSize {
				return nil, fmt.Errorf("decompressing %s: over %d bytes", name, MaxSize)
			}
			buf = append(buf, 0)[:len(buf)]
		}
		k, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("decompressing %s: %w", name, err)
		}
	}
	if len(buf) > MaxSize {
		return nil, fmt.Errorf("decompressing %s: over %d bytes", name, MaxSize)
	}
	return buf, nil
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
