//go:build !linux

package manifest

// cacheSupported: elsewhere, every verification hashes every file.
const cacheSupported = false

func fstatFD(int) (fileStat, error)     { return fileStat{}, errNoCache }
func statPath(string) (fileStat, error) { return fileStat{}, errNoCache }
