package trust

import (
	"fmt"
	"slices"

	"treelog/note"
)

// Changes describes, line by line, what next changes from prev (nil: next
// is the first version): root keys and threshold, scope, delegations,
// revocations. The auditor alerts with it; `treelog root show` prints it.
func Changes(prev, next *Root) []string {
	var out []string
	if prev == nil {
		out = append(out, fmt.Sprintf("new trust root %s: %d of %d root keys (%s)", next.Name, next.Threshold, len(next.Keys), keyList(next.Keys)))
		prev = &Root{}
		for _, s := range next.Scope {
			out = append(out, "scope "+string(s))
		}
	} else {
		added := keysNotIn(next.Keys, prev.Keys)
		removed := keysNotIn(prev.Keys, next.Keys)
		if len(added)+len(removed) > 0 || prev.Threshold != next.Threshold {
			out = append(out, fmt.Sprintf("root keys rotated: %d of %d -> %d of %d; added %s; removed %s",
				prev.Threshold, len(prev.Keys), next.Threshold, len(next.Keys), orNone(keyList(added)), orNone(keyList(removed))))
		}
		for _, s := range next.Scope {
			if !slices.Contains(prev.Scope, s) {
				out = append(out, "scope added "+string(s))
			}
		}
		for _, s := range prev.Scope {
			if !slices.Contains(next.Scope, s) {
				out = append(out, "scope removed "+string(s))
			}
		}
	}
	for _, d := range next.Delegations {
		if !slices.ContainsFunc(prev.Delegations, d.equal) {
			out = append(out, "delegated "+d.describe())
		}
	}
	for _, d := range prev.Delegations {
		if !slices.ContainsFunc(next.Delegations, d.equal) {
			out = append(out, "delegation removed: "+d.describe())
		}
	}
	for _, v := range next.Revocations {
		if old, ok := prev.Revoked(v.Key); !ok || !old.Time.Equal(v.Time) {
			out = append(out, fmt.Sprintf("revoked %s as of %s", keyName(v.Key), formatTime(v.Time)))
		}
	}
	if len(out) == 0 {
		out = append(out, "no change but the version")
	}
	return out
}

func (d Delegation) equal(o Delegation) bool {
	return d.Pattern == o.Pattern && sameKey(d.Key, o.Key) && d.NotBefore.Equal(o.NotBefore) && d.Expires.Equal(o.Expires)
}

func (d Delegation) describe() string {
	return fmt.Sprintf("%s to %s from %s until %s", d.Pattern, keyName(d.Key), formatTime(d.NotBefore), formatTime(d.Expires))
}

func keyName(k note.VerifierKey) string { return fmt.Sprintf("%s+%08x", k.Name, k.ID) }

func keyList(ks []note.VerifierKey) string {
	s := ""
	for i, k := range ks {
		if i > 0 {
			s += ", "
		}
		s += keyName(k)
	}
	return s
}

func keysNotIn(a, b []note.VerifierKey) []note.VerifierKey {
	var out []note.VerifierKey
	for _, k := range a {
		if !slices.ContainsFunc(b, func(x note.VerifierKey) bool { return sameKey(x, k) }) {
			out = append(out, k)
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
