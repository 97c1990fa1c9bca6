package signer

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"treelog/metamanifest"
)

// DefaultTimeout bounds a request to the signing daemon, which may verify
// a whole tree before it answers.
const DefaultTimeout = 30 * time.Minute

// Unix returns a Signer that asks the signing daemon listening on the Unix
// socket at path. The daemon reads the tree itself and signs only if it is
// the one m describes.
func Unix(path string) Signer { return &unixSigner{path: path} }

type unixSigner struct{ path string }

func (u *unixSigner) Sign(ctx context.Context, m *metamanifest.MetaManifest) ([]byte, error) {
	return Call(ctx, u.path, MarshalRequest(m))
}

// Call sends one request to the daemon's socket at path, closes the
// writing side, and returns the body of its answer or its refusal.
func Call(ctx context.Context, path string, req []byte) ([]byte, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer c.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultTimeout)
	}
	c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if _, err := c.Write(req); err != nil {
		return nil, fmt.Errorf("%w: sending the request: %v", ErrUnavailable, err)
	}
	if err := c.(*net.UnixConn).CloseWrite(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	resp, err := io.ReadAll(io.LimitReader(c, MaxResponseSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the answer: %v", ErrUnavailable, err)
	}
	if len(resp) == 0 {
		return nil, fmt.Errorf("%w: it closed the connection without an answer", ErrUnavailable)
	}
	return ParseResponse(resp)
}
