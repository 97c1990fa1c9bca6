//go:build !linux

package signd

import (
	"errors"
	"net"
)

// PeerOf returns the credentials of the process at the other end of c:
// only on Linux (SO_PEERCRED) so far, so the daemon refuses every request
// elsewhere rather than trust file permissions alone.
func PeerOf(c *net.UnixConn) (Peer, error) {
	return Peer{}, errors.New("peer credentials are only supported on Linux")
}
