package note

import (
	"bytes"
	"encoding/base64"
	"strings"

	"treelog/internal/untrusted"
)

// diagnose says which of x/mod's syntax rules msg breaks, naming the line,
// or returns nil if it breaks none. It never decides a verdict: Open calls
// it only after x/mod rejected a note, for the message. FuzzDiagnose holds
// it to x/mod's verdict.
func diagnose(msg []byte) error {
	if err := checkChars(msg); err != nil {
		return err
	}
	split := bytes.LastIndex(msg, []byte("\n\n"))
	if split < 0 {
		return untrusted.Malformed(ErrMalformed, "no blank line separates the text from the signatures")
	}
	text, sigs := msg[:split+1], msg[split+2:]
	lineNo := bytes.Count(text, []byte("\n")) + 2
	if len(sigs) == 0 {
		return untrusted.Malformed(ErrMalformed, "no signature lines after the blank line (line %d)", lineNo-1)
	}
	if sigs[len(sigs)-1] != '\n' {
		return untrusted.Malformed(ErrMalformed, "last signature line does not end in a newline")
	}
	count := 0
	for _, line := range strings.Split(string(sigs[:len(sigs)-1]), "\n") {
		rest, ok := strings.CutPrefix(line, "— ")
		if !ok {
			return untrusted.Malformed(ErrMalformed, "line %d: signature line does not start with \"— \"", lineNo)
		}
		name, b64, _ := strings.Cut(rest, " ")
		if err := checkName(name); err != nil {
			return untrusted.Malformed(ErrMalformed, "line %d: %v", lineNo, err)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		switch {
		case b64 == "":
			return untrusted.Malformed(ErrMalformed, "line %d: signature by %q is empty", lineNo, name)
		case err != nil:
			return untrusted.Malformed(ErrMalformed, "line %d: signature by %q is not base64", lineNo, name)
		case len(raw) < 5:
			return untrusted.Malformed(ErrMalformed, "line %d: signature by %q is %d bytes, too short for a key ID and a signature", lineNo, name, len(raw))
		}
		if count++; count > MaxSignatures {
			return untrusted.Malformed(ErrMalformed, "line %d: more than %d signature lines", lineNo, MaxSignatures)
		}
		lineNo++
	}
	return nil
}
