// Package daemon holds what treelog's three daemons share: configuration
// files for their flags, structured logging, an HTTP server with Prometheus
// /metrics, graceful shutdown on SIGTERM and reload on SIGHUP.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"treelog/internal/cli"
)

// Common flags of every daemon.
type Common struct {
	Config    string
	Listen    string
	LogLevel  string
	LogFormat string
	Timeouts  Timeouts
}

// Timeouts bound what one HTTP client can hold: a client that sends its
// request or reads its answer slowly (slow loris) loses its connection
// instead of a share of the daemon. Endpoints that legitimately take longer
// (a publish that waits for its proof) extend their own write deadline
// with http.ResponseController.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included.
	Read time.Duration
	// Write bounds writing an answer, from the end of the headers read.
	Write time.Duration
	// Idle bounds how long a kept-alive connection waits for a request.
	Idle time.Duration
	// MaxHeaderBytes bounds the request headers.
	MaxHeaderBytes int
}

// DefaultTimeouts suit requests of at most a few hundred KiB on a LAN or
// the Internet.
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 30 * time.Second, Idle: 2 * time.Minute, MaxHeaderBytes: 64 << 10}

// AddFlags registers --config, --listen, --log-level and --log-format.
func (c *Common) AddFlags(fs *pflag.FlagSet, defaultListen string) {
	fs.StringVar(&c.Config, "config", "", "file of flag settings, one 'name value' per line ('#' comments); command-line flags override it")
	fs.StringVar(&c.Listen, "listen", defaultListen, "address to serve HTTP on (host:port)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	d := DefaultTimeouts
	fs.DurationVar(&c.Timeouts.ReadHeader, "read-header-timeout", d.ReadHeader, "how long a client may take to send a request's headers")
	fs.DurationVar(&c.Timeouts.Read, "read-timeout", d.Read, "how long a client may take to send a whole request")
	fs.DurationVar(&c.Timeouts.Write, "write-timeout", d.Write, "how long writing an answer may take (endpoints that wait, such as a publish with wait=, get their wait on top)")
	fs.DurationVar(&c.Timeouts.Idle, "idle-timeout", d.Idle, "how long a kept-alive connection may wait for its next request")
	c.Timeouts.MaxHeaderBytes = d.MaxHeaderBytes
}

// ParseFlags parses args, applying the --config file (if given) first so
// that flags on the command line win.
func ParseFlags(fs *pflag.FlagSet, args []string) error {
	return cli.ParseWithConfig(fs, args)
}

// Logger builds the structured logger the flags ask for. Every string it
// writes is escaped: log lines carry outside text.
func (c *Common) Logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.LogFormat {
	case "text":
		return slog.New(escaping{slog.NewTextHandler(w, opts)}), nil
	case "json":
		return slog.New(escaping{slog.NewJSONHandler(w, opts)}), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", c.LogFormat)
}

// NewRegistry returns a Prometheus registry with the Go and process
// collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// A Server runs one daemon's HTTP handler.
type Server struct {
	Log      *slog.Logger
	Handler  http.Handler
	Registry *prometheus.Registry
	// Reload is called on SIGHUP.
	Reload func() error
	// Stop is called after the HTTP server stopped, before Run returns:
	// flush and close state there.
	Stop func(ctx context.Context) error
	// Started, if set, receives the listening address.
	Started func(addr net.Addr)
	// ShutdownTimeout bounds the graceful shutdown (default 30s).
	ShutdownTimeout time.Duration
	// Timeouts bound slow clients (zero fields: DefaultTimeouts').
	Timeouts Timeouts
	// Listener, if set, is used instead of listening on Run's addr: a
	// daemon listens before it creates its storage or state, so that a
	// port in use leaves nothing behind.
	Listener net.Listener
}

// Run listens on addr and serves until ctx is done or SIGTERM/SIGINT
// arrives, then shuts down gracefully: in-flight requests finish, then Stop.
func (s *Server) Run(ctx context.Context, addr string) error {
	// Signals are caught before anyone can learn the address: a SIGHUP
	// that arrived before Notify would kill the process (its default).
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	mux := http.NewServeMux()
	if s.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	}
	mux.Handle("/", s.Handler)
	ln := s.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return err
		}
	}
	if s.Started != nil {
		s.Started(ln.Addr())
	}
	t := s.Timeouts.withDefaults()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write,
		IdleTimeout: t.Idle, MaxHeaderBytes: t.MaxHeaderBytes, ErrorLog: slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.Log.Info("serving", "addr", ln.Addr().String())

	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				if s.Reload != nil {
					if err := s.Reload(); err != nil {
						s.Log.Error("reload failed; keeping the previous configuration", "err", err)
					} else {
						s.Log.Info("reloaded")
					}
				}
				continue
			}
			s.Log.Info("shutting down", "signal", sig.String())
		case <-ctx.Done():
			s.Log.Info("shutting down", "reason", ctx.Err())
		case err := <-errc:
			return err
		}
		return s.shutdown(srv)
	}
}

func (t Timeouts) withDefaults() Timeouts {
	d := DefaultTimeouts
	for _, f := range []struct{ v, def *time.Duration }{{&t.ReadHeader, &d.ReadHeader}, {&t.Read, &d.Read}, {&t.Write, &d.Write}, {&t.Idle, &d.Idle}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if t.MaxHeaderBytes <= 0 {
		t.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return t
}

func (s *Server) shutdown(srv *http.Server) error {
	d := s.ShutdownTimeout
	if d == 0 {
		d = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := srv.Shutdown(ctx)
	if s.Stop != nil {
		err = errors.Join(err, s.Stop(ctx))
	}
	if err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	s.Log.Info("stopped")
	return nil
}
