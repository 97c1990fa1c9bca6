package index

import (
	"errors"
	"fmt"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// ErrMismatch is wrapped when bytes served as a node or a chunk do not hash
// to the hash they were asked for by: they are not what the log committed
// to (corruption, or a mirror that lies).
var ErrMismatch = errors.New("does not match its hash")
