//go:build !linux

package manifest

import "errors"

// cacheSupported: elsewhere, every verification hashes every file.
const cacheSupported = false

var errNoCache = errors.New("the verification cache is supported on Linux only")

func fstatFD(int) (fileStat, error)     { return fileStat{}, errNoCache }
func statPath(string) (fileStat, error) { return fileStat{}, errNoCache }
