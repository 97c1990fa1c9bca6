package signd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"treelog/signer"
)

// requestTimeout bounds reading a request and writing an answer (checking
// a tree is not bounded by it).
const requestTimeout = 30 * time.Second

// A Server answers on the daemon's two Unix sockets: signing requests from
// the publishing job, admin requests (unlock, lock, status) from a person.
type Server struct {
	Daemon *Daemon
	// Access decides who may ask for signatures; AdminAccess who may
	// unlock, lock and see the status.
	Access, AdminAccess Access
	Log                 *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	lns    []net.Listener
}

// Listen creates a Unix socket at path with the given mode and group (-1:
// the process's), removing a stale socket left by an earlier run but
// never any other file. The socket is created with no permission for
// anyone but its owner, then opened up, so no one else can connect first.
func Listen(path string, mode os.FileMode, gid int) (*net.UnixListener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket; refusing to replace it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	old := syscall.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("setting the group of %s: %w", path, err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

func (s *Server) init() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		s.ctx, s.cancel = context.WithCancel(context.Background())
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
}

// ServeSign answers signing requests on ln until Shutdown.
func (s *Server) ServeSign(ln *net.UnixListener) error {
	return s.serve(ln, s.Access, s.handleSign)
}

// ServeAdmin answers admin requests on ln until Shutdown.
func (s *Server) ServeAdmin(ln *net.UnixListener) error {
	return s.serve(ln, s.AdminAccess, s.handleAdmin)
}

func (s *Server) serve(ln *net.UnixListener, access Access, handle func(Peer, []byte) []byte) error {
	s.init()
	s.mu.Lock()
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.conn(c, access, handle)
		}()
	}
}

func (s *Server) conn(c *net.UnixConn, access Access, handle func(Peer, []byte) []byte) {
	c.SetDeadline(time.Now().Add(requestTimeout))
	peer, err := PeerOf(c)
	if err != nil {
		s.Log.Error("reading a caller's credentials", "err", err)
		c.Write(signer.MarshalRefusal(signer.CodeDenied, "the daemon cannot tell who is asking: "+err.Error()))
		return
	}
	// The request is read before any answer, even a refusal: closing a
	// socket with unread data would reset it, and lose the answer.
	req, err := io.ReadAll(io.LimitReader(c, MaxAdminRequest+1))
	if err != nil {
		s.Log.Warn("reading a request", "peer", peer.String(), "err", err)
		return
	}
	if !access.Allows(peer) {
		s.Daemon.m.requests.WithLabelValues(signer.CodeDenied).Inc()
		s.Log.Warn("denied: caller not allowed on this socket", "peer", peer.String(), "socket", c.LocalAddr().String())
		c.Write(signer.MarshalRefusal(signer.CodeDenied, fmt.Sprintf("uid %d (gid %d) may not use this socket", peer.UID, peer.GID)))
		return
	}
	resp := handle(peer, req)
	c.SetDeadline(time.Now().Add(requestTimeout))
	if _, err := c.Write(resp); err != nil {
		// The signature, if any, is in the journal already.
		s.Log.Warn("the caller left before the answer", "peer", peer.String(), "err", err)
	}
}

func answer(body []byte, err error) []byte {
	var re *signer.RefusedError
	switch {
	case err == nil:
		return signer.MarshalOK(body)
	case errors.As(err, &re):
		return signer.MarshalRefusal(re.Code, re.Message)
	}
	return signer.MarshalRefusal(signer.CodeInternal, err.Error())
}

func (s *Server) handleSign(peer Peer, req []byte) []byte {
	m, err := signer.ParseRequest(req)
	if err != nil {
		s.Daemon.m.requests.WithLabelValues(signer.CodeMalformed).Inc()
		s.Log.Warn("malformed request", "peer", peer.String(), "err", err)
		return signer.MarshalRefusal(signer.CodeMalformed, err.Error())
	}
	return answer(s.Daemon.Sign(s.ctx, peer, m))
}

func (s *Server) handleAdmin(peer Peer, req []byte) []byte {
	cmd, passes, err := ParseAdminRequest(req)
	if err != nil {
		s.Daemon.m.unlocks.WithLabelValues("", signer.CodeMalformed).Inc()
		return signer.MarshalRefusal(signer.CodeMalformed, err.Error())
	}
	s.Log.Info("admin request", "command", cmd, "peer", peer.String())
	switch cmd {
	case CmdUnlock:
		_, err := s.Daemon.Unlock(passes)
		if err != nil {
			return answer(nil, err)
		}
	case CmdLock:
		s.Daemon.Lock(fmt.Sprintf("locked by uid %d", peer.UID))
		s.Daemon.m.unlocks.WithLabelValues(CmdLock, "ok").Inc()
	default:
		s.Daemon.m.unlocks.WithLabelValues(CmdStatus, "ok").Inc()
	}
	return signer.MarshalOK([]byte(s.Daemon.Status().Text()))
}

// Shutdown stops accepting and waits for the requests in flight to finish;
// once ctx is done, it cancels the tree checks still running.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.mu.Lock()
	for _, ln := range s.lns {
		ln.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		return fmt.Errorf("requests still in flight: %w", ctx.Err())
	}
}
