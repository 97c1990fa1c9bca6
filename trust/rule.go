package trust

import (
	"errors"
	"fmt"
)

// Rules a trust-root version or a MetaManifest can break, named in errors
// (and in docs/formats.md) so that a refusal says which one failed.
const (
	// RuleSignature: a signature by a root key does not verify.
	RuleSignature = "signature"
	// RuleSignedByOwn: a version needs Threshold of its own root keys.
	RuleSignedByOwn = "signed-by-own-root"
	// RuleSignedByPrevious: version N+1 needs the Threshold of version N's
	// root keys (the old root certifies the new).
	RuleSignedByPrevious = "signed-by-previous-root"
	// RuleSameName: every version of a chain has the chain's name.
	RuleSameName = "same-name"
	// RuleNextVersion: version N is followed by version N+1.
	RuleNextVersion = "next-version"
	// RulePreviousHash: version N+1 names version N as logged.
	RulePreviousHash = "previous-hash"
	// RuleKeepsRevocations: a revocation is never dropped or moved later.
	RuleKeepsRevocations = "keeps-revocations"
	// RulePinned: the chain starts at the pinned version, and a party
	// follows only roots it pinned.
	RulePinned = "pinned"
	// RuleChainsFromLatest: the log accepts only the version after its
	// latest logged one; two different versions N are a fork.
	RuleChainsFromLatest = "chains-from-latest"
	// RuleScopeOverlap: two roots in one log may not govern one origin.
	RuleScopeOverlap = "scope-overlap"

	// RuleDelegated: a MetaManifest needs a key the root in force
	// delegates for its origin.
	RuleDelegated = "delegated"
	// RuleValidity: the delegation must be valid at the TIMESTAMP.
	RuleValidity = "validity"
	// RuleRevoked: a key revoked before the snapshot entered the log, or
	// as of a time at or before its TIMESTAMP, does not count.
	RuleRevoked = "revoked"
	// RuleInForce: a root governs its scope from its first logged version
	// on; a snapshot logged before the pinned version cannot be judged.
	RuleInForce = "in-force"
)

// A RuleError is a refusal that names the rule that failed.
type RuleError struct {
	Rule string
	Msg  string
}

func (e *RuleError) Error() string { return fmt.Sprintf("rule %s: %s", e.Rule, e.Msg) }

func rulef(rule, format string, args ...any) *RuleError {
	return &RuleError{Rule: rule, Msg: fmt.Sprintf(format, args...)}
}

// RuleOf returns the rule an error names, or "".
func RuleOf(err error) string {
	var re *RuleError
	if errors.As(err, &re) {
		return re.Rule
	}
	if errors.Is(err, ErrMalformed) {
		return "grammar"
	}
	return ""
}
