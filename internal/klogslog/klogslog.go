// Package klogslog sends klog's output (tessera logs through klog) to a
// log/slog logger. klog's own setter must not run while anything logs, so
// it is called once per process; later calls, such as each test network
// starting its log, only switch where the lines go, atomically.
package klogslog

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"k8s.io/klog/v2"
)

var (
	once sync.Once
	cur  atomic.Pointer[slog.Logger]
)

// Use sends klog's output to l from now on.
func Use(l *slog.Logger) {
	cur.Store(l)
	once.Do(func() { klog.SetSlogLogger(slog.New(forward{})) })
}

// forward hands each record to the current logger's handler, after the
// attributes and groups klog added.
type forward struct {
	ops []func(slog.Handler) slog.Handler
}

func (f forward) handler() slog.Handler {
	h := cur.Load().Handler()
	for _, op := range f.ops {
		h = op(h)
	}
	return h
}

func (f forward) Enabled(ctx context.Context, l slog.Level) bool {
	return f.handler().Enabled(ctx, l)
}

func (f forward) Handle(ctx context.Context, r slog.Record) error {
	return f.handler().Handle(ctx, r)
}

func (f forward) WithAttrs(as []slog.Attr) slog.Handler {
	return forward{ops: append(slices.Clip(f.ops), func(h slog.Handler) slog.Handler { return h.WithAttrs(as) })}
}

func (f forward) WithGroup(name string) slog.Handler {
	return forward{ops: append(slices.Clip(f.ops), func(h slog.Handler) slog.Handler { return h.WithGroup(name) })}
}
