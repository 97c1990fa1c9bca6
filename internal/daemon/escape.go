package daemon

import (
	"context"
	"fmt"
	"log/slog"

	"treelog/internal/untrusted"
)

// escaping wraps a handler so that every string a record carries goes out
// escaped (untrusted.Escape): log lines quote what logs, witnesses,
// mirrors and clients sent, and a JSON log would keep the bidirectional
// overrides and a text log the invalid UTF-8 that a terminal reading it
// obeys.
type escaping struct{ slog.Handler }

func (h escaping) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, untrusted.Escape(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(escapeAttr(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h escaping) WithAttrs(as []slog.Attr) slog.Handler {
	esc := make([]slog.Attr, len(as))
	for i, a := range as {
		esc[i] = escapeAttr(a)
	}
	return escaping{h.Handler.WithAttrs(esc)}
}

func (h escaping) WithGroup(name string) slog.Handler {
	return escaping{h.Handler.WithGroup(untrusted.Escape(name))}
}

func escapeAttr(a slog.Attr) slog.Attr {
	key := untrusted.Escape(a.Key)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(key, untrusted.Escape(v.String()))
	case slog.KindGroup:
		g := v.Group()
		esc := make([]any, len(g))
		for i, m := range g {
			esc[i] = escapeAttr(m)
		}
		return slog.Group(key, esc...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(key, untrusted.Escape(x.Error()))
		case fmt.Stringer:
			return slog.String(key, untrusted.Escape(x.String()))
		case []byte:
			return slog.String(key, untrusted.Escape(string(x)))
		}
	}
	return slog.Attr{Key: key, Value: v}
}
