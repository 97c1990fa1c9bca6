package policy

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"treelog/internal/untrusted"
	"treelog/note"
)

// Limits on a policy's size. The spec recommends supporting at least 32 of
// each; these leave room while bounding evaluation work.
const (
	MaxLogs      = 64
	MaxWitnesses = 256
	MaxGroups    = 256
)

// A Policy is a parsed c2sp.org/tlog-policy file.
type Policy struct {
	// Logs are the accepted logs, in file order.
	Logs []*Log
	// Witnesses are the known witnesses, in file order.
	Witnesses []*Witness
	// Groups are the witness groups, in file order.
	Groups []*Group
	// Quorum is the witness or group whose approval a checkpoint needs, or
	// "none" when no cosignature is needed.
	Quorum string

	byName map[string]any // *Witness or *Group
}

// A Log is a log line: its key (whose name is the log's origin) and URL.
type Log struct {
	Key      note.VerifierKey
	URL      string
	verifier note.Verifier
}

// Origin returns the log's origin, its key name.
func (l *Log) Origin() string { return l.Key.Name }

// Verifier returns the verifier of the log's checkpoint signatures.
func (l *Log) Verifier() note.Verifier { return l.verifier }

// A Witness is a witness line.
type Witness struct {
	Name     string
	Key      note.VerifierKey
	URL      string
	verifier *note.CosignatureVerifier
}

// A Group is a group line: satisfied when at least K of its members are.
type Group struct {
	Name    string
	K       int
	Members []string
}

// Parse parses a tlog-policy file, enforcing the spec's rules: the octet
// set, definition before use, no duplicate keys or names, each name a group
// member at most once, thresholds within 1..n, exactly one quorum line.
func Parse(data []byte) (*Policy, error) {
	lines, err := SplitLines(data, "policy")
	if err != nil {
		return nil, err
	}
	p := &Policy{byName: map[string]any{}}
	logKeys := map[string]int{}
	witnessKeys := map[string]int{}
	memberOf := map[string]string{}
	quorumLine := 0
	for _, l := range lines {
		f := l.Fields
		errf := func(format string, args ...any) error {
			return fmt.Errorf("policy: line %d: %s", l.No, fmt.Sprintf(format, args...))
		}
		switch f[0] {
		case "log":
			lk, err := parseLogLine(f)
			if err != nil {
				return nil, errf("%v", err)
			}
			k := lk.Key
			if prev, dup := logKeys[string(k.Public)]; dup {
				return nil, errf("duplicate log: same public key as line %d", prev)
			}
			if len(p.Logs) == MaxLogs {
				return nil, errf("more than %d logs", MaxLogs)
			}
			logKeys[string(k.Public)] = l.No
			v, _ := note.NewVerifier(f[1])
			lg := &Log{Key: k, URL: lk.URL, verifier: v}
			p.Logs = append(p.Logs, lg)
		case "witness":
			if len(f) < 3 || len(f) > 4 {
				return nil, errf("want \"witness <name> <vkey> [<url>]\"")
			}
			name := f[1]
			if err := p.checkNewName(name); err != nil {
				return nil, errf("%v", err)
			}
			k, err := parseKey(f[2], note.TypeCosignatureV1, "witness")
			if err != nil {
				return nil, errf("%v", err)
			}
			if prev, dup := witnessKeys[string(k.Public)]; dup {
				return nil, errf("duplicate witness: same public key as line %d", prev)
			}
			if len(p.Witnesses) == MaxWitnesses {
				return nil, errf("more than %d witnesses", MaxWitnesses)
			}
			witnessKeys[string(k.Public)] = l.No
			cv, err := note.NewCosignatureVerifier(f[2])
			if err != nil {
				return nil, errf("%v", err)
			}
			w := &Witness{Name: name, Key: k, verifier: cv}
			if len(f) == 4 {
				if err := CheckURL(f[3]); err != nil {
					return nil, errf("witness %q: %v", name, err)
				}
				w.URL = f[3]
			}
			p.Witnesses = append(p.Witnesses, w)
			p.byName[name] = w
		case "group":
			if len(f) < 4 {
				return nil, errf("want \"group <name> <all|any|k> <name>...\" with at least one member")
			}
			name, members := f[1], f[3:]
			if err := p.checkNewName(name); err != nil {
				return nil, errf("%v", err)
			}
			if len(p.Groups) == MaxGroups {
				return nil, errf("more than %d groups", MaxGroups)
			}
			g := &Group{Name: name, Members: members}
			switch f[2] {
			case "all":
				g.K = len(members)
			case "any":
				g.K = 1
			default:
				k, err := strconv.Atoi(f[2])
				if err != nil || strings.TrimLeft(f[2], "0123456789") != "" {
					return nil, errf("threshold %q is not all, any or a decimal number", f[2])
				}
				if k < 1 || k > len(members) {
					return nil, errf("threshold %d is outside 1..%d (the number of members)", k, len(members))
				}
				g.K = k
			}
			for _, m := range members {
				if m == "none" {
					return nil, errf("\"none\" cannot be a group member")
				}
				if _, ok := p.byName[m]; !ok {
					return nil, errf("member %q is not a witness or group defined on an earlier line", m)
				}
				if other, ok := memberOf[m]; ok {
					return nil, errf("%q is already a member of group %q; a name can be a member only once", m, other)
				}
				memberOf[m] = name
			}
			p.Groups = append(p.Groups, g)
			p.byName[name] = g
		case "quorum":
			if len(f) != 2 {
				return nil, errf("want \"quorum <name>\"")
			}
			if quorumLine != 0 {
				return nil, errf("second quorum line (first on line %d)", quorumLine)
			}
			if f[1] != "none" {
				if _, ok := p.byName[f[1]]; !ok {
					return nil, errf("quorum %q is not a witness or group defined on an earlier line", f[1])
				}
			}
			quorumLine = l.No
			p.Quorum = f[1]
		default:
			return nil, errf("unknown keyword %q (want log, witness, group or quorum)", untrusted.Short(f[0], 40))
		}
	}
	if quorumLine == 0 {
		return nil, fmt.Errorf("policy: no quorum line")
	}
	return p, nil
}

