package policy

import (
	"fmt"

	"treelog/internal/untrusted"
	"treelog/note"
)

// A LogKey is a log line of a log list: a log's key (its name is the
// origin) and an optional URL.
type LogKey struct {
	Key note.VerifierKey
	URL string
}

// ParseLogList parses a file of "log <vkey> [<url>]" lines in the
// tlog-policy syntax, as a witness is configured. Two lines for one origin
// are an error.
func ParseLogList(data []byte) ([]LogKey, error) {
	lines, err := SplitLines(data, "log list")
	if err != nil {
		return nil, err
	}
	var out []LogKey
	seen := map[string]int{}
	for _, l := range lines {
		errf := func(format string, args ...any) error {
			return fmt.Errorf("log list: line %d: %s", l.No, fmt.Sprintf(format, args...))
		}
		f := l.Fields
		if f[0] != "log" {
			return nil, errf("unknown keyword %q (want log)", untrusted.Short(f[0], 40))
		}
		lk, err := parseLogLine(f)
		if err != nil {
			return nil, errf("%v", err)
		}
		k := lk.Key
		if prev, dup := seen[k.Name]; dup {
			return nil, errf("origin %q is already configured on line %d", k.Name, prev)
		}
		seen[k.Name] = l.No
		out = append(out, lk)
	}
	return out, nil
}
