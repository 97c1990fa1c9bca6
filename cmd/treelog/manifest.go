package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"treelog/manifest"
)

func init() {
	register("manifest", "create or verify GLEP 74 Manifests of a tree (manifest create|verify)", manifestCmd)
}

func manifestCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "treelog manifest: want a subcommand: create or verify")
		return exitUsage
	}
	switch args[0] {
	case "create":
		return manifestCreate(args[1:], stdout, stderr)
	case "verify":
		return manifestVerify(args[1:], stdout, stderr)
	case "-h", "--help":
		fmt.Fprintln(stdout, "Usage: treelog manifest create|verify [flags] DIR")
		return exitOK
	}
	fmt.Fprintf(stderr, "treelog manifest: unknown subcommand %q (want create or verify)\n", args[0])
	return exitUsage
}

func manifestCreate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("manifest create", "DIR", `Writes a full GLEP 74 Manifest tree for DIR: sub-Manifests where the layout
wants them and a top-level DIR/Manifest with a TIMESTAMP. Existing Manifests
are replaced only if the whole tree succeeds.`, stdout, stderr)
	layout := fs.String("layout", "gentoo", "where Manifests go: gentoo (an ebuild repository, like gemato -p ebuild) or plain (one top-level Manifest)")
	hashes := fs.String("hashes", "BLAKE2B SHA512", "space-separated hashes to compute")
	ts := fs.String("timestamp", "", "TIMESTAMP to write, YYYY-MM-DDTHH:MM:SSZ (default: now)")
	keepDist := fs.Bool("keep-dist", true, "keep DIST lines of the Manifests being replaced (thin package Manifests carry them)")
	if rc := parseFlags(fs, args, 1, stderr); rc >= 0 {
		return rc
	}
	l, err := manifest.ParseLayout(*layout)
	if err != nil {
		return usageErr(stderr, "manifest create", "--layout: %v", err)
	}
	hs, err := manifest.ParseHashList(*hashes)
	if err != nil {
		return usageErr(stderr, "manifest create", "--hashes: %v", err)
	}
	opts := []manifest.Option{manifest.WithLayout(l), manifest.WithHashes(hs), manifest.WithKeepDist(*keepDist), manifest.WithProgress(os.Stderr)}
	if *ts != "" {
		t, err := manifest.ParseTimestamp(*ts)
		if err != nil {
			return usageErr(stderr, "manifest create", "--timestamp: %v", err)
		}
		opts = append(opts, manifest.WithTimestamp(t))
	}
	start := time.Now()
	r, err := manifest.Create(context.Background(), fs.Arg(0), opts...)
	if err != nil {
		return fail(stderr, "manifest create", err)
	}
	fmt.Fprintf(stdout, "wrote %d Manifests covering %d files (%.1f MB) in %s; TIMESTAMP %s\n",
		r.Manifests, r.Files, float64(r.Bytes)/1e6, time.Since(start).Round(time.Millisecond), r.Timestamp.Format(manifest.TimeFormat))
	return exitOK
}

func manifestVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("manifest verify", "DIR", `Verifies DIR against its top-level Manifest (GLEP 74 full-tree verification)
and lists every problem with its path. Exit 0: verified; 1: problems found.`, stdout, stderr)
	ignore := fs.StringSlice("ignore", nil, "extra path to ignore, relative to DIR (repeatable)")
	if rc := parseFlags(fs, args, 1, stderr); rc >= 0 {
		return rc
	}
	start := time.Now()
	r, err := manifest.Verify(context.Background(), fs.Arg(0), manifest.WithIgnore(*ignore...), manifest.WithProgress(os.Stderr))
	if err != nil {
		return fail(stderr, "manifest verify", err)
	}
	if err := r.Error(); err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	fmt.Fprintf(stdout, "verified %d files (%.1f MB) in %s; TIMESTAMP %s\n", r.Files, float64(r.Bytes)/1e6, time.Since(start).Round(time.Millisecond), r.Timestamp.Format(manifest.TimeFormat))
	return exitOK
}