func (p *Policy) checkNewName(name string) error {
	if name == "none" {
		return fmt.Errorf("the name \"none\" is predefined")
	}
	if _, dup := p.byName[name]; dup {
		return fmt.Errorf("name %q is already defined", untrusted.Short(name, 40))
	}
	return nil
}

// parseLogLine parses "log <vkey> [<url>]", a line of a policy and of a
// witness's log list.
func parseLogLine(f []string) (LogKey, error) {
	if len(f) < 2 || len(f) > 3 {
		return LogKey{}, errors.New("want \"log <vkey> [<url>]\"")
	}
	k, err := parseKey(f[1], note.TypeEd25519, "log")
	if err != nil {
		return LogKey{}, err
	}
	lk := LogKey{Key: k}
	if len(f) == 3 {
		if err := CheckURL(f[2]); err != nil {
			return LogKey{}, fmt.Errorf("log %q: %w", k.Name, err)
		}
		lk.URL = f[2]
	}
	return lk, nil
}

// CheckURL checks that u is an absolute http or https URL with a host:
// "127.0.0.1:7370" without a scheme is a configuration mistake to name,
// not a log that is down.
func CheckURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" && p.Scheme != "https" || p.Host == "" {
		return fmt.Errorf("URL %q is not an http:// or https:// URL with a host", untrusted.Short(u, 80))
	}
	return nil
}

func parseKey(vkey string, typ byte, role string) (note.VerifierKey, error) {
	k, err := note.ParseVerifierKey(vkey)
	if err != nil {
		return k, err
	}
	if k.Type != typ {
		want := "Ed25519 (0x01)"
		if typ == note.TypeCosignatureV1 {
			want = "cosignature/v1 (0x04)"
		}
		return k, fmt.Errorf("%s key %q has signature type 0x%02x, want %s", role, k.Name, k.Type, want)
	}
	return k, nil
}

// Log returns the policy's log for an origin, or nil.
func (p *Policy) Log(origin string) *Log {
	for _, l := range p.Logs {
		if l.Origin() == origin {
			return l
		}
	}
	return nil
}

// Witness returns the named witness, or nil.
func (p *Policy) Witness(name string) *Witness {
	w, _ := p.byName[name].(*Witness)
	return w
}

// QuorumMet reports whether the witnesses named in ok (by policy name)
// satisfy the quorum.
func (p *Policy) QuorumMet(ok map[string]bool) bool {
	if p.Quorum == "none" {
		return true
	}
	// Groups only reference earlier names, so one pass in file order
	// settles every group.
	sat := map[string]bool{}
	for _, w := range p.Witnesses {
		sat[w.Name] = ok[w.Name]
	}
	for _, g := range p.Groups {
		n := 0
		for _, m := range g.Members {
			if sat[m] {
				n++
			}
		}
		sat[g.Name] = n >= g.K
	}
	return sat[p.Quorum]
}

// DescribeQuorum describes the quorum rule in words, e.g. "2 of w1, w2, w3".
func (p *Policy) DescribeQuorum() string {
	if p.Quorum == "none" {
		return "none"
	}
	var desc func(name string) string
	desc = func(name string) string {
		g, ok := p.byName[name].(*Group)
		if !ok {
			return name
		}
		parts := make([]string, len(g.Members))
		for i, m := range g.Members {
			parts[i] = desc(m)
		}
		return fmt.Sprintf("%d of (%s)", g.K, strings.Join(parts, ", "))
	}
	return desc(p.Quorum)
}
