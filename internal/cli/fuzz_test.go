package cli

import (
	"testing"

	"github.com/spf13/pflag"
)

// FuzzApplyConfig: a --config file either applies cleanly or names the
// line that is wrong; it never panics.
func FuzzApplyConfig(f *testing.F) {
	f.Add([]byte("# c\nlisten 127.0.0.1:1\n--interval=5s\n"))
	f.Add([]byte("config x\n"))
	f.Add([]byte("interval forever\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		fs.String("listen", "", "")
		fs.Duration("interval", 0, "")
		fs.StringSlice("mirror", nil, "")
		fs.String("config", "", "")
		if err := applyConfig(fs, data, "f", map[string]bool{}); err != nil && err.Error() == "" {
			t.Fatal("an error without a message")
		}
	})
}
