package signd

import (
	"fmt"
	"os/user"
	"strconv"
)

// A Peer is the process at the other end of a Unix socket, as the kernel
// reports it (SO_PEERCRED): it cannot lie about it.
type Peer struct {
	UID, GID, PID uint32
}

func (p Peer) String() string { return fmt.Sprintf("uid %d gid %d pid %d", p.UID, p.GID, p.PID) }

// Access says which peers may use a socket: by user, or by group (a
// peer's primary group, or any group its user is a member of). Socket
// file permissions come first; this holds even for root, whom file
// permissions do not stop.
type Access struct {
	UIDs map[uint32]bool
	GIDs map[uint32]bool
}

// NewAccess resolves user and group names (or numbers).
func NewAccess(users, groups []string) (Access, error) {
	a := Access{UIDs: map[uint32]bool{}, GIDs: map[uint32]bool{}}
	for _, u := range users {
		id, err := lookupID(u, func(s string) (string, error) {
			x, err := user.Lookup(s)
			if err != nil {
				return "", err
			}
			return x.Uid, nil
		})
		if err != nil {
			return Access{}, fmt.Errorf("user %q: %w", u, err)
		}
		a.UIDs[id] = true
	}
	for _, g := range groups {
		id, err := lookupID(g, func(s string) (string, error) {
			x, err := user.LookupGroup(s)
			if err != nil {
				return "", err
			}
			return x.Gid, nil
		})
		if err != nil {
			return Access{}, fmt.Errorf("group %q: %w", g, err)
		}
		a.GIDs[id] = true
	}
	return a, nil
}

func lookupID(s string, byName func(string) (string, error)) (uint32, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n), nil
	}
	id, err := byName(s)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(id, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("id %q is not a number", id)
	}
	return uint32(n), nil
}

// Allows reports whether p may use the socket.
func (a Access) Allows(p Peer) bool {
	if a.UIDs[p.UID] || a.GIDs[p.GID] {
		return true
	}
	if len(a.GIDs) == 0 {
		return false
	}
	u, err := user.LookupId(strconv.FormatUint(uint64(p.UID), 10))
	if err != nil {
		return false
	}
	gids, err := u.GroupIds()
	if err != nil {
		return false
	}
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil && a.GIDs[uint32(n)] {
			return true
		}
	}
	return false
}
