package policy

import (
	"fmt"

	"treelog/internal/untrusted"
)

// ReadPolicyFile reads and parses a tlog-policy file; its errors name the
// file. With needLog, a policy that names no log is refused: a user or an
// auditor would have nothing to check against, which is a configuration
// mistake to report, not a log to distrust.
func ReadPolicyFile(path string, needLog bool) (*Policy, error) {
	b, err := untrusted.ReadFile(path, MaxFileSize, "policy file")
	if err != nil {
		return nil, err
	}
	p, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if needLog && len(p.Logs) == 0 {
		return nil, fmt.Errorf("policy file %s names no log (want a line \"log <vkey> <url>\")", path)
	}
	return p, nil
}
