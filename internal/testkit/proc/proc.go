// Package proc starts treelog's daemons as child processes for end-to-end,
// crash and benchmark runs: it builds the binary once, starts it with a
// listen address of port 0, and learns the real address from its log.
package proc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// Build compiles a main package of this module (e.g. "treelog/cmd/witness")
// into dir and returns the binary's path.
func Build(pkg, dir string) (string, error) {
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// A Proc is a running daemon.
type Proc struct {
	Cmd  *exec.Cmd
	Addr string // host:port it listens on
	mu   sync.Mutex
	logs []byte
	done chan struct{}
}

var servingRE = regexp.MustCompile(`msg=serving addr=(\S+)`)

// Start runs bin with args (which should include --listen 127.0.0.1:0) and
// waits until it logs the address it serves on.
func Start(bin string, args ...string) (*Proc, error) {
	return StartWith(bin, nil, args...)
}

// StartWith is Start with extra environment variables ("K=V").
func StartWith(bin string, env []string, args ...string) (*Proc, error) {
	return start(bin, env, "", args)
}

// StartAt starts a program that does not log its address (tessera's
// conformance server): it listens on addr, and is ready once addr accepts
// connections.
func StartAt(bin string, env []string, addr string, args ...string) (*Proc, error) {
	return start(bin, env, addr, args)
}

func start(bin string, env []string, at string, args []string) (*Proc, error) {
	p := &Proc{Cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.Cmd.Env = append(os.Environ(), env...)
	stderr, err := p.Cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p.Cmd.Stdout = io.Discard
	if err := p.Cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	if at != "" {
		go func() {
			for {
				c, err := net.DialTimeout("tcp", at, time.Second)
				if err == nil {
					c.Close()
					addr <- at
					return
				}
				select {
				case <-p.done:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs = append(append(p.logs, line...), '\n')
			p.mu.Unlock()
			// Once the address is known, lines are only kept: matching
			// every line of a busy server would charge the harness's
			// CPU to the server under test.
			if found {
				continue
			}
			if m := servingRE.FindStringSubmatch(line); m != nil {
				found = true
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		p.Addr = a
		return p, nil
	case <-p.done:
		p.Cmd.Wait()
		return nil, fmt.Errorf("%s exited before serving:\n%s", filepath.Base(bin), p.Logs())
	case <-time.After(60 * time.Second):
		p.Kill()
		return nil, fmt.Errorf("%s did not start serving in 60s:\n%s", filepath.Base(bin), p.Logs())
	}
}

// URL returns the base URL of the daemon.
func (p *Proc) URL() string { return "http://" + p.Addr }

// Logs returns what the daemon logged so far.
func (p *Proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.logs)
}

// Kill sends SIGKILL and waits for the process: a crash.
func (p *Proc) Kill() {
	p.Cmd.Process.Kill()
	p.Cmd.Wait()
	<-p.done
}

// Stop sends SIGTERM and waits up to d for a graceful exit, returning its
// error (nil on exit status 0).
func (p *Proc) Stop(ctx context.Context) error {
	p.Cmd.Process.Signal(syscall.SIGTERM)
	errc := make(chan error, 1)
	go func() { errc <- p.Cmd.Wait() }()
	select {
	case err := <-errc:
		<-p.done
		return err
	case <-ctx.Done():
		p.Kill()
		return fmt.Errorf("did not stop gracefully: %w", ctx.Err())
	}
}
