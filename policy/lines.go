// Package policy reads c2sp.org/tlog-policy files (which logs and
// witnesses to trust, and the witness quorum) and verifies checkpoints and
// tlog-proofs against them. Who may publish which tree is package trust's.
package policy

import (
	"fmt"
)

// MaxFileSize bounds a policy or publishers file.
const MaxFileSize = 1 << 20

// A Line is one non-empty, non-comment line of a tlog-policy style file:
// its number (from 1) and its items.
type Line struct {
	No     int
	Fields []string
}

// SplitLines applies the tlog-policy syntax shared by treelog's line-based
// files (file names the file in errors): octets 0x09, 0x0A, 0x20-0x7E and 0x80-0xFF only; items separated by
// runs of spaces and tabs only (not other Unicode spaces); blank lines and
// lines whose first non-blank octet is '#' ignored.
func SplitLines(data []byte, file string) ([]Line, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, over the limit of %d", file, len(data), MaxFileSize)
	}
	var out []Line
	no := 1
	start := 0
	for i := 0; i <= len(data); i++ {
		if i < len(data) {
			c := data[i]
			if c != '\n' {
				if c != '\t' && (c < 0x20 || c == 0x7f) {
					return nil, fmt.Errorf("%s: line %d: control character 0x%02x is not allowed", file, no, c)
				}
				continue
			}
		}
		fields := splitFields(data[start:i])
		if len(fields) > 0 && fields[0][0] != '#' {
			out = append(out, Line{No: no, Fields: fields})
		}
		no++
		start = i + 1
	}
	return out, nil
}

func splitFields(b []byte) []string {
	var f []string
	i := 0
	for i < len(b) {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		j := i
		for j < len(b) && b[j] != ' ' && b[j] != '\t' {
			j++
		}
		if j > i {
			f = append(f, string(b[i:j]))
		}
		i = j
	}
	return f
}
