package signd

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"treelog/internal/passphrase"
)

// The admin protocol, on its own socket (docs/formats.md): one request a
// connection, "treelog-signd-admin/v1 <command>\n", for unlock followed by
// one line per passphrase, base64; the answer is framed as a signing
// answer ("ok\n" and a body, or "error <code> <message>\n").
const (
	AdminHeader = "treelog-signd-admin/v1"
	// MaxAdminRequest bounds an admin request.
	MaxAdminRequest = 16 << 10
	// MaxPassphrases bounds the passphrases of one unlock.
	MaxPassphrases = 8
)

// Admin commands.
const (
	CmdStatus = "status"
	CmdLock   = "lock"
	CmdUnlock = "unlock"
)

// MarshalAdminRequest returns an admin request.
func MarshalAdminRequest(cmd string, passphrases []string) []byte {
	b := []byte(AdminHeader + " " + cmd + "\n")
	for _, p := range passphrases {
		b = append(b, base64.StdEncoding.EncodeToString([]byte(p))+"\n"...)
	}
	return b
}

// ParseAdminRequest parses an admin request.
func ParseAdminRequest(b []byte) (cmd string, passphrases []string, err error) {
	if len(b) > MaxAdminRequest {
		return "", nil, fmt.Errorf("admin request is over %d bytes", MaxAdminRequest)
	}
	if !bytes.HasSuffix(b, []byte("\n")) {
		return "", nil, fmt.Errorf("admin request does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	cmd, ok := strings.CutPrefix(lines[0], AdminHeader+" ")
	if !ok {
		return "", nil, fmt.Errorf("admin request does not start with %q", AdminHeader)
	}
	switch cmd {
	case CmdStatus, CmdLock:
		if len(lines) != 1 {
			return "", nil, fmt.Errorf("%s takes no more lines", cmd)
		}
		return cmd, nil, nil
	case CmdUnlock:
	default:
		return "", nil, fmt.Errorf("unknown admin command %.40q (want status, lock or unlock)", cmd)
	}
	if len(lines) < 2 || len(lines) > 1+MaxPassphrases {
		return "", nil, fmt.Errorf("unlock takes 1 to %d passphrases", MaxPassphrases)
	}
	for i, l := range lines[1:] {
		p, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(p) == 0 || len(p) > passphrase.MaxLen {
			return "", nil, fmt.Errorf("passphrase %d is not base64 of 1 to %d bytes", i+1, passphrase.MaxLen)
		}
		passphrases = append(passphrases, string(p))
	}
	return cmd, passphrases, nil
}

// Text describes the status in lines:
//
//	locked since <time> (<reason>)   or   unlocked until <time>
//	key <name> <vkey> <file>
//	origin <origin> <dir> keys <name>,... verify-tree <yes|no> last <TIMESTAMP|never>
func (s Status) Text() string {
	var b strings.Builder
	if s.Locked {
		fmt.Fprintf(&b, "locked since %s (%s)\n", s.LockedSince.Format(time.RFC3339), s.LockReason)
	} else {
		fmt.Fprintf(&b, "unlocked until %s\n", s.Until.Format(time.RFC3339))
	}
	for _, k := range s.Keys {
		fmt.Fprintf(&b, "key %s %s %s\n", k.Name, k.VKey, k.File)
	}
	for _, o := range s.Origins {
		last, verify := "never", "yes"
		if !o.Last.IsZero() {
			last = o.Last.Format(time.RFC3339)
		}
		if !o.VerifyTree {
			verify = "no"
		}
		fmt.Fprintf(&b, "origin %s %s keys %s verify-tree %s last %s\n", o.Origin, o.Dir, strings.Join(o.Keys, ","), verify, last)
	}
	return b.String()
}
