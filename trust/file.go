package trust

import (
	"fmt"

	"treelog/internal/untrusted"
	"treelog/policy"
)

// ReadPublishersFile reads and parses a publishers file; its errors name
// the file. One that lists no publisher is refused unless allowEmpty (a
// log whose trust roots say who publishes): with it every snapshot would
// be refused (or, for an auditor, every entry be an alert), which is a
// configuration mistake, not an attack.
func ReadPublishersFile(path string, allowEmpty bool) (*Publishers, error) {
	b, err := untrusted.ReadFile(path, policy.MaxFileSize, "publishers file")
	if err != nil {
		return nil, err
	}
	p, err := ParsePublishers(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(p.byOrigin) == 0 && !allowEmpty {
		return nil, fmt.Errorf("publishers file %s lists no publisher (want lines \"publisher <origin> <vkey>\")", path)
	}
	return p, nil
}
