package policy

import "treelog/note"

// ParseKey parses a vkey that must have signature type typ; role names the
// key in errors ("publisher", "root"). Other packages' files (the
// publishers file, trust roots) read keys with it, by one rule.
func ParseKey(vkey string, typ byte, role string) (note.VerifierKey, error) {
	return parseKey(vkey, typ, role)
}
