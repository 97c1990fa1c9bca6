package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// ParseWithConfig parses args, applying the file named by the flag
// "config" (if fs has it and it is given) first, so that flags on the
// command line win. The file holds one "name value" flag setting per line
// ("--name=value" also reads), with '#' comment lines; repeating a line
// adds to a list flag.
func ParseWithConfig(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := fs.GetString("config")
	if err != nil || cfg == "" {
		return nil
	}
	set := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { set[f.Name] = true })
	data, err := os.ReadFile(cfg)
	if err != nil {
		return fmt.Errorf("reading --config: %w", err)
	}
	return applyConfig(fs, data, cfg, set)
}

func applyConfig(fs *pflag.FlagSet, data []byte, name string, set map[string]bool) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	no := 0
	for sc.Scan() {
		no++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, _ := strings.Cut(line, " ")
		key = strings.TrimPrefix(key, "--")
		value = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(value), "="))
		f := fs.Lookup(key)
		if f == nil || key == "config" {
			return fmt.Errorf("%s: line %d: unknown setting %q", name, no, key)
		}
		if set[key] {
			continue
		}
		if err := fs.Set(key, value); err != nil {
			return fmt.Errorf("%s: line %d: %s: %w", name, no, key, err)
		}
	}
	return sc.Err()
}
