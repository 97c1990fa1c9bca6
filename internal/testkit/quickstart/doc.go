// Package quickstart holds one test, behind the build tag quickstart: that
// the two commands on the README's first screen work as written in a clean
// clone. scripts/heavy runs it; it cannot be part of `go test ./...`,
// because its second command is the everyday test suite itself.
package quickstart
